"""What the sync and async clients share above the I/O: their settings, the request each
:class:`Call` becomes, and the flow behind each public call. A client adds only how the
flow's steps are performed, blocking or awaiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx

from xborder.client import _flows
from xborder.client._core import Call, Core
from xborder.client._encryption import PayloadEncryption
from xborder.client._flows import Flow, RetryPolicy
from xborder.client._models import Account, Cancellation, Payment
from xborder.client._wire import WireFormat

__all__ = ["DEFAULT_TIMEOUT", "BaseClient"]

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
DEFAULT_TIMEOUT = 40.0
"""Seconds before a call counts as timed out: Mastercard advises at least 40
(docs/reference.md §9)."""


class BaseClient(Generic[H]):
    """The settings and flows of a client whose HTTP client is an ``H``."""

    _http: H

    def __init__(
        self,
        base_url: str,
        partner_id: str,
        *,
        auth: httpx.Auth | None,
        wire_format: WireFormat,
        encryption: PayloadEncryption | None,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | None,
        headers: Mapping[str, str] | None,
        http: H | None,
        transport: object,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("pass http or transport, not both")
        self._core = Core(base_url, partner_id, wire_format, encryption, headers)
        self._auth = auth
        self._timeout = httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._owned = http is None

    def _create(self, request: Mapping[str, Any]) -> Flow[Payment]:
        return _flows.payment(self._core, self._core.create(request), self._retry)

    def _get(self, payment_id: str) -> Flow[Payment]:
        return _flows.payment(self._core, self._core.get(payment_id), self._retry)

    def _find(self, reference: str) -> Flow[Payment]:
        return _flows.payment(self._core, self._core.find(reference), self._retry)

    def _cancel(self, id_or_reference: str) -> Flow[Cancellation]:
        return _flows.cancel(self._core, id_or_reference, self._retry)

    def _accounts(self, include_balance: bool | None) -> Flow[list[Account]]:
        answer = yield from self._exchange(self._core.accounts(None, include_balance))
        return self._core.account_list(answer)

    def _account(self, account_id: str, include_balance: bool | None) -> Flow[Account]:
        answer = yield from self._exchange(self._core.accounts(account_id, include_balance))
        return self._core.account(answer)

    def _exchange(self, call: Call) -> Flow[Any]:
        return _flows.exchange(self._core, call, self._retry)

    def _request(self, call: Call) -> httpx.Request:
        return self._http.build_request(
            call.method, call.url, headers=call.headers, content=call.content, timeout=self._timeout
        )
