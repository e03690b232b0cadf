"""JSON and XML as XBS writes them, on the client side (D9, D10).

Both formats decode to the same plain values: a document is ``{root: value}``, values are
strings, dicts (element order kept) and lists (repeated elements). Numbers are read as
``Decimal``, never ``float``. XML is parsed with defusedxml (no DTD, no entities, no network).
The server has its own codecs; the client keeps these so that it depends on nothing of the
server.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from xborder.client._errors import ResponseError

WireFormat = Literal["json", "xml"]
FORMATS: tuple[WireFormat, ...] = ("json", "xml")
MEDIA_TYPES: dict[WireFormat, str] = {"json": "application/json", "xml": "application/xml"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
LIST_ELEMENTS = frozenset({"data_field", "Error"})
"""Elements read as lists even when they occur once (JSON sends arrays for them)."""


def media_type(fmt: WireFormat) -> str:
    """The ``Content-Type`` / ``Accept`` value of a format."""
    return MEDIA_TYPES[fmt]


def format_of(content_type: str | None) -> WireFormat | None:
    """The format a response ``Content-Type`` names, or ``None``."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    if value == "application/json" or value.endswith("+json"):
        return "json"
    if value in ("application/xml", "text/xml") or value.endswith("+xml"):
        return "xml"
    return None


def encode(document: Mapping[str, Any], fmt: WireFormat) -> bytes:
    """Serialise ``{root: value}`` once; these bytes are what is signed and sent."""
    if fmt == "json":
        return json_bytes(document)
    parts: list[str] = []
    for name, value in document.items():
        _write(parts, name, value)
    return XML_DECLARATION + "".join(parts).encode("utf-8")


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON; ``Decimal`` values are written as strings (D10)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def decode(data: bytes, fmt: WireFormat) -> Any:
    """Parse a body; raise :class:`ResponseError` when it is not well-formed."""
    if fmt == "json":
        try:
            return json.loads(data.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ResponseError(f"the answer is not JSON: {exc}") from exc
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as exc:
        raise ResponseError(f"the answer is not XML: {exc}") from exc
    return {_local(root.tag): _value(root)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        name = _local(child.tag)
        value = _value(child)
        if name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = [value] if name in LIST_ELEMENTS else value
    return result


def _write(parts: list[str], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _write(parts, name, item)
        return
    parts.append(f"<{name}>")
    if isinstance(value, Mapping):
        for child, child_value in value.items():
            _write(parts, child, child_value)
    elif isinstance(value, bool):
        parts.append("true" if value else "false")
    else:
        parts.append(escape(str(value), {'"': "&quot;", "'": "&apos;"}))
    parts.append(f"</{name}>")
