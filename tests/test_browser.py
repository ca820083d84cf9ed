"""The pages in a real headless Chromium (Debian's ``chromium`` package, driven by Playwright) against the
real server: what a person sees and does, screenshots in tests/artifacts/, and axe-core's accessibility
check in the page."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from conftest import PROJECT_ROOT, start_server, stop_server

playwright_api = pytest.importorskip("playwright.sync_api")
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.live
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
# Quiet and self-contained: no sandbox (containers), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed (apt-get install chromium); .ci/run installs it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def site(live_server) -> str:
    return live_server.removesuffix("/fhir")


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessibility_problems(page, name: str) -> list[str]:
    """axe-core's violations on the page, of any impact (kept as an artifact too)."""
    report = Axe().run(page).response
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(report["violations"], indent=1))
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in report["violations"]
    ]


def test_the_code_page_shows_each_section(page, site):
    page.goto(f"{site}/codes/M54.9")
    assert page.title().startswith("M54.9 Dorsalgia, unspecified")
    expect = playwright_api.expect
    expect(page.locator("h1")).to_have_text("M54.9 Dorsalgia, unspecified")
    for term, value in (("Status", "Billable"), ("Chapter", "13"), ("Block", "M50-M54"), ("Region", "Spine")):
        expect(page.locator(f"dt:text-is('{term}') + dd")).to_contain_text(value)
    for heading in (
        "Documentation tips",
        "Coding pitfalls",
        "Clinical context",
        "Coding rules for this code",
        "Tabular notes",
        "More specific codes",
        "Sibling codes",
        "Frequently asked questions",
        "What the note should capture",
        "Sources",
    ):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("#verified")).to_contain_text(re.compile(r"last verified \d{4}-\d{2}-\d{2}"))
    expect(page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="M54 Dorsalgia")).to_be_visible()
    # A question opens in place (HTML details, no script).
    question = page.locator("#faq details").first
    answer = question.locator("p")
    expect(answer).to_be_hidden()
    question.locator("summary").click()
    expect(answer).to_be_visible()
    # The page's contents list jumps to a section.
    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Coding pitfalls").click()
    assert page.url.endswith("#pitfalls")
    screenshot(page, "code-M54.9")
    # A code the guidance mentions is a link to its page.
    page.locator("#pitfalls a", has_text="F45.41").first.click()
    expect(page.locator("h1")).to_contain_text("F45.41")


def test_search_from_the_keyboard_and_follow_a_result(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    search_box = page.get_by_label("Search codes")
    search_box.focus()
    page.keyboard.type("low back pain")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=low\+back\+pain"))
    results = page.locator("ol.results a")
    assert results.count() >= 4
    assert "M54.50 Low back pain, unspecified" in results.all_inner_texts()
    screenshot(page, "search-low-back-pain")
    for _ in range(10):  # Tab from the search box to the first result
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('ol.results') !== null"):
            break
    first = page.evaluate("document.activeElement.getAttribute('href')")
    assert first and first.startswith("/codes/")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}{first}")
    playwright_api.expect(page.locator("h1")).to_contain_text(first.removeprefix("/codes/"))


def test_a_header_code(page, site):
    page.goto(f"{site}/codes/M54")
    expect = playwright_api.expect
    expect(page.locator("dt:text-is('Status') + dd")).to_contain_text("Header: not billable")
    children = page.locator("#children a")
    assert children.count() == 9
    screenshot(page, "code-M54-header")
    page.locator("#children a", has_text="M54.5").click()
    expect(page.locator("h1")).to_have_text("M54.5 Low back pain")


def test_a_seventh_character_code(page, site):
    page.goto(f"{site}/codes/S32.009A")
    expect = playwright_api.expect
    expect(page.locator("h1")).to_contain_text("S32.009A Unspecified fracture of unspecified lumbar vertebra")
    expect(page.locator("dt:text-is('7th character') + dd")).to_have_text("A: initial encounter for closed fracture")
    expect(page.locator("#rules")).to_contain_text("The 7th character A means")
    screenshot(page, "code-S32.009A-seventh-character")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=re.compile("^S32.009 ")).click()
    expect(page.locator("dt:text-is('Status') + dd")).to_contain_text("add a 7th character")


