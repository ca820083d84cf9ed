"""$validate-diagnoses: a diagnosis list checked as a whole, on real codes of the default release.

Each check has a list that fires it and one that must not; the corpus (tests/data/diagnoses_corpus.toml,
written by a coder before the checks were tuned) is checked in test_diagnoses_corpus below."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from helpers import ICD10CM, assert_fhir, param

from service.icd10cm.diagnoses import Listed, covers, validate_diagnoses
from service.icd10cm.model import Coding

URL = "/fhir/CodeSystem/$validate-diagnoses"
JSON = {"Content-Type": "application/fhir+json"}
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "diagnoses_corpus.toml"


def check(engine, *codes, date=None):
    listed = [Listed(Coding(ICD10CM, code), f"coding[{i}]") for i, code in enumerate(codes)]
    return validate_diagnoses(engine, listed, date)


def found(checked, name=None):
    return [(f.check, f.positions, f.severity) for f in checked.findings if name is None or f.check == name]


def parameters(*codes, **more):
    entries = [{"name": "coding", "valueCoding": {"system": ICD10CM, "code": code}} for code in codes]
    entries += [{"name": name, "valueString": value} for name, value in more.items()]
    return {"resourceType": "Parameters", "parameter": entries}


# ------------------------------------------------------------------------------------------- checks


def test_a_clean_list_has_no_finding(engine):
    checked = check(engine, "K21.9", "E78.5", "F17.210")
    assert checked.result and found(checked) == [] and checked.version == "2026-04"


def test_each_code_is_checked_alone(engine):
    checked = check(engine, "M54.5", "S52.501", "T78.1XXA", "M54.50")
    invalid = found(checked, "invalid-code")
    assert [positions for _, positions, _ in invalid] == [(1,), (2,), (3,)] and not checked.result
    assert "header" in checked.findings[0].text


def test_duplicates_and_a_code_with_its_ancestor(engine):
    assert found(check(engine, "J45.909", "J45.909"), "duplicate") == [("duplicate", (1, 2), "error")]
    assert found(check(engine, "M54.5", "M54.50"), "with-ancestor") == [("with-ancestor", (1, 2), "error")]


def test_excludes1_from_the_category_is_an_error_and_excludes2_is_never_a_finding(engine):
    checked = check(engine, "E11.9", "E10.9")  # E11: Excludes1 type 1 diabetes mellitus (E10.-)
    [(name, positions, severity)] = found(checked, "excludes1")
    assert positions == (1, 2) and severity == "error"
    assert "category E11" in checked.findings[0].basis and "I.A.12.a" in checked.findings[0].basis
    assert not found(check(engine, "M54.50", "M51.36"), "excludes1")  # M54.5 Excludes2 M51.3-: may go together


def test_excludes1_from_a_block_or_chapter_note_is_a_warning(engine):
    # Block A15-A19 (tuberculosis) Excludes1: sequelae of tuberculosis (B90.-)
    checked = check(engine, "A15.0", "B90.9")
    excluded = [f for f in checked.findings if f.check == "excludes1"]
    assert excluded and excluded[0].severity == "warning" and "block A15-A19" in excluded[0].basis


def test_where_codes_may_stand(engine):
    assert found(check(engine, "G63", "E85.1"), "manifestation-first") == [("manifestation-first", (1,), "error")]
    assert found(check(engine, "W19.XXXA", "S72.001A"), "external-cause-first")
    assert found(check(engine, "T42.4X5A", "R41.0"), "never-first")  # adverse effect first
    assert found(check(engine, "C50.911", "Z51.11"), "first-only-not-first") == [
        ("first-only-not-first", (2,), "error")
    ]
    assert not found(check(engine, "Z51.11", "C50.911", "Z17.0"), "first-only-not-first")


def test_a_pregnancy_code_goes_first(engine):
    checked = check(engine, "E11.9", "O24.111", "Z3A.12")
    assert found(checked, "pregnancy-not-first") == [("pregnancy-not-first", (1, 2), "error")]
    assert not found(check(engine, "O24.111", "E11.9", "Z79.84", "Z3A.12"), "pregnancy-not-first")


def test_code_first_missing_and_out_of_order(engine):
    assert ("code-first-missing", (1,), "warning") in found(check(engine, "G63"))
    # A conditional note ("if applicable", "any associated") is a reminder, not a query.
    [pneumonia] = [f for f in check(engine, "J15.1").findings if f.check == "code-first-missing"]
    assert pneumonia.severity == "information" and "query" not in pneumonia.text
    order = check(engine, "F02.80", "G30.9")  # dementia in other diseases: code first Alzheimer's (G30.-)
    assert ("code-first-order", (2, 1), "error") in found(order)
    assert not found(check(engine, "G30.9", "F02.80"), "code-first-order")
    assert not found(check(engine, "G30.9", "F02.80"), "code-first-missing")


def test_use_additional_and_weeks_of_gestation_are_reminders(engine):
    reminders = found(check(engine, "O24.111"))
    assert ("z3a-missing", (1,), "information") in reminders
    assert not found(check(engine, "O24.111", "Z3A.12", "Z79.4"), "z3a-missing")
    assert ("use-additional", (1,), "information") in found(check(engine, "C50.911"))  # Z17.- receptor status
    assert not [f for f in found(check(engine, "C50.911", "Z17.0")) if f[0] == "use-additional"]


def test_redundant_codes(engine):
    assert found(check(engine, "M54.50", "M54.59"), "unspecified-with-specified") == [
        ("unspecified-with-specified", (1, 2), "warning")
    ]
    # "unspecified" late in a title qualifies a detail: F10.239 (withdrawal, unspecified) is the more specific
    assert not found(check(engine, "F10.239", "F10.20"), "unspecified-with-specified")
    assert found(check(engine, "J45.909", "J45.51"), "unspecified-with-specified")
    assert found(check(engine, "H40.1111", "H40.1121"), "bilateral") == [("bilateral", (1, 2), "warning")]
    assert not found(check(engine, "H40.1111", "H40.1132"), "bilateral")
    assert found(check(engine, "H25.13", "H25.11"), "bilateral") == [("bilateral", (1, 2), "warning")]
    # With the bilateral code listed too, the sides are redundant; it is not "report the bilateral code instead".
    both = check(engine, "H40.1131", "H40.1121", "H40.1111")
    assert [f.positions for f in both.findings if f.check == "bilateral"] == [(1, 2), (1, 3)]


def test_hypertension_with_heart_or_kidney_involvement_is_a_combination(engine):
    """I.C.9.a presumes the link: I10 with CKD is I12, with heart failure I11, with both I13; and a combination
    code includes the hypertension."""
    for codes, category, positions in (
        (("I10", "N18.4"), "I12", (1, 2)),
        (("I50.9", "I10"), "I11", (1, 2)),
        (("I50.22", "N18.30", "I10", "E78.5"), "I13", (1, 2, 3)),
    ):
        [finding] = [f for f in check(engine, *codes).findings if f.check == "combination"]
        assert (
            finding.positions == positions and finding.severity == "error" and f"a code of {category}" in finding.text
        )
        assert "I.C.9.a" in finding.basis
    assert found(check(engine, "I12.9", "N18.4", "I10"), "combination") == [("combination", (1, 3), "error")]
    assert not found(check(engine, "I12.9", "N18.4"), "combination")
    assert not found(check(engine, "I10", "E78.5"), "combination")


def test_a_combination_code_the_tabular_names(engine):
    """A note of one code names a code in the other's category that joins the two (N18's "code first diabetic
    chronic kidney disease (E11.22)"; J20's Excludes2 "acute bronchitis with chronic obstructive pulmonary disease
    (J44.0)"), or a code of one's category asks for the other in its own note (E11.621: the site of the ulcer)."""
    for codes, target in (
        (("E11.9", "N18.31", "Z79.84"), "E11.22"),
        (("J44.9", "J20.9"), "J44.0"),
        (("I11.9", "I50.9"), "I11.0"),
        (("E10.9", "L97.412", "Z79.4"), "E10.621"),
    ):
        [finding] = [f for f in check(engine, *codes).findings if f.check == "combination"]
        assert finding.positions == (1, 2) and finding.severity == "error" and f"Report {target}" in finding.text
    # Read from the titles: a code of the category whose title joins the other's words (the "with" convention).
    for codes, target in ((("E10.9", "G62.9", "Z79.4"), "E10.42"), (("I69.30", "G81.91"), "I69.351")):
        [finding] = [f for f in check(engine, *codes).findings if f.check == "combination"]
        assert f"Report {target}" in finding.text and "title" in finding.basis
    # Two of one kind are alternatives, and titles that merely share a site join nothing.
    assert not found(check(engine, "E08.59", "E13.01"), "combination")
    assert not found(check(engine, "C85.28", "C81.74"), "combination")
    # Coded right, nothing is joined: the combination code is there, or the notes' alternatives are met.
    for codes in (("E11.22", "N18.31", "Z79.84"), ("J44.0", "J20.9"), ("N40.1", "R35.1"), ("I13.0", "N18.4", "I50.9")):
        assert not found(check(engine, *codes), "combination"), codes


