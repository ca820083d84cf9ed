"""FHIR XML from and to the JSON form, with the element order and types of xml_schema.json
(made by tools/make_xml_schema.py). Plain string building and lxml: fhir.resources costs
milliseconds per resource, this costs tens of microseconds.

The rules (https://hl7.org/fhir/R4/xml.html): elements in the order of their definition;
primitives as ``<name value="..."/>`` with their ``_name`` id and extensions inside; an element's
id and an extension's url as attributes; resources inside resources wrapped in an element named
after their type; the narrative ``div`` as XHTML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
from lxml import etree

from ..errors import InvalidRequest
from ..lru import SizedLRU

NAMESPACE = "http://hl7.org/fhir"
_NS = "{" + NAMESPACE + "}"
_XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"
_TYPES: dict = json.loads((Path(__file__).with_name("xml_schema.json")).read_text())
for _spec in _TYPES.values():
    _spec["o"] = {e[0]: index for index, e in enumerate(_spec["e"])}  # element -> its place
_PRIMITIVES = {"boolean", "integer", "decimal", "string"}
_STRING_OPENERS = {
    e[0]: f'<{e[0]} value="'
    for e in _TYPES["ParametersParameter"]["e"]
    if e[0].startswith("value") and e[1] == "string"
}
# type -> name -> (type, repeats), for reading
_ELEMENTS = {name: {e[0]: (e[1], bool(e[2])) for e in spec["e"]} for name, spec in _TYPES.items()}
# XML 1.0 cannot hold the other control characters, U+FFFE, U+FFFF or lone surrogates, even escaped: a client
# may send them (in a code, a display, a resource), and each becomes U+FFFD in XML, so every answer parses.
_NOT_XML = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
_NEEDS_ESCAPE = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
        **{chr(c): "\ufffd" for c in _NOT_XML},
    }
)


class XmlError(InvalidRequest):
    """The XML is not FHIR XML this server can read."""


# ------------------------------------------------------------------------------------------ writing

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def dumps(resource: dict) -> bytes:
    out: list[str] = [DECLARATION]
    _write_resource(out, resource)
    return "".join(out).encode()


def write_parameters(out: list[str], entries: list[dict]) -> None:
    """``Parameters.parameter`` entries, appended to ``out``."""
    _write_parameters(out, entries, "parameter")


# The XML of serialized JSON pieces, by their bytes: an answer joins pieces that many answers share
# (a chapter's notes, an ancestor's rules), so each is written once and kept.
_PIECES = SizedLRU(6_000_000)  # characters of XML and JSON: a few thousand pieces


def parameters_piece(piece: bytes) -> str:
    """The XML of comma-separated ``Parameters.parameter`` entries in JSON."""
    return _piece("parameter", piece)


def extensions_piece(piece: bytes) -> str:
    """The XML of comma-separated extensions in JSON."""
    return _piece("extension", piece)


def _piece(kind: str, piece: bytes) -> str:
    xml = _PIECES.get((kind, piece))
    if xml is None:
        out: list[str] = []
        for item in orjson.loads(b"[" + piece + b"]"):
            if kind == "parameter":
                _write_parameters(out, [item], "parameter")
            else:
                _write_element(out, "extension", "Extension", item, None)
        xml = "".join(out)
        _PIECES.put((kind, piece), xml, len(xml) + len(piece))
    return xml


def _write_resource(out: list[str], resource: dict) -> None:
    kind = resource.get("resourceType")
    spec = _TYPES.get(kind) if isinstance(kind, str) else None
    if not isinstance(kind, str) or spec is None or not spec["r"]:
        raise ValueError(f"no XML form for resource type {kind!r}")
    out.append(f'<{kind} xmlns="{NAMESPACE}">')
    _write_children(out, resource, kind)
    out.append(f"</{kind}>")


def _is_attribute(kind: str, name: str) -> bool:
    """An element's id (not a resource's) and an extension's url are XML attributes."""
    return (name == "id" and not _TYPES[kind]["r"]) or (name == "url" and kind == "Extension")


_PLANS: dict[tuple, list] = {}  # (type, the object's keys) -> its plan: what to write, in document order


