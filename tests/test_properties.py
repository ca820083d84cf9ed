"""Property-based tests (hypothesis) of the small parsers every request or load goes through: the
code normalizer, the note reference parser, the parameter binder and the FHIR XML reader/writer."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import InvalidRequest, ServiceError
from service.fhir import xml as fhir_xml
from service.http import params
from service.icd10cm import binding
from service.icd10cm.codes import normalize_code
from service.icd10cm.loaders.references import parse_references

# ICD-10-CM code shapes: a letter, a digit, a digit or letter, then up to four more characters.
codes = st.builds(
    lambda a, b, c, rest: a + b + c + ("." + rest if rest else ""),
    st.sampled_from(string.ascii_uppercase),
    st.sampled_from(string.digits),
    st.sampled_from(string.digits + string.ascii_uppercase),
    st.text(alphabet=string.digits + "XABCDGHJKPS", max_size=4),
)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------------------------ normalizer


@_SETTINGS
@given(codes, st.sampled_from(["", " ", "\t"]), st.booleans(), st.booleans())
def test_normalize_undoes_what_claim_files_do(code, pad, drop_dot, lower):
    """Dotless, lower-case, padded forms all come back to the dotted code."""
    written = code.replace(".", "") if drop_dot else code
    written = written.lower() if lower else written
    assert normalize_code(pad + written + pad) == code


@_SETTINGS
@given(st.text(max_size=20))
def test_normalize_is_idempotent_and_never_fails(text):
    once = normalize_code(text)
    assert normalize_code(once) == once


# ------------------------------------------------------------------------------------ note parser


@_SETTINGS
@given(st.lists(codes.filter(lambda c: "." in c), min_size=1, max_size=4), st.sampled_from(["", "-"]))
def test_codes_in_parentheses_are_found_in_order(cited, dash):
    text = "Excludes1: some condition (" + ", ".join(c + dash for c in cited) + ")"
    expected = list(dict.fromkeys(c.rstrip(".") + dash for c in cited))
    assert parse_references(text) == expected


@_SETTINGS
@given(st.text(max_size=200))
def test_any_text_gives_well_formed_references(text):
    for reference in parse_references(text):
        assert re.fullmatch(
            r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{0,4})?(-|-[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{0,4})?)?", reference
        ), reference


@_SETTINGS
@given(st.text(alphabet=string.ascii_letters + " ,;", max_size=80))
def test_words_are_not_taken_for_codes(text):
    assert parse_references(text) == []


# ------------------------------------------------------------------------------------ binder

names = st.sampled_from(
    [
        "code",
        "system",
        "version",
        "coding",
        "date",
        "property",
        "guidance",
        "displayLanguage",
        "unknown",
        "_format",
        "count",
    ]
)
values = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dictionaries(
        st.sampled_from(["system", "code", "version", "display", "x"]),
        st.one_of(st.text(max_size=10), st.integers()),
        max_size=4,
    ),
    st.lists(st.text(max_size=5), max_size=3),
)


@_SETTINGS
@given(
    st.dictionaries(names, st.lists(values, min_size=1, max_size=3), max_size=6),
    st.sampled_from(
        [
            binding.LOOKUP,
            binding.CODESYSTEM_VALIDATE_CODE,
            binding.VALUESET_VALIDATE_CODE,
            binding.EXPAND,
            binding.SUBSUMES,
        ]
    ),
)
def test_the_binder_binds_or_says_why(flat, schema):
    """Whatever a client sends, binding gives known parameters or a 400 that names the problem."""
    try:
        bound = schema.bind(flat)
    except InvalidRequest as error:
        assert error.status == 400 and error.message.startswith("Invalid parameter: ")
        return
    assert set(bound) <= set(schema.by_name)
    for name, _value in bound.items():
        if name not in schema.repeatable:
            assert len(flat[name]) == 1


@_SETTINGS
@given(st.text(alphabet=string.printable, max_size=120))
def test_any_query_string_parses_or_is_refused(query):
    try:
        parsed = params.parse_query(query, 100)
    except ServiceError as error:
        assert error.status == 400
        return
    assert all(isinstance(v, list) and v for v in parsed.values())


# ------------------------------------------------------------------------------------ XML

strings = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
codings = st.fixed_dictionaries(
    {"code": strings}, optional={"system": strings, "display": strings, "userSelected": st.booleans()}
)
parameters = st.recursive(
    st.one_of(
        st.fixed_dictionaries({"name": strings, "valueString": strings}),
        st.fixed_dictionaries({"name": strings, "valueInteger": st.integers(-(2**31), 2**31 - 1)}),
        st.fixed_dictionaries({"name": strings, "valueBoolean": st.booleans()}),
        st.fixed_dictionaries({"name": strings, "valueCoding": codings}),
    ),
    lambda children: st.fixed_dictionaries({"name": strings, "part": st.lists(children, min_size=1, max_size=3)}),
    max_leaves=12,
)


@_SETTINGS
@given(st.lists(parameters, min_size=1, max_size=5))
def test_xml_round_trip(entries):
    resource = {"resourceType": "Parameters", "parameter": entries}
    assert fhir_xml.loads(fhir_xml.dumps(resource)) == resource


@_SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_read_as_xml_or_refused(data):
    try:
        fhir_xml.loads(data)
    except InvalidRequest:
        pass


@pytest.mark.parametrize("text", ["&", "<", ">", '"', "'", "\n", "\r\n", "\t", "é", "😀", "]]>"])
def test_xml_keeps_awkward_characters(text):
    resource = {"resourceType": "Parameters", "parameter": [{"name": text, "valueString": f"a{text}b"}]}
    assert fhir_xml.loads(fhir_xml.dumps(resource)) == resource