def test_codes_that_contradict_each_other(engine):
    """'Without complications' beside a complication of its branch, or 'without X' beside 'with X', is an error;
    a history code beside the condition as current a warning (a new episode, a second primary may explain it)."""
    assert found(check(engine, "F10.20", "F10.239"), "contradictory") == [("contradictory", (1, 2), "error")]
    assert found(check(engine, "S06.0X0A", "S06.0X1A", "W01.0XXA"), "contradictory") == [
        ("contradictory", (1, 2), "error")
    ]
    # The contradiction is the finding on the pair, not also "unspecified".
    assert found(check(engine, "K40.90", "K40.30")) == [("contradictory", (1, 2), "error")]
    assert found(check(engine, "C50.911", "Z85.3", "Z17.0"), "contradictory") == [("contradictory", (1, 2), "warning")]
    assert not found(check(engine, "C79.51", "Z85.3"), "contradictory")  # a metastasis after the primary was excised
    assert not found(check(engine, "F10.10", "F10.239"), "contradictory")  # abuse, uncomplicated: another branch


def test_signs_and_symptoms_beside_a_diagnosis(engine):
    """A sign the diagnosis's title says is an error (a warning when the symptom's Excludes2 allows both); one of
    the body system a diagnosis belongs to a warning, first-listed (I.C.18.a) or not (I.B.5), as the record
    decides; none when the classification asks for both (N40.1's note asks for the symptoms)."""
    assert found(check(engine, "R10.9", "K35.80"), "symptom-integral") == [("symptom-integral", (1, 2), "warning")]
    assert found(check(engine, "R51.9", "G44.209"), "symptom-integral") == [("symptom-integral", (1, 2), "warning")]
    assert found(check(engine, "K35.80", "R10.9"), "symptom-integral") == [("symptom-integral", (1, 2), "warning")]
    assert ("symptom-integral", (1, 2), "error") in found(check(engine, "N30.01", "R31.9", "B96.20"))
    assert not found(check(engine, "N40.1", "R35.1"), "symptom-integral")
    assert not found(check(engine, "I10", "R51.9"), "symptom-integral")  # a headache names no body system


