"""XML: hardened parsing with defusedxml, and a small serialiser.

Parsing refuses DTDs, entity declarations and external references, and never touches the
network; documents deeper than :data:`MAX_DEPTH` are refused. Element names equal JSON
member names (D10); attributes and namespaces carry no meaning in XBS and are ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from xborder.api.codecs.base import NULL, DecodeError, Document

MAX_DEPTH = 32
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
INDENT = "    "
"""Output is laid out as Mastercard's samples are: a JAXB marshaller with formatted output
(``standalone="yes"``, four-space indentation)."""

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
"""``xsi:nil="true"`` marks a null (JAXB writes it for nillable fields): read as absent."""

LIST_ELEMENTS = frozenset({"data_field"})
"""Elements that are always lists, even when they occur once (JSON sends arrays for them)."""


class XmlCodec:
    """``application/xml`` (``text/xml`` is read the same way)."""

    name = "xml"
    media_type = "application/xml"

    def decode(self, data: bytes) -> Document:
        try:
            root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (DefusedXmlException, ET.ParseError, ValueError) as exc:
            raise DecodeError(str(exc)) from exc
        return {_local(root.tag): _value(root, 1)}

    def encode(self, document: Document) -> bytes:
        parts: list[str] = []
        for name, value in document.items():
            _write(parts, name, value, 0)
        return DECLARATION + "".join(parts).encode("utf-8")


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
