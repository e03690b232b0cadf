"""Wire codecs: JSON and XML both decode to, and encode from, the same plain dicts."""

from xborder.api.codecs.base import NULL, Codec, DecodeError
from xborder.api.codecs.json import JSON
from xborder.api.codecs.xml import XML

__all__ = ["JSON", "NULL", "XML", "Codec", "DecodeError"]