def test_sepsis_and_a_localized_infection(engine):
    assert found(check(engine, "N39.0", "A41.51", "B96.20"), "sepsis-not-first") == [
        ("sepsis-not-first", (1, 2), "warning")
    ]
    assert not found(check(engine, "A41.51", "N39.0"), "sepsis-not-first")
    assert not found(check(engine, "I21.4", "A41.9"), "sepsis-not-first")  # not an infection: no order is implied
    assert found(check(engine, "T80.211A", "A41.9"), "sepsis-not-first") == []  # A41's note asks for this order
    # Severe sepsis is never first-listed: the systemic infection goes first, or is missing.
    assert ("sepsis-not-first", (1, 2), "error") in found(check(engine, "R65.21", "A41.9"))
    assert ("sepsis-not-first", (1,), "error") in found(check(engine, "R65.20", "J96.01"))


def test_excludes1_lines_without_a_code(engine):
    """Read by their words: the term in the other's titles (R65.1's "sepsis - code to infection"; D72.825's
    "confirmed infection", L03's block), codes written in the pointer (E87.2's "see categories E08-E10, E11, E13
    with ketoacidosis"), the chapter the pointer names ("code to sign or symptom") - not for a holder whose title
    expects those codes (Z00.01, with abnormal findings)."""
    assert ("excludes1", (1, 2), "error") in found(check(engine, "R65.10", "A41.9"))
    assert ("excludes1", (1, 2), "error") in found(check(engine, "L03.115", "D72.825"))
    assert ("excludes1", (1, 2), "error") in found(check(engine, "E11.10", "E87.21", "Z79.4"))
    assert ("excludes1", (1, 2), "error") in found(check(engine, "Z12.11", "R19.5"))
    assert ("excludes1", (1, 2), "warning") in found(check(engine, "S13.4XXA", "M54.2"))  # block M50-M54
    assert not found(check(engine, "Z00.01", "R03.0"), "excludes1")
    assert not found(check(engine, "Z12.11", "K63.5"), "excludes1")


