"""The docs name every setting and every $lookup property the code has."""

from pathlib import Path

from service.config import settings_table
from service.icd10cm.guidance.fhir import PROPERTIES as GUIDANCE_PROPERTIES
from service.icd10cm.resources import PROPERTIES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    missing = [env for _, env, _, _ in settings_table() if f"`{env}`" not in text]
    assert not missing, f"add to docs/settings.md: {missing}"


def test_every_lookup_property_is_documented():
    text = (DOCS / "properties.md").read_text()
    missing = [code for code in PROPERTIES if f"`{code}`" not in text]
    assert not missing, f"add to docs/properties.md: {missing}"


def test_every_guidance_property_is_documented():
    text = (DOCS / "guidance.md").read_text()
    missing = [code for code in GUIDANCE_PROPERTIES if f"`{code}`" not in text]
    assert not missing, f"add to docs/guidance.md: {missing}"


def test_the_readme_starts_a_new_user_small_and_readable():
    """The first example is pretty-printed, the smaller answers are shown, and a taken port has its way out."""
    import re

    readme = (DOCS.parent / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") : readme.index("## Try it")]
    assert "--port" in quick_start
    try_it = readme[readme.index("## Try it") :]
    examples = re.findall(r'^curl "([^"]+)"', try_it, re.M)
    assert "_pretty=true" in examples[0]
    assert any("guidance=none" in e for e in examples[:3]) and any("property=" in e for e in examples[:3])


def test_the_architecture_page_names_modules_that_exist():
    """docs/architecture.md names the modules a request crosses: each must exist (named from the
    project, from service/, or from within its package)."""
    import re

    service = DOCS.parent / "service"
    modules = {p.relative_to(service).as_posix() for p in service.rglob("*.py")}
    named = set(re.findall(r"([\w/]+\.py)", (DOCS / "architecture.md").read_text()))
    gone = sorted(
        n for n in named if not (DOCS.parent / n).exists() and not any(m == n or m.endswith("/" + n) for m in modules)
    )
    assert not gone, f"docs/architecture.md names modules that are not there: {gone}"
