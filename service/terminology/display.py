"""The display of a coding for $validate-code: against the concept's display and designations, in the
languages asked for."""

from __future__ import annotations

from dataclasses import dataclass

from .checked import Checked, ValidatorBase, rekey
from .codesystem import STANDARDS_STATUS, CodeSystem, Concept
from .languages import Languages, language_matches

_DISPLAY_USES = {"preferredForLanguage", "900000000000548007", "display"}


class DisplayChecks(ValidatorBase):
    """Does the display fit? (Mixed into ``Validator``.)"""

    def _check_display(self, result: Checked, cs: CodeSystem, concept: Concept, display: str) -> None:
        context = self.context
        languages = self.params.languages
        if languages is None and self.value_set is not None and self.value_set.get("language"):
            languages = Languages.parse(self.value_set["language"])
        listed = result.include_concept or {}
        extra = list(listed.get("designation", []))
        if listed.get("display"):
            extra.append({"value": listed["display"]})
        everything = _designations(cs, concept, extra)
        wanted = [d for d in everything if _accepts(languages, d.language)]

        def same(value: str) -> bool:
            return value == display or (not cs.case_sensitive and value.lower() == display.lower())

        hits = [d for d in wanted if same(d.value)]
        if hits:
            if all(d.inactive for d in hits):
                active = [d.value for d in everything if d.display and not d.inactive]
                text = rekey(
                    context.message(
                        "INACTIVE_DISPLAY_FOUND_LIST",
                        display,
                        concept.code,
                        "deprecated",
                        ", ".join(f'"{v}"' for v in active),
                    ),
                    "INACTIVE_DISPLAY_FOUND",
                )
                result.add("warning", "invalid", text, "display-comment", "display")
            return
        severity = "warning" if self._lenient() else "error"
        language_text = ",".join(languages.ranges) if languages else "--"
        displays = [d for d in wanted if d.display and not d.inactive]
        if languages is not None and not displays:
            if any(same(d.value) for d in everything):
                result.add(
                    "information",
                    "invalid",
                    context.message(
                        "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK", display, cs.url, concept.code, language_text
                    ),
                    "invalid-display",
                    "display",
                )
            else:
                result.add(
                    severity,
                    "invalid",
                    context.message(
                        "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR",
                        display,
                        cs.url,
                        concept.code,
                        language_text,
                        concept.display,
                    ),
                    "invalid-display",
                    "display",
                )
            return
        choices = displays or [d for d in everything if d.display]
        normalized = " ".join(display.split())
        spaced = normalized != display and any(" ".join(d.value.split()).lower() == normalized.lower() for d in choices)
        key = (
            "Display_Name_WS_for__should_be_one_of__instead_of"
            if spaced
            else "Display_Name_for__should_be_one_of__instead_of"
        )
        shown = _or_list([f"'{d.value}' ({d.language})" if d.language else f"'{d.value}'" for d in choices])
        result.add(
            severity,
            "invalid",
            context.plural(key, len(choices), cs.url, concept.code, shown, display, language_text),
            "invalid-display",
            "display",
        )


# -- helpers --------------------------------------------------------------------------------------
@dataclass
class _Designation:
    value: str
    language: str | None
    display: bool  # counts as a display (not just another accepted term)
    inactive: bool


def _designations(cs: CodeSystem, concept: Concept, extra: list[dict]) -> list[_Designation]:
    """The concept's display and designations (supplements merged in), plus the value set's own."""
    out = []
    if concept.display:
        out.append(_Designation(concept.display, cs.language, True, False))
    for designation in concept.designations + extra:
        value = designation.get("value")
        if not value:
            continue
        use = (designation.get("use") or {}).get("code")
        inactive = any(
            ext.get("url") == STANDARDS_STATUS and ext.get("valueCode") in ("withdrawn", "inactive")
            for ext in designation.get("extension", [])
        )
        out.append(
            _Designation(
                value, designation.get("language") or cs.language, use is None or use in _DISPLAY_USES, inactive
            )
        )
    return out


def _accepts(languages: Languages | None, language: str | None) -> bool:
    if languages is None or languages.accepts_any:
        return True
    if language is None:  # a display in no stated language is a display in whatever language is asked
        return True
    return any(language_matches(r, language) for r in languages.ranges)


def _or_list(items: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