def test_an_uncomplicated_delivery_and_a_poisoning_first(engine):
    assert found(check(engine, "O80", "O70.0", "Z37.0", "Z3A.39"), "single-diagnosis") == [
        ("single-diagnosis", (1, 2), "error")
    ]
    assert not found(check(engine, "O80", "Z3A.39", "Z37.0"))
    assert found(check(engine, "R40.4", "T42.4X1A"), "poisoning-not-first") == [
        ("poisoning-not-first", (1, 2), "warning")
    ]
    assert not found(check(engine, "T42.4X1A", "R40.4"), "poisoning-not-first")
    assert not found(check(engine, "E87.1", "T50.1X5A"), "poisoning-not-first")  # an adverse effect goes after


def test_seventh_characters_of_one_injury_agree(engine):
    assert found(check(engine, "S52.501A", "S52.601D"), "seventh-mismatch") == [("seventh-mismatch", (1, 2), "warning")]
    assert not found(check(engine, "S52.501A", "S52.601A"), "seventh-mismatch")


@pytest.mark.parametrize(
    "ref, code, covered",
    [("C00-D49", "C50.911", True), ("C00-D49", "E11.9", False), ("E85-", "E85.1", True), ("I12-", "I13.0", False)],
)
def test_a_note_reference_covers_its_codes(ref, code, covered):
    assert covers(ref, code) is covered


# --------------------------------------------------------------------------------------------- HTTP


def test_over_http_as_parameters_claim_and_bundle(client):
    body = client.post(URL, json=parameters("G63", "E11.40", date="2026-06-01"), headers=JSON).get_json()
    assert_fhir(body, "Parameters")
    assert param(body, "result") is False and param(body, "version") == "2026-04"
    issues = param(body, "issues")["issue"]
    first = next(i for i in issues if i["details"]["coding"][0]["code"] == "manifestation-first")
    assert first["expression"] == ["coding[0]"] and "I.A.13" in first["diagnostics"]

    claim = {
        "resourceType": "Claim",
        "status": "active",
        "diagnosis": [
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "E10.9"}]}},
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "E11.9"}]}},
        ],
    }
    body = client.post(URL, json=claim, headers=JSON).get_json()
    assert_fhir(body, "Parameters")
    excluded = [i for i in param(body, "issues")["issue"] if i["details"]["coding"][0]["code"] == "excludes1"]
    assert excluded[0]["expression"] == ["Claim.diagnosis[1]", "Claim.diagnosis[0]"]

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": _condition("a", "E85.1")},
            {"fullUrl": "urn:uuid:b", "resource": _condition("b", "G63")},
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "diagnosis": [
                        {"condition": {"reference": "urn:uuid:b"}, "rank": 1},
                        {"condition": {"reference": "urn:uuid:a"}, "rank": 2},
                    ],
                }
            },
        ],
    }
    body = client.post(URL, json=bundle, headers=JSON).get_json()
    assert_fhir(body, "Parameters")
    codes = {i["details"]["coding"][0]["code"]: i for i in param(body, "issues")["issue"]}
    assert codes["manifestation-first"]["expression"] == ["Bundle.entry[1].resource.code"]


