"""What the sync and async clients share, without any I/O: the URL, headers and body of each
call, and the reading of each answer (decryption, decoding, errors, typed results).

Bodies are serialised (and encrypted) once per call; a retried call sends the same bytes,
and only the signature is made anew (D7 makes a repeated create a safe replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from xborder import __version__
from xborder.client import _wire
from xborder.client._encryption import PayloadEncryption, is_encrypted
from xborder.client._errors import (
    ApiError,
    ResponseError,
    TransportError,
    error_class,
    error_items,
)
from xborder.client._models import Account, Payment

__all__ = ["Answer", "Call", "Core"]

PAYMENTS = "/send/v1/partners/{partner}/crossborder"
ACCOUNTS = "/send/partners/{partner}/crossborder/accounts"
USER_AGENT = f"xborder-client/{__version__}"
CANCEL_BODY: dict[str, Any] = {"cancelpaymentrequest": {}}
"""What Mastercard's reference client sends (D1 accepts it, and ``""``, and no body)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request to send, perhaps more than once: everything but the signature."""

    name: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes = b""


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: its decoded plaintext document and the plaintext bytes."""

    status: int
    document: Any
    raw: bytes


class Core:
    """Builds calls for one partner and reads their answers."""

    def __init__(
        self,
        base_url: str,
        partner_id: str,
        wire_format: _wire.WireFormat,
        encryption: PayloadEncryption | None,
        headers: Mapping[str, str] | None,
    ) -> None:
        if not partner_id:
            raise ValueError("partner_id must not be empty")
        if wire_format not in _wire.FORMATS:
            raise ValueError(f"wire_format must be one of {_wire.FORMATS}")
        self.base_url = base_url.rstrip("/")
        self.partner_id = partner_id
        self.wire_format = wire_format
        self.encryption = encryption
        self._extra = tuple((headers or {}).items())

    def create(self, request: Mapping[str, Any]) -> Call:
        """``POST …/payment`` with ``{"paymentrequest": request}``."""
        return self._with_body("create", self._payments("/payment"), {"paymentrequest": request})

    def get(self, payment_id: str) -> Call:
        """``GET …/crossborder/{payment-id}``."""
        return self._without_body("get", self._payments("/" + _segment(payment_id)))

    def find(self, reference: str) -> Call:
        """``GET …/crossborder?ref={reference}``."""
        return self._without_body("find", self._payments("?ref=" + _segment(reference)))

    def cancel(self, key: str) -> Call:
        """``POST …/crossborder/{payment-id or reference}/cancel`` (D1, D2)."""
        return self._with_body("cancel", self._payments(f"/{_segment(key)}/cancel"), CANCEL_BODY)

    def accounts(self, account_id: str | None, include_balance: bool | None) -> Call:
        """``GET …/accounts[/{account_id}][?include_balance=]``: JSON only
        (docs/reference.md §12)."""
        url = self.base_url + ACCOUNTS.format(partner=_segment(self.partner_id))
        if account_id is not None:
            url += "/" + _segment(account_id)
        if include_balance is not None:
            url += "?include_balance=" + ("true" if include_balance else "false")
        return self._without_body("accounts", url, "json")

    def read(self, call: Call, outcome: httpx.Response | Exception) -> Answer:
        """The answer to ``call``; raises the :class:`ClientError` it stands for."""
        if isinstance(outcome, httpx.TransportError):
            raise TransportError(f"{call.name}: no answer: {outcome!r}") from outcome
        if isinstance(outcome, Exception):
            raise ResponseError(f"{call.name}: unusable answer: {outcome!r}") from outcome
        fmt = _wire.format_of(outcome.headers.get("content-type"))
        if not outcome.is_success:
            raise _api_error(outcome, fmt)
        if fmt is None:
            kind = outcome.headers.get("content-type")
            raise ResponseError(f"{call.name}: an answer of type {kind!r}")
        return self._plaintext(outcome.status_code, outcome.content, fmt)

    def payment(self, answer: Answer) -> Payment:
        """The :class:`Payment` of a ``payment`` document."""
        return Payment.parse(_root(answer, "payment"), answer.raw)

    def cancel_status(self, answer: Answer) -> str:
        """The ``status`` of a ``cancelpayment`` document."""
        return str(_root(answer, "cancelpayment").get("status") or "")

    def account_list(self, answer: Answer) -> list[Account]:
        """The accounts of a Balance API list (a JSON array)."""
        if not isinstance(answer.document, list):
            raise ResponseError("the accounts answer is not a list")
        return [Account.parse(item) for item in answer.document if isinstance(item, Mapping)]

    def account(self, answer: Answer) -> Account:
        """The account of a Balance API answer (a JSON object)."""
        if not isinstance(answer.document, Mapping):
            raise ResponseError("the account answer is not an object")
        return Account.parse(answer.document)

    def _payments(self, suffix: str) -> str:
        return self.base_url + PAYMENTS.format(partner=_segment(self.partner_id)) + suffix

    def _with_body(self, name: str, url: str, document: Mapping[str, Any]) -> Call:
        fmt = self.wire_format
        content = _wire.encode(document, fmt)
        if self.encryption is not None:
            content = self.encryption.encrypt(content, fmt)
        headers = (("Content-Type", _wire.media_type(fmt)), *self._headers(fmt))
        return Call(name, "POST", url, headers, content)

    def _without_body(self, name: str, url: str, fmt: _wire.WireFormat | None = None) -> Call:
        return Call(name, "GET", url, self._headers(fmt or self.wire_format))

    def _headers(self, fmt: _wire.WireFormat) -> tuple[tuple[str, str], ...]:
        headers = [("Accept", _wire.media_type(fmt)), ("User-Agent", USER_AGENT)]
        if self.encryption is not None:
            headers.append(("x-encrypted", "true"))
        return (*headers, *self._extra)

    def _plaintext(self, status: int, body: bytes, fmt: _wire.WireFormat) -> Answer:
        document = _wire.decode(body, fmt)
        if is_encrypted(document):
            if self.encryption is None:
                raise ResponseError("the answer is encrypted and no decryption key is set")
            body = self.encryption.decrypt(body, fmt)
            document = _wire.decode(body, fmt)
        return Answer(status, document, body)


def _api_error(response: httpx.Response, fmt: _wire.WireFormat | None) -> ApiError:
    items = []
    if fmt is not None:
        try:
            items = error_items(_wire.decode(response.content, fmt))
        except ResponseError:
            items = []
    first = items[0] if items else None
    cls = error_class(
        response.status_code,
        first.reason_code if first else None,
        first.source if first else None,
    )
    return cls(response.status_code, items, response.content)


def _root(answer: Answer, root: str) -> Mapping[str, Any]:
    value = answer.document.get(root) if isinstance(answer.document, Mapping) else None
    if not isinstance(value, Mapping):
        raise ResponseError(f"the answer has no {root} element")
    return value


def _segment(value: str) -> str:
    """Percent-encode one path segment or query value; ``/`` included (D2)."""
    if not value:
        raise ValueError("an id, reference or partner id must not be empty")
    return quote(value, safe="")
