"""An editorial file written for a category applies to the codes below it that have none of their own: the
entry says its scope, keeps only the more specific codes below the code asked about, and counts in the
coverage command."""

from __future__ import annotations

import datetime as dt

import pytest

from service.cli import main
from service.icd10cm.loaders.load import load
from service.icd10cm.operations import Icd10cm

CATEGORY_FILE = """
code = "E11"
summary = "Type 2 diabetes mellitus, with combination codes for its complications."
verified = 2026-12-03
verified_against = { release = "2026-04", guidelines = "FY2026" }
documentation = ["The type of diabetes and each complication the provider links to it (I.C.4.a)."]
pitfalls = ["Reporting E11.9 beside a code of a diabetic complication (I.C.4.a)."]
more_specific = [
  { code = "E11.22", when = "Diabetic chronic kidney disease." },
  { code = "E11.65", when = "Hyperglycemia documented." },
]
sources = [{ title = "CMS, ICD-10-CM Official Guidelines for Coding and Reporting FY2026 (I.C.4.a)", sections = ["summary", "documentation", "pitfalls", "more_specific"] }]
"""


@pytest.fixture(scope="module")
def inherited_store(tmp_path_factory):
    guidance = tmp_path_factory.mktemp("guidance")
    (guidance / "E11.toml").write_text(CATEGORY_FILE)
    store = tmp_path_factory.mktemp("store")
    load(None, store, guidance_dir=guidance)
    return store


def test_codes_below_a_category_inherit_its_entry(inherited_store):
    engine = Icd10cm.from_store(inherited_store, today=dt.date(2026, 6, 1))
    leaf = engine.lookup("http://hl7.org/fhir/sid/icd-10-cm", "E11.22").guidance.entries.decode()
    assert '"valueCode":"scope"' in leaf and '"valueCode":"E11"' in leaf and "Type 2 diabetes mellitus, with" in leaf
    assert '"moreSpecific"' not in leaf  # E11.22 is the most specific code
    header = engine.lookup("http://hl7.org/fhir/sid/icd-10-cm", "E11.2").guidance.entries.decode()
    assert "E11.22" in header and "E11.65" not in header  # only what is below E11.2
    own = engine.lookup("http://hl7.org/fhir/sid/icd-10-cm", "E11").guidance.entries.decode()
    assert '"valueCode":"scope"' not in own and "E11.65" in own


def test_the_coverage_command_counts_inherited_codes(inherited_store, capsys):
    assert main(["guidance-coverage", "--store", str(inherited_store)]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("E11\t"))
    covered, billable = map(int, line.split("\t")[1].split("/"))
    assert covered == billable > 50


def test_the_code_page_says_whose_entry_it_shows(inherited_store):
    from service.app import create_app
    from service.config import Settings

    client = create_app(Settings(store=inherited_store)).test_client()
    page = client.get("/codes/E11.22").get_data(as_text=True)
    assert 'id="scope"' in page and 'href="/codes/E11"' in page
    assert 'id="scope"' not in client.get("/codes/E11").get_data(as_text=True)


def test_every_billable_code_of_a_category_with_a_file_has_guidance(store_dir, capsys):
    """The shipped category files cover every billable code below them; the command prints the count."""
    from service.icd10cm.guidance.editorial import GUIDANCE_DIR

    assert main(["guidance-coverage", "--store", str(store_dir)]) == 0
    editorial, _, risk = capsys.readouterr().out.partition("\n\n")
    counts = {line.split("\t")[0]: line.split("\t")[1] for line in editorial.splitlines() if "\t" in line}
    categories = {path.stem for path in GUIDANCE_DIR.glob("*.toml") if len(path.stem) == 3}
    assert categories and all(counts[c].split("/")[0] == counts[c].split("/")[1] for c in categories), counts
    total = int(editorial.strip().splitlines()[-1].split(": ")[1].split()[0])
    assert total == sum(int(v.split("/")[0]) for v in counts.values()) >= 600
    # Then the codes with risk adjustment guidance, by family: every family counts some, and the total at least
    # as many as the largest family.
    families = {line.split("\t")[0]: int(line.split("\t")[1]) for line in risk.splitlines() if "\t" in line}
    covered = int(risk.strip().splitlines()[-1].split(": ")[1].split()[0])
    assert "general" in families and all(families.values()) and covered >= max(families.values()) > 1000
    print(editorial.strip().splitlines()[-1], risk.strip().splitlines()[-1], sep="\n")