def _claim(*diagnoses: tuple[str, str]) -> dict:
    """A Claim whose diagnoses (code, present-on-admission indicator) are in sequence order."""
    poa = "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission"
    return {
        "resourceType": "Claim",
        "status": "active",
        "diagnosis": [
            {
                "sequence": n,
                "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]},
                "onAdmission": {"coding": [{"system": poa, "code": admitted}]},
            }
            for n, (code, admitted) in enumerate(diagnoses, start=1)
        ],
    }


@pytest.mark.parametrize(
    "admitted, severity",
    [(("y", "y"), "error"), (("y", "n"), None), (("y", "u"), "warning")],
)
def test_a_claim_says_what_was_present_on_admission(client, admitted, severity):
    """A localized infection before its sepsis: wrong when both were present on admission (I.C.1.d.4), right
    when the sepsis developed later, a question when the claim does not say."""
    claim = _claim(("J18.9", admitted[0]), ("A41.9", admitted[1]))
    body = client.post(URL, json=claim, headers=JSON).get_json()
    assert_fhir(body, "Parameters")
    order = [i for i in param(body, "issues")["issue"] if i["details"]["coding"][0]["code"] == "sepsis-not-first"]
    assert [i["severity"] for i in order] == ([severity] if severity else [])
    assert param(body, "result") is (severity != "error")


def _condition(identifier: str, code: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": identifier,
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": ICD10CM, "code": code}]},
    }


@pytest.mark.parametrize(
    "body, words",
    [
        ({"resourceType": "Claim", "status": "active"}, "no diagnosis"),
        (
            {
                "resourceType": "Claim",
                "diagnosis": [
                    {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "E11.9"}]}},
                    {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": "I10"}]}},
                ],
            },
            "given twice",
        ),
        ({"resourceType": "Claim", "diagnosis": [{"sequence": 1}]}, "no coding"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "no Condition"),
        (parameters(*["E11.9"] * 1000), "Too many"),
        (parameters(), "needs the diagnoses"),
        (parameters("E11.9", setting="nowhere"), "setting"),
        (parameters("E11.9", date="2026-02-30"), "date"),
    ],
)
def test_malformed_input_is_a_clear_4xx(client, body, words):
    answer = client.post(URL, json=body, headers=JSON)
    assert 400 <= answer.status_code < 500, answer.get_json()
    outcome = answer.get_json()
    assert_fhir(outcome, "OperationOutcome")
    assert words in outcome["issue"][0]["details"]["text"]


def test_get_is_405_naming_post(client):
    """GET is not the CodeSystem read of an id "$validate-diagnoses" (a 404), but a method the operation lacks."""
    answer = client.get(URL, query_string={"coding": "E11.9"})
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    outcome = answer.get_json()
    assert_fhir(outcome, "OperationOutcome")
    assert outcome["issue"][0]["code"] == "not-supported" and "POST" in outcome["issue"][0]["details"]["text"]


