"""The XML codec decodes exactly as it did through defusedxml (differential tests).

``XML.decode`` drives expat itself (see ``xborder/api/codecs/xml.py``). The oracle here is
the decoder it replaced, kept verbatim: defusedxml's ``fromstring`` with DTDs, entities and
external references forbidden, then the same walk to a value. For every input both must give
the same value (same types, same member order) or a :class:`DecodeError` with the same message
(the message is what the API puts in the error envelope).

Inputs: the golden samples, every prefix of two of them, hostile documents (DTDs, entities,
external references, billion laughs, deep nesting), a hand-made corpus of edge cases
(namespaces, ``xsi:nil``, CDATA, comments, processing instructions, encodings, character
references, malformed markup), and three generators: well-formed trees, token soups built from
XML's syntax, and arbitrary bytes.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from xborder.api.codecs import XML, DecodeError
from xborder.api.codecs.xml import LIST_ELEMENTS, MAX_DEPTH

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"
PROPERTY = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- the oracle: the defusedxml decoder, as it was ----------------------------------------------

_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def defused_decode(data: bytes) -> dict[str, Any]:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as exc:
        raise DecodeError(str(exc)) from exc
    return {_local(root.tag): _value(root, 1)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: ET.Element, depth: int) -> Any:
    if not len(element):
        if element.get(_XSI_NIL, "").strip() in ("true", "1"):
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


def outcome(decode: Any, data: bytes) -> tuple[str, str]:
    """``("value", repr)``, ``("error", message)`` for a DecodeError, or the type and message
    of anything else raised; repr keeps types and member order."""
    try:
        return "value", repr(decode(data))
    except DecodeError as exc:
        return "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - what escapes must escape alike
        return type(exc).__name__, str(exc)


def assert_same(data: bytes) -> tuple[str, str]:
    expected = outcome(defused_decode, data)
    if expected[0] == "LookupError":  # the one fix: an unknown encoding is a DecodeError now
        expected = ("error", f"unknown encoding: {expected[1]}")
    assert outcome(XML.decode, data) == expected, data
    return expected


# --- the corpus ---------------------------------------------------------------------------------

_GOLDEN = {path.name: path.read_bytes() for path in sorted(GOLDEN.glob("*.xml"))}

_LAUGHS = b"".join(
    b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10)
)
_XSI = b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'

HOSTILE = {
    "dtd": b"<!DOCTYPE r><r/>",
    "dtd-public": b'<!DOCTYPE r PUBLIC "-//X//Y" "http://192.0.2.1/r.dtd"><r/>',
    "dtd-system": b'<!DOCTYPE r SYSTEM "http://192.0.2.1/r.dtd"><r/>',
    "dtd-empty-subset": b"<!DOCTYPE r []><r/>",
    "dtd-element": b"<!DOCTYPE r [<!ELEMENT r ANY>]><r/>",
    "dtd-attlist-default-nil": b"<!DOCTYPE r [<!ATTLIST a nil CDATA 'true'>]><r><a/></r>",
    "dtd-only": b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ELEMENT r (#PCDATA)>]>',
    "dtd-after-root": b"<r/><!DOCTYPE r>",
    "dtd-unclosed": b"<!DOCTYPE r [<!ENTITY e 'x'>",
    "dtd-malformed": b"<!DOCTYPE r SYSTEM><r/>",
    "internal-entity": b'<!DOCTYPE r [<!ENTITY e "expanded">]><r>&e;</r>',
    "billion-laughs": b"<!DOCTYPE r [" + _LAUGHS + b"]><r>&l9;</r>",
    "quadratic-blowup": b'<!DOCTYPE r [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><r>'
    + b"&a;" * 1000
    + b"</r>",
    "external-entity-file": b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]><r>&e;</r>',
    "external-entity-url": b'<!DOCTYPE r [<!ENTITY e SYSTEM "http://192.0.2.1/e">]><r>&e;</r>',
    "external-entity-public": b'<!DOCTYPE r [<!ENTITY e PUBLIC "p" "http://192.0.2.1/e">]><r/>',
    "parameter-entity": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://192.0.2.1/p"> %p;]><r/>',
    "parameter-entity-internal": b"<!DOCTYPE r [<!ENTITY % p '<!ENTITY e \"x\">'> %p;]><r/>",
    "unparsed-entity": (
        b'<!DOCTYPE r [<!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "http://192.0.2.1/u" NDATA n>]>'
        b"<r/>"
    ),
    "notation": b'<!DOCTYPE r [<!NOTATION n SYSTEM "http://192.0.2.1/n">]><r/>',
    "entity-in-attribute": b"<!DOCTYPE r [<!ENTITY e 'x'>]><r a='&e;'/>",
    "undeclared-entity": b"<r>&e;</r>",
    "undeclared-entity-in-attribute": b"<r a='&e;'/>",
    "undeclared-entity-standalone": b'<?xml version="1.0" standalone="yes"?><r>&e;</r>',
    "xinclude": (
        b'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/hostname" parse="text"/></r>'
    ),
    "xml-stylesheet-pi": b'<?xml-stylesheet href="http://192.0.2.1/s.xsl"?><r/>',
    "deep": b"<a>" * 10_000 + b"x" + b"</a>" * 10_000,
    "deep-unclosed": b"<a>" * 10_000,
    "deep-then-malformed": b"<a>" * 40 + b"</a>" * 40 + b"<b/>",
    "deep-then-dtd-error": b"<r>" + b"<a>" * 40 + b"<!DOCTYPE r>" + b"</a>" * 40 + b"</r>",
    "at-the-limit": b"<a>" * MAX_DEPTH + b"x" + b"</a>" * MAX_DEPTH,
    "over-the-limit": b"<a>" * (MAX_DEPTH + 1) + b"x" + b"</a>" * (MAX_DEPTH + 1),
    "over-the-limit-empty": b"<a>" * MAX_DEPTH + b"<b/>" + b"</a>" * MAX_DEPTH,
    "wide": b"<r>" + b"<data_field><name>n</name></data_field>" * 5_000 + b"</r>",
}
"""192.0.2.0/24 is TEST-NET-1: never routed."""

HARMLESS = frozenset({"xinclude", "xml-stylesheet-pi", "at-the-limit", "wide"})
"""Hostile-looking documents that decode: XInclude and stylesheets are never processed."""

EDGE_CASES = [
    b"",
    b" ",
    b"<",
    b"<r",
    b"<r>",
    b"<r/>",
    b"<r></r>",
    b"<r></s>",
    b"<a/><b/>",
    b"<r/>trailing",
    b"<r/>\n\n",
    b"\n<r/>",
    b"not xml",
    b"<r>\x01</r>",
    b"<r>\x00</r>",
    b"\xff\xfe<r/>",
    b"<r>\xff</r>",
    b"<r>\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80</r>",
    b"\xef\xbb\xbf<r>bom</r>",
    "<r>utf-16 é</r>".encode("utf-16"),
    "<r>utf-16-le</r>".encode("utf-16-le"),
    "<r>utf-16-be</r>".encode("utf-16-be"),
    '<?xml version="1.0" encoding="UTF-16"?><r>x</r>'.encode("utf-16"),
    b'<?xml version="1.0" encoding="UTF-16"?><r>x</r>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?><r>\xe9</r>',
    b'<?xml version="1.0" encoding="windows-1252"?><r>\x80\xe9</r>',
    b'<?xml version="1.0" encoding="EUC-JP"?><r>x</r>',
    b'<?xml version="1.0" encoding="Shift_JIS"?><r>x</r>',
    b'<?xml version="1.0" encoding="ascii"?><r>\xe9</r>',
    b'<?xml version="2.0"?><r/>',
    b'<?xml version="1.1"?><r/>',
    b'<?xml version="1.0" standalone="no"?><r/>',
    b' <?xml version="1.0"?><r/>',
    b'<r/><?xml version="1.0"?>',
    b"<?pi data?><r><?pi inside?>x<?pi?>y</r><?pi after?>",
    b"<?xml-model href='x'?><r/>",
    b"<?XML version='1.0'?><r/>",
    b"<!-- c --><r><!-- c -->x<!-- c -->y</r><!-- c -->",
    b"<r>x<!-- a -- b -->y</r>",
    b"<r><a>x</a><!-- c --><a>y</a></r>",
    b"<r><![CDATA[<not>&markup;]]></r>",
    b"<r>a<![CDATA[b]]>c<![CDATA[]]></r>",
    b"<r><![CDATA[x</r>",
    b"<r>]]></r>",
    b"<r>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;</r>",
    b"<r>&#0;</r>",
    b"<r>&#x110000;</r>",
    b"<r>&#xD800;</r>",
    b"<r>&amp</r>",
    b"<r>& </r>",
    b"<r>\r\n\r x \t</r>",
    b"<r>  </r>",
    b"<r>\n  <a>1</a>\n  <b>  2  </b>\n</r>",
    b"<r>text<a>1</a>tail</r>",
    b"<r><a>1</a><a>2</a><a>3</a><b/><a>4</a></r>",
    b"<r><a><x>1</x></a><a>2</a><a><x>3</x><x>4</x></a></r>",
    b"<r><data_field/></r>",
    b"<r><data_field><name>1</name></data_field></r>",
    b"<r><data_field>a</data_field><data_field>b</data_field></r>",
    b"<data_field><data_field>x</data_field></data_field>",
    b'<r a="1" a="2"/>',
    b"<r a='1' b=\"2\" c='&lt;&#9;\t\n'/>",
    b"<r a=1/>",
    b'<r a="<"/>',
    b'<x:r xmlns:x="urn:x"><x:a>1</x:a><a>2</a></x:r>',
    b'<r xmlns="urn:d"><a>1</a><a xmlns="">2</a></r>',
    b'<r xmlns:x="urn:a}b"><x:a>1</x:a></r>',
    b'<r xmlns:x="urn:a"><x:a>1</x:a><y:a>2</y:a></r>',
    b'<r xmlns:x=""/>',
    b'<r xmlns:xml="urn:wrong"/>',
    b'<r xmlns:xmlns="urn:x"/>',
    b'<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>',
    b'<r xml:lang="en" xml:space="preserve"> x </r>',
    b"<:r/>",
    b"<r:/>",
    b"<a:b:c/>",
    b"<r" + b" " + _XSI + b' xsi:nil="true"/>',
    b"<r " + _XSI + b'><a xsi:nil="true"/><b xsi:nil="1"/><c xsi:nil=" true "/></r>',
    b"<r " + _XSI + b'><a xsi:nil="false">x</a><b xsi:nil="TRUE">y</b><c xsi:nil="">z</c></r>',
    b"<r " + _XSI + b'><a xsi:nil="true">text</a><b xsi:nil="true"><c>1</c></b></r>',
    b"<r " + _XSI + b'><a xsi:nil="\xc2\xa0true\xe3\x80\x80"/><b xsi:nil="\ttrue\n"/></r>',
    b'<r xmlns:n="http://www.w3.org/2001/XMLSchema-instance"><a n:nil="true"/></r>',
    b'<r xmlns:xsi="urn:other"><a xsi:nil="true"/></r>',
    b'<r><a nil="true"/><b xsi:nil="true"/></r>',
    b'<r xmlns="http://www.w3.org/2001/XMLSchema-instance"><a nil="true"/></r>',
    b'<r xmlns:x="http://www.w3.org/2001/XMLSchema-instance}nil"><a x:q="true"/></r>',
    b"<r " + _XSI + b' xsi:nil="true"><data_field xsi:nil="true"/></r>',
    b"<cancelpaymentrequest>  \n</cancelpaymentrequest>",
    b'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="x"/></r>',
    b"<r>" + b"x" * 100_000 + b"</r>",
    b"<r>" + b"&amp;" * 20_000 + b"</r>",
]


def _prefixes(data: bytes) -> list[bytes]:
    return [data[:end] for end in range(len(data) + 1)]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the XML parser tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("data", list(_GOLDEN.values()), ids=list(_GOLDEN))
def test_golden_samples_decode_as_before(data: bytes) -> None:
    assert assert_same(data)[0] == "value"


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_documents_get_what_they_got_before(name: str) -> None:
    kind, _ = assert_same(HOSTILE[name])
    assert kind == ("value" if name in HARMLESS else "error")


@pytest.mark.parametrize("data", EDGE_CASES, ids=[repr(case[:40]) for case in EDGE_CASES])
def test_edge_cases_decode_as_before(data: bytes) -> None:
    assert_same(data)


@pytest.mark.parametrize("name", ["cancel_request.xml", "payment_request_with_quote.xml"])
def test_every_prefix_of_a_sample_decodes_as_before(name: str) -> None:
    for prefix in _prefixes(_GOLDEN[name]):
        assert_same(prefix)


@pytest.mark.parametrize("name", ["ref_client_payment_request.xml", "payment_request_docs.xml"])
def test_every_one_byte_change_of_a_sample_decodes_as_before(name: str) -> None:
    data = _GOLDEN[name]
    for position in range(0, len(data), 3):
        for byte in (b"<", b">", b"&", b"/", b"!", b"\x00", b"\xff", b"x"):
            assert_same(data[:position] + byte + data[position + 1 :])


# --- generated documents ------------------------------------------------------------------------

_NAMES = st.sampled_from(["r", "a", "b", "data_field", "name", "value", "x:a", "xsi:nil", "é"])
_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(["&amp;", "&lt;", "&#65;", "&#x0;", "&e;", "]]>", "<", "&", " ", "\n"]),
    ),
    max_size=12,
).map("".join)
_XSI_URI = "http://www.w3.org/2001/XMLSchema-instance"
_ATTRIBUTE_VALUES = {
    "xsi:nil": ["true", "1", " true ", "false", "", "TRUE"],
    "nil": ["true"],
    "x:nil": ["true", "1"],
    "xmlns:xsi": [_XSI_URI, "urn:other"],
    "xmlns:x": ["urn:x", _XSI_URI],
    "xmlns": ["urn:d", ""],
    "a": ["1", "&lt;"],
}


def _attributes(names: list[str]) -> st.SearchStrategy[str]:
    values = [st.sampled_from(_ATTRIBUTE_VALUES[name]) for name in names]
    return st.tuples(*values).map(
        lambda chosen: "".join(
            f' {name}="{value}"' for name, value in zip(names, chosen, strict=True)
        )
    )


_ATTRIBUTES = st.lists(st.sampled_from(sorted(_ATTRIBUTE_VALUES)), unique=True, max_size=3).flatmap(
    _attributes
)
_MISC = st.sampled_from(
    ["", " ", "\n    ", "<!-- c -->", "<?pi x?>", "<![CDATA[c<&>]]>", "<![CDATA[]]>", "&#10;"]
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        "<{0}{1}>{2}</{0}>".format,
        _NAMES,
        _ATTRIBUTES,
        st.lists(st.one_of(children, _TEXT, _MISC), max_size=4).map("".join),
    )


_TREES = st.recursive(
    st.one_of(_TEXT, st.builds("<{}{}/>".format, _NAMES, _ATTRIBUTES)),
    _element,
    max_leaves=25,
)
_PROLOGS = st.sampled_from(
    [
        "",
        '<?xml version="1.0"?>',
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
        '<?xml version="1.0" encoding="utf-8" ?>\n<!-- c -->\n',
        "\n",
    ]
)
_DOCUMENTS = st.builds(
    '{}<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{}</r>{}'.format,
    _PROLOGS,
    st.lists(_TREES, max_size=4).map("".join),
    st.sampled_from(["", "\n", "<!-- c -->", "<?pi?>", "<r/>", "x", "<!DOCTYPE r>"]),
)


@PROPERTY
@given(document=_DOCUMENTS)
@example(document='<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><a xsi:nil="1"/></r>')
def test_generated_documents_decode_as_before(document: str) -> None:
    assert_same(document.encode("utf-8"))


_TOKENS = st.sampled_from(
    [
        "<r>",
        "</r>",
        "<a>",
        "</a>",
        "<data_field>",
        "</data_field>",
        "<b/>",
        "<x:a>",
        "</x:a>",
        '<r xmlns:x="urn:x">',
        '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true">',
        "<!DOCTYPE r>",
        "<!DOCTYPE r [",
        "<!ENTITY e 'x'>",
        '<!ENTITY e SYSTEM "http://192.0.2.1/e">',
        "<!ENTITY % p 'x'>",
        "%p;",
        "]>",
        "&e;",
        "&amp;",
        "&#38;",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?pi ",
        "?>",
        '<?xml version="1.0"?>',
        "text",
        " ",
        "\n",
        "<",
        ">",
        "&",
        '"',
        "=",
        "\x00",
        "é",
    ]
)


@PROPERTY
@given(tokens=st.lists(_TOKENS, max_size=30))
@example(tokens=["<r>", "<!DOCTYPE r>", "</r>"])
@example(tokens=['<?xml version="1.0"?>', "<!DOCTYPE r [", "<!ENTITY e 'x'>", "]>", "<r>", "&e;"])
def test_token_soups_decode_as_before(tokens: list[str]) -> None:
    assert_same("".join(tokens).encode("utf-8"))


@PROPERTY
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_decode_as_before(data: bytes) -> None:
    assert_same(data)


@PROPERTY
@given(depth=st.integers(1, 80), leaf=st.sampled_from(["x", "", "<b/>", "<b>1</b><b>2</b>"]))
def test_nesting_around_the_limit_decodes_as_before(depth: int, leaf: str) -> None:
    assert_same((b"<a>" * depth) + leaf.encode() + (b"</a>" * depth))


def test_an_unknown_encoding_is_a_decode_error_not_a_crash() -> None:
    # the one deliberate difference: the defusedxml decoder let LookupError escape (a 500)
    with pytest.raises(DecodeError, match="unknown encoding"):
        XML.decode(b'<?xml version="1.0" encoding="no-such-encoding"?><r>x</r>')
