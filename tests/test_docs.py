"""The docs name every setting and every $lookup property the code has."""

from pathlib import Path

from service.config import settings_table
from service.guidance.fhir import PROPERTIES as GUIDANCE_PROPERTIES
from service.terminology.resources import PROPERTIES

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