def test_a_code_of_another_system_is_a_finding_of_its_own(client):
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": "http://snomed.info/sct", "code": "44054006"}},
            {"name": "coding", "valueCoding": {"system": ICD10CM, "code": "E11.9"}},
        ],
    }
    answer = client.post(URL, json=body, headers=JSON).get_json()
    [invalid] = [i for i in param(answer, "issues")["issue"] if i["details"]["coding"][0]["code"] == "invalid-code"]
    assert invalid["expression"] == ["coding[0]"] and "not of ICD-10-CM" in invalid["details"]["text"]


def test_the_check_page(client):
    page = client.get("/check", query_string={"codes": "E11.9, E10.9"})
    assert page.status_code == 200 and "text/html" in page.content_type
    text = page.get_data(as_text=True)
    assert 'href="/codes/E10.9"' in text and "Excludes1" in text
    assert client.get("/check", query_string={"codes": "E11.9", "date": "nope"}).status_code == 400


# ------------------------------------------------------------------------------------------- corpus


CORPORA = sorted(CORPUS.parent.glob("diagnoses_corpus*.toml"))


@pytest.mark.parametrize("half", ["tune", "report"])
@pytest.mark.parametrize("corpus", CORPORA, ids=lambda path: path.stem)
def test_diagnoses_corpus(engine, corpus, half):
    """Every expected finding is found, with its severity, and nothing else fires (information reminders
    included); the score of each half is printed. (The held-out file is all "report".)"""
    cases = [c for c in tomllib.loads(corpus.read_text())["case"] if c["half"] == half]
    if not cases:
        pytest.skip(f"{corpus.name} has no {half} half")
    assert len(cases) >= 25
    wrong, fixed = [], []
    for case in cases:
        checked = check(engine, *case["codes"], date=case.get("date"))
        got = {(f.check, tuple(sorted(f.positions)), f.severity) for f in checked.findings}
        expected = {(e["check"], tuple(sorted(e["codes"])), e["severity"]) for e in case.get("expect", ())}
        if got != expected and "limitation" not in case:
            wrong.append((case["id"], sorted(expected - got), sorted(got - expected)))
        elif got == expected and "limitation" in case:
            fixed.append(case["id"])  # a documented limitation no longer holds: take its note away
    limited = sum("limitation" in c for c in cases)
    print(f"{corpus.name} {half}: {len(cases) - len(wrong) - limited}/{len(cases)} right, {limited} known limitations")
    assert not wrong and not fixed, (wrong, fixed)


def test_every_check_is_a_code_of_the_published_code_system(client):
    """The checks the corpora and docs/diagnoses.md name are the codes of CodeSystem/diagnosis-check, which the
    server serves, so a client can look up what an issue's details.coding means."""
    system = client.get("/fhir/CodeSystem/diagnosis-check").get_json()
    assert_fhir(system, "CodeSystem")
    published = {c["code"] for c in system["concept"]}
    documented = set(re.findall(r"^\| `([a-z0-9-]+)`", (ROOT / "docs" / "diagnoses.md").read_text(), re.MULTILINE))
    documented |= {"manifestation-first", "external-cause-first", "never-first"}  # one row of the table
    cased = {
        e["check"] for corpus in CORPORA for c in tomllib.loads(corpus.read_text())["case"] for e in c.get("expect", ())
    }
    assert published == documented and cased <= published
    answer = client.get(
        "/fhir/CodeSystem/$lookup", query_string={"system": system["url"], "code": "contradictory"}
    ).get_json()
    assert param(answer, "display") == "Codes contradict each other"


def test_any_list_gets_an_answer(engine):
    """Random lists of real codes (billable, headers, codes needing a 7th character) and garbage: every one is
    answered, every finding names positions of the list."""
    import random

    release = engine.releases.default
    codes = [row[0] for row in release.all_concepts()]
    chooser = random.Random(19)
    for _ in range(300):
        listed = chooser.sample(codes, chooser.randint(1, 12)) + chooser.choice([[], ["ZZZ.9"], ["m549"], [""]])
        chooser.shuffle(listed)
        checked = check(engine, *listed)
        assert all(1 <= p <= len(listed) for f in checked.findings for p in f.positions), listed
