"""Pick codecs from ``Content-Type`` and ``Accept`` (D9)."""

from __future__ import annotations

from functools import lru_cache

from xborder.api.codecs import JSON, XML, Codec
from xborder.api.problems import NotAcceptable

_BY_MEDIA_TYPE: dict[str, Codec] = {
    "application/json": JSON,
    "application/xml": XML,
    "text/xml": XML,
}
_WILDCARDS = frozenset({"*/*", "application/*"})


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def codec_for_content_type(content_type: str | None) -> Codec | None:
    """The codec a ``Content-Type`` names, or None when absent or unsupported."""
    if not content_type:
        return None
    return _BY_MEDIA_TYPE.get(_media_type(content_type))


def response_codec(accept: str | None, content_type: str | None) -> Codec:
    """See :func:`_response_codec`; the answers for the short header pairs clients repeat
    on every request are remembered."""
    if len(accept or "") + len(content_type or "") <= _CACHED_UP_TO:
        return _cached_response_codec(accept, content_type)
    return _response_codec(accept, content_type)


_CACHED_UP_TO = 256


@lru_cache(maxsize=512)
def _cached_response_codec(accept: str | None, content_type: str | None) -> Codec:
    return _response_codec(accept, content_type)


def _response_codec(accept: str | None, content_type: str | None) -> Codec:
    """The response format: from ``Accept``; when absent or a wildcard, from the request's
    ``Content-Type``; when that is absent too, JSON (D9).

    Raises:
        NotAcceptable: ``Accept`` names neither JSON nor XML.
    """
    request_codec = codec_for_content_type(content_type)
    fallback = request_codec or JSON
    if accept is None or not accept.strip():
        return fallback
    best: list[Codec] = []
    for media_type in _best(accept):
        codec = fallback if media_type in _WILDCARDS else _BY_MEDIA_TYPE.get(media_type)
        if codec is not None:
            best.append(codec)
    if not best:
        raise NotAcceptable()
    # Among equally preferred formats, answer in the request's own: Spring's RestTemplate
    # (Mastercard's reference client) sends "application/xml, text/xml, application/json, ..."
    # and reads the answer in its request's format.
    return request_codec if request_codec in best else best[0]


def _best(accept: str) -> list[str]:
    """The media types of an Accept header that share the highest quality, in their order;
    when none of those is JSON, XML or a wildcard, the next quality level, and so on."""
    ranked = _ranked(accept)
    levels = sorted({q for q, _, _ in ranked})
    for level in levels:
        names = [m for q, _, m in ranked if q == level]
        if any(m in _BY_MEDIA_TYPE or m in _WILDCARDS for m in names):
            return names
    return []


def _ranked(accept: str) -> list[tuple[float, int, str]]:
    """Media types of an Accept header, best first (q=0 dropped, ties keep their order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept.split(",")):
        media_type, *params = item.split(";")
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality > 0 and media_type.strip():
            ranked.append((-quality, index, media_type.strip().lower()))
    return sorted(ranked)
