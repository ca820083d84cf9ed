"""The pages for people (/codes/<code>, /search, /), through the whole WSGI stack with Flask's test client,
read with lxml.html. What a page shows is checked against the $lookup answer FHIR clients get."""

from __future__ import annotations

import gzip
import random
import re
from urllib.parse import urlsplit

import lxml.html
import pytest
from helpers import ICD10CM, assert_fhir_response, properties

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
LOOKUP = f"/fhir/CodeSystem/$lookup?system={ICD10CM}&code="


def page(client, url: str, status: int = 200, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    assert response.headers["Content-Type"].startswith("text/html"), response.headers["Content-Type"]
    document = lxml.html.fromstring(response.get_data(as_text=True))
    ids = document.xpath("//@id")
    assert len(ids) == len(set(ids)), "an id is repeated"
    return document


def text(element) -> str:
    return " ".join(element.text_content().split())


def section(document, section_id: str) -> str:
    found = document.get_element_by_id(section_id, None)
    assert found is not None, f"no section #{section_id}"
    return text(found)


def facts(document) -> dict[str, str]:
    """The page's facts list: {term: definition}."""
    terms = document.xpath("//dl[@class='facts']/dt")
    return {text(term): text(term.getnext()) for term in terms}


def lookup(client, code: str) -> dict:
    return assert_fhir_response(client.get(LOOKUP + code), 200, "Parameters")


def code_links(document) -> list[str]:
    return [
        urlsplit(href).path.removeprefix("/codes/")
        for href in document.xpath(".//a/@href")
        if href.startswith("/codes/")
    ]


# ------------------------------------------------------------------------------------------ code page


def test_the_code_page_shows_every_section_of_the_lookup(client):
    document = page(client, "/codes/M54.9")
    answer = lookup(client, "M54.9")
    assert text(document.find(".//h1")) == "M54.9 Dorsalgia, unspecified"
    assert facts(document) == {
        "Status": "Billable: valid on a claim",
        "Chapter": "13: Diseases of the musculoskeletal system and connective tissue (M00-M99)",
        "Block": "Other dorsopathies (M50-M54), within Dorsopathies (M40-M54)",
        "Region": "Spine",
        "Related procedure codes": "none listed",
        "Release": "ICD-10-CM 2026-04",
        "For software": "This answer as FHIR JSON",
    }
    sections = {
        "documentation": "documentation",
        "pitfalls": "pitfall",
        "clinical-context": "clinicalContext",
        "rules": "rule",
        "siblings": "sibling",
        "more-specific": "moreSpecific",
        "faq": "faq",
        "scribe": "scribe",
        "sources": "source",
    }
    for section_id, prop in sections.items():
        shown = section(document, section_id)
        entries = properties(answer, prop)
        assert entries, prop
        for entry in entries:  # every entry of the answer is on the page, in full
            assert " ".join(str(entry["value"]).split()) in shown, (prop, entry["value"])
    notes = section(document, "notes")
    for prop in ("excludes1", "excludes2", "inclusionTerm"):
        for entry in properties(answer, prop):
            assert entry["value"] in notes, (prop, entry["value"])
    verified = properties(answer, "verified")[0]["value"]
    assert f"last verified {verified}" in section(document, "sources")
    assert "Dorsalgia" in text(document.find_class("crumbs")[0])


@pytest.mark.parametrize(
    ("code", "words"), [("D63.0", "Never principal or first-listed"), ("Z51.11", "Only as the principal")]
)
def test_the_code_page_says_where_the_code_may_stand_on_a_claim(client, code, words):
    document = page(client, f"/codes/{code}")
    [shown] = document.xpath("//*[@id='first-listed']")
    assert words in text(shown) and "Official Guidelines" in text(shown)
    assert not page(client, "/codes/M54.9").xpath("//*[@id='first-listed']")  # either place: nothing to say


def test_the_verified_line_names_the_release_and_guidelines(client):
    shown = section(page(client, "/codes/M54.9"), "sources")
    assert re.search(r"last verified \d{4}-\d{2}-\d{2}, against ICD-10-CM 2026-04 and the FY2026 Official", shown)


def test_every_code_a_page_mentions_is_a_link_to_its_page(client):
    document = page(client, "/codes/M54.9")
    linked = set(code_links(document))
    assert {"M54", "F45.41", "G89.29", "M54.50", "M54.2", "M54.6"} <= linked
    for code in sorted(linked):
        assert client.get(f"/codes/{code}").status_code == 200, code
    mentioned = set(re.findall(r"\b[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}\b", section(document, "pitfalls")))
    assert "M54.9" in mentioned and mentioned - {"M54.9"} <= linked
    assert "M54.9" not in linked  # the page does not link to itself


def test_the_fhir_json_link_gives_the_same_answer(client):
    document = page(client, "/codes/M54.9")
    [href] = document.xpath("//a[text()='This answer as FHIR JSON']/@href")
    body = assert_fhir_response(client.get(href, headers={"Accept": BROWSER_ACCEPT}), 200, "Parameters")
    assert body == lookup(client, "M54.9")


def test_related_procedure_codes_are_codes_only(client):
    document = page(client, "/codes/M54.81")
    answer = lookup(client, "M54.81")
    codes = [e["value"] for e in properties(answer, "procedure")]
    assert codes
    shown = [text(li) for li in document.get_element_by_id("procedures").iter("li")]
    assert shown == codes
    assert facts(document)["Related procedure codes"] == str(len(codes))


def test_a_header_code_shows_its_children_and_is_not_billable(client):
    document = page(client, "/codes/M54")
    assert facts(document)["Status"].startswith("Header: not billable")
    children = [e["value"] for e in properties(lookup(client, "M54"), "child")]
    assert [code for code in code_links(document.get_element_by_id("children"))] == children
    assert "M54.9" in children


def test_a_seventh_character_code_names_its_character_and_its_place(client):
    document = page(client, "/codes/S32.009A")
    shown = facts(document)
    assert shown["7th character"] == "A: initial encounter for closed fracture"
    assert shown["Status"].startswith("Billable")
    crumbs = code_links(document.find_class("crumbs")[0])
    assert crumbs == ["S32", "S32.0", "S32.00", "S32.009"]
    assert "No editorial guidance is written for S32.009A" in text(document)
    header = page(client, "/codes/S32.009")
    assert "add a 7th character" in facts(header)["Status"]
    assert [c[-1] for c in code_links(header.get_element_by_id("children"))] == list("ABDGKS")


def test_pages_for_every_code_with_guidance_and_a_sample_of_the_rest(client, engine):
    release = engine.releases.default
    guided = sorted(release.guidance_records())
    assert len(guided) > 40
    for code in guided:
        document = page(client, f"/codes/{code}")
        assert re.search(r"last verified \d{4}-\d{2}-\d{2}", section(document, "sources")), code
        assert "documentation" in document.xpath("//section/@id"), code
    codes = [row[0] for row in release.select("1", ())[1]]
    for code in random.Random(8).sample(codes, 300):
        page(client, f"/codes/{code}")


def test_a_code_written_loosely_is_redirected_to_its_address(client):
    response = client.get("/codes/m549")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/codes/M54.9")


def test_a_redirect_at_a_fhir_url_is_one_no_shared_cache_keeps(client):
    """The browser's redirect must never reach a FHIR client through a cache: the same URL gives FHIR."""
    url = "/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=m549"
    response = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 302 and response.headers["Location"].endswith("/codes/M54.9")
    assert response.headers["Cache-Control"] == "no-store" and "Accept" in response.headers["Vary"].split(", ")
    page = client.get(url.replace("m549", "M54.9"), headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and page.headers["Vary"] == "Accept, Accept-Language"
    fhir = client.get(url)
    assert fhir.status_code == 200 and fhir.headers["Content-Type"].startswith("application/fhir+json")


@pytest.mark.parametrize(
    "code, status, expected",
    [
        ("M54.9" + "9" * 3000, 404, ["M54.9"]),  # long input costs no more than a code
        ("M54.99", 404, ["M54.9", "M54.5"]),  # nearest code and those beside it
        ("T45.01A", 404, ["T45.0X1A"]),  # the missing placeholder X
        ("QQQ", 404, []),
    ],
)
def test_an_unknown_code_gets_a_404_page_with_suggestions(client, code, status, expected):
    document = page(client, f"/codes/{code}", status)
    assert "is not an ICD-10-CM code" in text(document.find(".//h1"))
    suggested = code_links(document.get_element_by_id("suggestions")) if expected else []
    assert suggested[: len(expected)] == expected or set(expected) <= set(suggested)


def test_an_unknown_release_gets_a_404_page(client):
    document = page(client, "/codes/M54.9?version=1999", 404)
    assert "Release 1999 is not loaded" in text(document.find(".//h1"))


def test_text_is_escaped(client):
    document = page(client, "/search?q=<script>alert(1)</script>")
    assert not document.xpath("//script")
    assert "<script>alert(1)</script>" in text(document.find(".//h1"))


# ------------------------------------------------------------------------------------------ search


def test_search_lists_codes_as_links_like_expand(client):
    document = page(client, "/search?q=low+back+pain")
    expansion = assert_fhir_response(
        client.get(f"/fhir/ValueSet/$expand?url={ICD10CM}?fhir_vs&filter=low back pain&count=50"), 200, "ValueSet"
    )
    expected = [c["code"] for c in expansion["expansion"]["contains"]]
    assert code_links(document.find_class("results")[0]) == expected
    assert "M54.50" in expected
    assert text(document.get_element_by_id("count")).startswith(f"{expansion['expansion']['total']} codes found")


def test_search_pages_through_many_results(client):
    first = page(client, "/search?q=fracture")
    second_href = first.xpath("//a[@rel='next']/@href")[0]
    second = page(client, second_href)
    assert "Page 2 of" in text(second.find_class("pager")[0]) and second.xpath("//a[@rel='prev']")
    assert not set(code_links(first.find_class("results")[0])) & set(code_links(second.find_class("results")[0]))
    assert second.find_class("results")[0].get("start") == "51"


@pytest.mark.parametrize("query", ["", "zzzqqxx", "(((", "a" * 5000, "M54", "page=-1"])
def test_search_never_fails(client, query):
    document = page(client, "/search", query_string={"q": query, "page": "-1"})
    assert document.find(".//h1") is not None


def test_the_home_page_explains_and_searches(client):
    document = page(client, "/")
    form = document.xpath("//form[@role='search']")[0]
    assert form.get("action") == "/search" and form.xpath(".//label[@for='q']")
    assert "/fhir/metadata" in document.xpath(".//a/@href")


# ------------------------------------------------------------------------------------ FHIR URLs


def test_a_browser_on_a_fhir_url_gets_the_page(client):
    url = LOOKUP + "M54.9"
    response = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Accept" in response.headers["Vary"]
    assert response.get_data() == client.get("/codes/M54.9").get_data()
    validate = client.get(
        f"/fhir/CodeSystem/$validate-code?system={ICD10CM}&code=S32.009A", headers={"Accept": BROWSER_ACCEPT}
    )
    assert "S32.009A" in text(lxml.html.fromstring(validate.get_data(as_text=True)).find(".//h1"))
    search = client.get(
        f"/fhir/ValueSet/$expand?url={ICD10CM}?fhir_vs&filter=low back pain", headers={"Accept": BROWSER_ACCEPT}
    )
    assert search.get_data() == client.get("/search?q=low+back+pain").get_data()


@pytest.mark.parametrize(
    "headers, query",
    [
        ({"Accept": "application/fhir+json"}, ""),
        ({"Accept": "*/*"}, ""),
        ({}, ""),
        ({"Accept": BROWSER_ACCEPT}, "&_format=json"),
        ({"Accept": "text/html;q=0.5, application/json"}, ""),
    ],
)
def test_fhir_clients_still_get_fhir(client, headers, query):
    assert_fhir_response(client.get(LOOKUP + "M54.9" + query, headers=headers), 200, "Parameters")


def test_pages_are_kept_and_cached_like_answers(app):
    client = app.test_client()
    url = "/codes/S32.009A?test=kept"  # an address no other test asks for
    kept_before = app.wsgi_app.cache.size
    first = client.get(url)
    assert app.wsgi_app.cache.size > kept_before  # kept by the answer cache
    again = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert again.get_data() == first.get_data() and again.headers["Content-Type"] == first.headers["Content-Type"]
    assert first.headers["Content-Type"] == "text/html; charset=utf-8"
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
    assert first.headers["Cache-Control"].startswith("public")
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    kept = app.wsgi_app.cache.size
    client.get("/codes/M54.99")
    assert app.wsgi_app.cache.size == kept  # a 404 page is not kept


# ----------------------------------------------------------------------------------- blocks, security


def test_a_block_page_lists_its_categories_and_its_place(client):
    document = page(client, "/blocks/M50-M54")
    assert text(document.find(".//h1")) == "M50-M54 Other dorsopathies"
    assert code_links(document) == ["M50", "M51", "M53", "M54"]
    crumbs = text(document.find(".//nav[@aria-label='Breadcrumb']"))
    assert "Chapter 13: Diseases of the musculoskeletal system" in crumbs and "Dorsopathies (M40-M54)" in crumbs
    outer = page(client, "/blocks/M40-M54")
    assert "/blocks/M50-M54" in outer.xpath(".//a/@href")  # the blocks within it
    assert client.get("/blocks/M50-M55").status_code == 404


def test_a_range_in_text_is_one_link_to_its_block_and_a_code_the_code_page():
    from service.web.view import link_codes

    blocks = {"M50-M54", "T36-T50"}
    html = str(
        link_codes(
            "Excludes1: disorders (M50-M54), S00-T88 and M54.5",
            lambda code: True,
            lambda code: f"/codes/{code}",
            lambda block: f"/blocks/{block}" if block in blocks else None,
        )
    )
    assert html == (
        'Excludes1: disorders (<a href="/blocks/M50-M54">M50-M54</a>), S00-T88 and <a href="/codes/M54.5">M54.5</a>'
    )


def test_the_code_page_links_its_blocks(client):
    document = page(client, "/codes/M54.9")
    assert {"/blocks/M50-M54", "/blocks/M40-M54"} <= set(document.xpath(".//a/@href"))


@pytest.mark.parametrize(
    "path", ["/", "/codes/M54.9", "/codes/M54.99", "/search?q=sciatica", "/blocks/M50-M54", "/blocks/nope"]
)
def test_pages_carry_the_security_headers_and_a_policy_that_fits_them(client, path):
    import base64
    import hashlib

    client.get(path)
    response = client.get(path)  # the second from the answer cache, for the pages it keeps
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "script-src" not in policy  # no script at all
    document = lxml.html.fromstring(response.get_data(as_text=True))
    [style] = document.xpath("//style/text()")  # the one inline style sheet is the one the policy allows
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"
    assert document.xpath("//link[@rel='icon']/@href") == ["/favicon.svg"]


def test_the_icon_is_served(client):
    for path in ("/favicon.svg", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/svg+xml"
        assert response.get_data().startswith(b"<svg")
