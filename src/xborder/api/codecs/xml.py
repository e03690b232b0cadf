"""XML: hardened parsing (defusedxml's rules on the standard library's expat), and a small
serialiser.

Parsing refuses DTDs, entity declarations and external references, and never touches the
network; documents deeper than :data:`MAX_DEPTH` are refused. Element names equal JSON
member names (D10); attributes and namespaces carry no meaning in XBS and are ignored.

:meth:`XmlCodec.decode` is defusedxml's ``fromstring(forbid_dtd=True, forbid_entities=True,
forbid_external=True)`` without its pure-Python layer: the same expat configuration (namespace
separator ``}``, buffered text), the same refusals raising defusedxml's own exceptions from
the same expat callbacks, and the same C ``TreeBuilder`` fed by expat directly, so every
document gives the value, or the error message, it gave through defusedxml.
``tests/unit/test_xml_decode_equivalence.py`` checks that against defusedxml itself. This
stand-in for defusedxml's parser stays only while ``make bench`` shows it matters (issue 16;
the figure and the rule are in docs/performance.md, "Stand-ins").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, NoReturn
from xml.parsers.expat import ExpatError, ParserCreate
from xml.sax.saxutils import escape

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from xborder.api.codecs.base import NULL, DecodeError, Document

MAX_DEPTH = 32
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
INDENT = "    "
"""Output is laid out as Mastercard's samples are: a JAXB marshaller with formatted output
(``standalone="yes"``, four-space indentation)."""

XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance}nil"
"""``xsi:nil="true"`` marks a null (JAXB writes it for nillable fields): read as absent.
Spelt as expat names it (``uri}local``): ElementTree's ``{uri}local`` without the brace."""

LIST_ELEMENTS = frozenset({"data_field"})
"""Elements that are always lists, even when they occur once (JSON sends arrays for them)."""


class XmlCodec:
    """``application/xml`` (``text/xml`` is read the same way)."""

    name = "xml"
    media_type = "application/xml"

    def decode(self, data: bytes) -> Document:
        root = _parse(data)
        return {_local(root.tag): _value(root, 1)}

    def encode(self, document: Document) -> bytes:
        parts: list[str] = []
        for name, value in document.items():
            _write(parts, name, value, 0)
        return DECLARATION + "".join(parts).encode("utf-8")


def _parse(data: bytes) -> ET.Element:
    """The element tree of ``data``, built as defusedxml builds it (see the module docstring)."""
    parser = ParserCreate(None, "}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
    parser.ExternalEntityRefHandler = _refuse_external_reference
    builder = ET.TreeBuilder()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.CommentHandler = builder.comment
    parser.ProcessingInstructionHandler = builder.pi
    parser.buffer_text = True
    # ElementTree's Python parser also has a default handler, for entity references expat
    # hands over unexpanded; expat does that only after a DTD, which is refused first.
    try:
        parser.Parse(data, False)
        parser.Parse(b"", True)
    except (ExpatError, ValueError) as exc:  # defusedxml's refusals are ValueErrors
        raise DecodeError(str(exc)) from exc
    except LookupError as exc:  # an encoding Python does not know
        raise DecodeError(f"unknown encoding: {exc}") from exc
    return builder.close()


def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, _internal: bool) -> NoReturn:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(
    name: str,
    _parameter: bool,
    value: str | None,
    base: str | None,
    sysid: str,
    pubid: str | None,
    notation: str | None,
) -> NoReturn:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _refuse_unparsed_entity(
    name: str, base: str | None, sysid: str, pubid: str | None, notation: str
) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _refuse_external_reference(
    context: str, base: str | None, sysid: str | None, pubid: str | None
) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: ET.Element, depth: int) -> Any:
    """The value of ``element`` at ``depth`` (the root is 1); deeper than MAX_DEPTH is refused."""
    if not len(element):
        if element.get(XSI_NIL, "").strip() in ("true", "1"):
            return None
        return element.text or ""
    if depth >= MAX_DEPTH:
        raise DecodeError(f"XML nested deeper than {MAX_DEPTH}")
    result: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        value = _value(child, depth + 1)
        if name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        elif name in LIST_ELEMENTS:
            result[name] = [value]
        else:
            result[name] = value
    return result


def _write(parts: list[str], name: str, value: Any, depth: int) -> None:
    if value is None or value is NULL:
        return
    if isinstance(value, list):
        for item in value:
            _write(parts, name, item, depth)
        return
    indent = INDENT * depth
    if isinstance(value, dict):
        parts.append(f"{indent}<{name}>\n")
        for child, child_value in value.items():
            _write(parts, child, child_value, depth + 1)
        parts.append(f"{indent}</{name}>\n")
        return
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if _SPECIAL.search(text):
        text = escape(text, _QUOTES)
    parts.append(f"{indent}<{name}>{text}</{name}>\n")


_QUOTES = {'"': "&quot;", "'": "&apos;"}
_SPECIAL = re.compile("[&<>\"']")
"""A character :func:`escape` (with ``_QUOTES``) replaces; text without one is written as is."""


XML = XmlCodec()