def _plan(kind: str, keys: tuple) -> list:
    """Which of an object's keys are written, in which order, and how: the same few shapes recur
    thousands of times in one answer, so each is worked out once. Each step is (name, type, repeats,
    the key of its ``_name`` companion if the object has one, and for a single primitive without
    one the start of its tag)."""
    spec = _TYPES[kind]
    order = spec["o"]
    names = sorted({key[1:] if key[0] == "_" else key for key in keys}.intersection(order), key=order.__getitem__)
    plan = []
    for name in names:
        if _is_attribute(kind, name):
            continue
        _, child_kind, repeats = spec["e"][order[name]]
        extra_key = "_" + name if "_" + name in keys else None
        simple = child_kind in _PRIMITIVES and not repeats and extra_key is None
        plan.append((name, child_kind, repeats, extra_key, f'<{name} value="' if simple else None))
    if len(_PLANS) < 10_000:  # bounded, whatever shapes clients send
        _PLANS[kind, keys] = plan
    return plan


_HEADS: dict[tuple[str, str], str] = {}  # (tag, parameter name) -> '<tag><name value="..."/>'


def _head(tag: str, name: str) -> str:
    head = f'<{tag}><name value="{_escape(name)}"/>'
    if len(_HEADS) < 10_000:  # parameter names are few; bounded whatever clients send
        _HEADS[tag, name] = head
    return head


def _write_parameters(out: list[str], entries: list, tag: str) -> None:
    """Parameters.parameter and .part, most of an operation's answer, written without the generic
    plan: a name, then a string value or a part list (anything else the generic way)."""
    append, search, close = out.append, _NEEDS_ESCAPE.search, f"</{tag}>"
    for entry in entries:
        try:
            (first, name), (key, value) = entry.items()
        except (ValueError, AttributeError):  # not two elements: the generic way
            _write_element(out, tag, "ParametersParameter", entry, None)
            continue
        if first != "name" or type(name) is not str:
            _write_element(out, tag, "ParametersParameter", entry, None)
            continue
        append(_HEADS.get((tag, name)) or _head(tag, name))
        opener = _STRING_OPENERS.get(key)
        if opener is not None and type(value) is str:
            append(opener)
            append(value.translate(_ESCAPES) if search(value) else value)
            append('"/>')
        elif key == "part" and type(value) is list:
            _write_parameters(out, value, "part")
        else:
            _write_children(out, {key: value}, "ParametersParameter")
        append(close)


def _write_children(out: list[str], value: dict, kind: str) -> None:
    if kind == "Parameters" and type(value.get("parameter")) is list:
        value = dict(value)
        parameters = value.pop("parameter")
        _write_children(out, value, kind)  # id, meta, ... come before the parameters
        _write_parameters(out, parameters, "parameter")
        return
    keys = tuple(value)
    plan = _PLANS.get((kind, keys)) or _plan(kind, keys)
    append = out.append
    for name, child_kind, repeats, extra_key, simple_start in plan:
        content = value.get(name)
        if simple_start is not None:  # the common case, inline: <name value="..."/>
            text = content if type(content) is str else _text(content, child_kind)
            append(simple_start)
            append(text.translate(_ESCAPES) if _NEEDS_ESCAPE.search(text) else text)
            append('"/>')
        elif not repeats:
            _write_element(out, name, child_kind, content, value[extra_key] if extra_key else None)
        elif extra_key is None:
            for one in content or ():
                _write_element(out, name, child_kind, one, None)
        else:
            extra = value[extra_key]
            contents = content if content is not None else [None] * len(extra)
            for one, more in zip(contents, extra, strict=False):
                _write_element(out, name, child_kind, one, more)


def _text(value, kind: str) -> str:
    return ("true" if value else "false") if kind == "boolean" else str(value)


def _write_element(out: list[str], name: str, kind: str, value, extra: dict | None) -> None:
    if kind in _PRIMITIVES:
        extra = extra or {}
        attributes = f' id="{_escape(extra["id"])}"' if "id" in extra else ""
        if value is not None:
            attributes += f' value="{_escape(_text(value, kind))}"'
        extensions = extra.get("extension")
        if not extensions:
            out.append(f"<{name}{attributes}/>")
            return
        out.append(f"<{name}{attributes}>")
        for extension in extensions:
            _write_element(out, "extension", "Extension", extension, None)
        out.append(f"</{name}>")
    elif kind == "xhtml":
        out.append(_xhtml(value))
    elif kind == "Resource":
        out.append(f"<{name}>")
        _write_resource(out, value)
        out.append(f"</{name}>")
    else:
        attributes = f' id="{_escape(value["id"])}"' if "id" in value else ""
        if kind == "Extension":
            attributes += f' url="{_escape(value.get("url", ""))}"'
        out.append(f"<{name}{attributes}>")
        _write_children(out, value, kind)
        out.append(f"</{name}>")


_XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"
_NO_NARRATIVE = '<div xmlns="http://www.w3.org/1999/xhtml">(narrative left out: it is not well-formed XHTML)</div>'


def _xhtml(div) -> str:
    """A narrative's div: XHTML already, with its own namespace, written as it is when it parses as one."""
    try:
        ok = isinstance(div, str) and etree.fromstring(div.encode(), _PARSER).tag == _XHTML_DIV
    except (etree.XMLSyntaxError, ValueError, UnicodeEncodeError):
        ok = False
    return div if ok else _NO_NARRATIVE


def element(name: str, text: str) -> str:
    """A primitive element: ``<name value="text"/>``."""
    return f'<{name} value="{_escape(text)}"/>'


def _escape(text: str) -> str:
    return text.translate(_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


# ------------------------------------------------------------------------------------------ reading

# No DTDs, no entities (XXE and expansion bombs), no network, no huge nodes; comments dropped.
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True
)


def loads(data: bytes) -> dict:
    """A FHIR resource from its XML form (the body size limit applies before this)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XmlError("FHIR XML must not declare a DTD or entities")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise XmlError(f"The body is not well-formed XML: {error}") from None
    return _read_resource(root)


def _local(element) -> str:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith(_NS):
        raise XmlError(f"<{tag}> is not in the FHIR namespace ({NAMESPACE})")
    return tag[len(_NS) :]


def _read_resource(element) -> dict:
    kind = _local(element)
    if kind not in _TYPES or not _TYPES[kind]["r"]:
        raise XmlError(f"This server does not read {kind} resources in XML")
    resource = {"resourceType": kind}
    _read_children(element, kind, resource)
    return resource


def _read_children(element, kind: str, into: dict) -> None:
    elements = _ELEMENTS[kind]
    primitive_extras: dict[str, list] = {}
    for child in element:
        name = "div" if child.tag == _XHTML_DIV else _local(child)
        if name not in elements or _is_attribute(kind, name):
            raise XmlError(f"<{name}> is not an element of {kind}")
        child_kind, repeats = elements[name]
        extra = None
        if child_kind in _PRIMITIVES:
            value, extra = _read_primitive(child, child_kind, f"{kind}.{name}")
        elif child_kind == "xhtml":
            value = etree.tostring(child, encoding=str, with_tail=False)
        elif child_kind == "Resource":
            inner = list(child)
            if len(inner) != 1:
                raise XmlError(f"<{name}> of {kind} must hold exactly one resource")
            value = _read_resource(inner[0])
        else:
            value = _read_complex(child, child_kind)
        if repeats:
            into.setdefault(name, []).append(value)
            primitive_extras.setdefault(name, []).append(extra)
        elif name in into or "_" + name in into:
            raise XmlError(f"<{name}> appears more than once in {kind}")
        else:
            if value is not None:
                into[name] = value
            if extra is not None:
                into["_" + name] = extra
    for name, extras in primitive_extras.items():
        if any(e is not None for e in extras):
            into["_" + name] = extras
        if all(v is None for v in into[name]):
            del into[name]


def _read_complex(element, kind: str) -> dict:
    value: dict = {}
    if element.get("id") is not None:
        value["id"] = element.get("id")
    if kind == "Extension":
        if element.get("url") is None:
            raise XmlError("An extension needs its url attribute")
        value["url"] = element.get("url")
    _read_children(element, kind, value)
    return value


def _read_primitive(element, kind: str, where: str):
    text = element.get("value")
    extra: dict = {}
    if element.get("id") is not None:
        extra["id"] = element.get("id")
    extensions = []
    for child in element:
        if _local(child) != "extension":
            raise XmlError(f"{where} is a primitive: only extensions may be inside it")
        extensions.append(_read_complex(child, "Extension"))
    if extensions:
        extra["extension"] = extensions
    if text is None and not extra:
        raise XmlError(f"{where} has no value")
    return (None if text is None else _convert(text, kind, where)), (extra or None)


def _convert(text: str, kind: str, where: str):
    try:
        if kind == "boolean":
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if kind == "integer":
            return int(text)
        if kind == "decimal":
            return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        raise XmlError(f"{where}: '{text}' is not a valid {kind}") from None
    return text
