"""The rules corpus (tests/data/guidance_corpus.toml): what the rule-derived guidance must say of each
code, every expectation citing the guideline section or tabular note it rests on. Half the cases were
used while writing the rules ("tune"); the other half ("report") were held out."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

CORPUS = tomllib.loads((Path(__file__).parent / "data" / "guidance_corpus.toml").read_text())["case"]
FIELDS = {"code", "basis", "first_listed", "rules", "not_rules", "codes", "not_codes", "text", "half"}


def test_the_corpus_is_well_formed():
    codes = [case["code"] for case in CORPUS]
    assert len(codes) == len(set(codes)), "a code twice in the corpus"
    for case in CORPUS:
        assert set(case) <= FIELDS, case
        assert case["basis"].strip() and case["half"] in ("tune", "report"), case
        assert case.get("first_listed", "either") in ("never", "only", "either"), case


@pytest.fixture(scope="module")
def guidance_of(engine):
    def guidance(code: str):
        release = engine.releases.default
        concept = release.concept(code)
        assert concept is not None, f"{code} is not a code of {release.version}"
        built = engine._guidance[release.version].build(concept, "rules")
        return built, [rule for piece in [built.code_rules] for rule in piece], concept

    return guidance


def _all_rules(built) -> dict[str, list[dict]]:
    """Every rule item of a code's guidance (code rules and note rules), by rule id."""
    import orjson

    found: dict[str, list[dict]] = {}
    for entry in orjson.loads(b"[" + built.entries + b"]"):
        parts = {p["valueCode"] if "valueCode" in p else None: p for p in entry["part"][:1]}
        if entry["part"][0]["valueCode"] != "rule":
            continue
        value = entry["part"][1]["valueString"]
        subs = [p["part"] for p in entry["part"][2:] if p["name"] == "subproperty"]
        sub = {}
        for part in subs:
            name = part[0]["valueCode"]
            sub.setdefault(name, []).append(next(v for k, v in part[1].items() if k.startswith("value")))
        del parts
        found.setdefault(sub["rule"][0], []).append({"text": value, "codes": sub.get("code", [])})
    return found


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['half']}-{c['code']}" for c in CORPUS])
def test_the_guidance_of_each_code(case, guidance_of):
    built, _, _ = guidance_of(case["code"])
    expected = case.get("first_listed")
    if expected is not None:
        assert (built.first_listed or "either") == expected, f"firstListed of {case['code']} ({case['basis']})"
    rules = _all_rules(built)
    for rule in case.get("rules", ()):
        assert rule in rules, f"{case['code']}: no {rule} rule ({case['basis']}); has {sorted(rules)}"
    for rule in case.get("not_rules", ()):
        assert rule not in rules, f"{case['code']}: a {rule} rule it must not have ({case['basis']}): {rules[rule]}"
    for rule, codes in case.get("codes", {}).items():
        cited = {c for item in rules.get(rule, ()) for c in item["codes"]}
        assert set(codes) <= cited, f"{case['code']}: {rule} should point to {codes}, points to {sorted(cited)}"
    for rule, codes in case.get("not_codes", {}).items():
        cited = {c for item in rules.get(rule, ()) for c in item["codes"]}
        assert not set(codes) & cited, f"{case['code']}: {rule} must not point to {codes} ({case['basis']})"
    for rule, words in case.get("text", {}).items():
        texts = [item["text"] for item in rules.get(rule, ())]
        assert any(words in t for t in texts), f"{case['code']}: {rule} should say {words!r}: {texts}"


def test_every_code_of_the_release_gets_well_formed_guidance(engine):
    """All 98,186 codes: the guidance builds, every rule says something and rests on a guideline section or a
    tabular note, no template is left unfilled, and a firstListed value comes with the one rule that set it."""
    import re

    from service.icd10cm.guidance.sequencing import PLACEMENT_RULES

    release = engine.releases.default
    builder = engine._guidance[release.version]
    problems = []
    for code, *_ in release.all_concepts():
        built = builder._own(code)  # uncached: every code's rules are built here, not kept
        placed = [r for r in built.code_rules if r.rule in PLACEMENT_RULES]
        if (built.first_listed is None) != (not placed) or len(placed) > 1:
            problems.append(f"{code}: firstListed {built.first_listed} with {[r.rule for r in placed]}")
        for rule in built.code_rules:
            text = rule.text
            if not text.strip() or re.search(r"\{\w*\}|\bNone\b|  |\(\)|\.\.(?!\.)", text):
                problems.append(f"{code} {rule.rule}: {text!r}")
            if "Official Guidelines" not in rule.basis and "tabular" not in rule.basis:
                problems.append(f"{code} {rule.rule}: basis {rule.basis!r}")
    assert not problems, f"{len(problems)} problems, such as:\n" + "\n".join(problems[:30])