def test_an_unknown_code_and_a_browser_on_a_fhir_url(page, site, live_server):
    response = page.goto(f"{site}/codes/M54.99")
    assert response.status == 404
    playwright_api.expect(page.locator("#suggestions a").first).to_contain_text("M54.9")
    screenshot(page, "not-found-M54.99")
    page.goto(f"{live_server}/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=m549")
    assert page.url == f"{site}/codes/M54.9"  # the lookup, shown as the code's page
    page.get_by_role("link", name="This answer as FHIR JSON").click()
    assert json.loads(page.locator("body").inner_text())["resourceType"] == "Parameters"


def test_the_pages_work_without_javascript(browser, site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site + "/")
        page.get_by_label("Search codes").fill("sciatica")
        page.get_by_role("button", name="Search").click()
        page.locator("ol.results a").first.click()
        playwright_api.expect(page.locator("#sources")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize(
    "path, name",
    [
        ("/codes/M54.9", "code-M54.9"),
        ("/codes/S32.009A", "code-S32.009A"),
        ("/search?q=low+back+pain", "search"),
        ("/", "home"),
        ("/codes/M54.99", "not-found"),
    ],
)
def test_no_accessibility_violations(page, site, path, name):
    """The issue asks for no serious ones; the pages have none of any impact."""
    page.goto(site + path)
    assert accessibility_problems(page, name) == []


def test_the_accessibility_check_finds_violations(page):
    """The check above can fail: a page with an unlabelled field and an image without text fails it."""
    page.set_content("<html><body><input type=text><img src='data:,'></body></html>")
    problems = accessibility_problems(page, "known-bad")
    assert any(p.startswith("image-alt (critical)") for p in problems), problems
    assert any(p.startswith("label (critical)") for p in problems), problems


@pytest.mark.parametrize("width", [320, 360, 1280])
@pytest.mark.parametrize(
    "path", ["/codes/M54.9", "/codes/S32.009A", "/search?q=low+back+pain", "/", "/blocks/M50-M54", "/codes/M54.99"]
)
def test_no_sideways_scroll_and_every_control_visible(browser, site, width, path):
    """On a phone (320-360 px) and a desktop: the page fits its width (nothing scrolls sideways, long source
    URLs wrap), the search box and its button are on screen, and the style sheet applies under the page's
    Content-Security-Policy (a blocked style would leave the button unstyled)."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        failed = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and "favicon" in r.url else None)
        page.on("console", lambda m: failed.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(site + path)
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls {overflow} px sideways at {width} px"
        for control in (page.get_by_label("Search codes"), page.get_by_role("button", name="Search")):
            box = control.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (path, width, box)
        color = page.get_by_role("button", name="Search").evaluate("b => getComputedStyle(b).backgroundColor")
        assert color == "rgb(11, 92, 171)", color  # the accent colour of site.css
        screenshot(page, f"width-{width}{path.replace('/', '_').replace('?', '_')}")
        assert not failed, failed
    finally:
        context.close()


# ----------------------------------------------------------------------- releases over time (three real ones)


@pytest.fixture(scope="module")
def history_site(history_store_dir, tmp_path_factory):
    process, base = start_server(history_store_dir, tmp_path_factory.mktemp("history-live") / "server.log")
    try:
        yield base.removesuffix("/fhir")
    finally:
        stop_server(process)


@pytest.mark.parametrize(
    "path, name",
    [
        ("/releases", "releases"),
        ("/releases/2026-04/changes", "changes-2026-04"),
        ("/codes/M54.5", "code-M54.5-history"),
        ("/codes/T78.1XXA", "deleted-T78.1XXA"),
    ],
)
def test_the_history_pages_are_accessible_and_fit_a_phone(browser, history_site, path, name):
    context = browser.new_context(viewport={"width": 320, "height": 800})
    try:
        page = context.new_page()
        page.goto(history_site + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls {overflow} px sideways on a phone"
        assert accessibility_problems(page, name) == []
    finally:
        context.close()


def test_from_a_code_to_its_history_and_the_changes_of_its_release(page, history_site):
    expect = playwright_api.expect
    page.goto(f"{history_site}/codes/M54.5")
    expect(page.locator("#changes")).to_contain_text("Made a header (no longer billable) in FY2022-FY2025")
    expect(page.locator("#timeline tbody tr")).to_have_count(3)
    screenshot(page, "code-M54.5-history")
    page.get_by_role("link", name="What changed in release 2026-04").click()
    expect(page.locator("h1")).to_have_text("ICD-10-CM changes from 2025-04 to 2026-04")
    expect(page.locator("#deleted")).to_contain_text("T78.1XXA")
    page.locator("#deleted a", has_text="T78.110A").first.click()
    expect(page.locator("h1")).to_contain_text("T78.110A")
