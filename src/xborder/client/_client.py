"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from xborder.client._base import DEFAULT_TIMEOUT, BaseClient
from xborder.client._core import Call
from xborder.client._encryption import PayloadEncryption
from xborder.client._flows import Flow, RetryPolicy, Send
from xborder.client._models import Account, Cancellation, Payment
from xborder.client._wire import WireFormat

__all__ = ["DEFAULT_TIMEOUT", "XborderClient"]

T = TypeVar("T")


class XborderClient(BaseClient[httpx.Client]):
    """A client of the XBS Payment, Retrieve, Cancel and Balance APIs for one partner.

    Works unchanged against xborder and against Mastercard's hosts: only ``base_url``,
    ``partner_id`` and the keys change.

    Args:
        base_url: e.g. ``http://127.0.0.1:8080`` or ``https://sandbox.api.mastercard.com``.
        partner_id: the partner id the paths carry.
        auth: request signing, normally :class:`OAuth1Auth`; ``None`` sends unsigned requests.
        wire_format: ``"json"`` or ``"xml"`` for payments (the Balance API is JSON only).
        encryption: payload encryption; ``None`` sends and expects plaintext.
        timeout: seconds (or an ``httpx.Timeout``) for every request.
        retry: how calls whose outcome is unknown are retried (see :class:`RetryPolicy`).
        headers: extra headers sent with every request.
        http: an ``httpx.Client`` to use (the caller closes it); excludes ``transport``.
        transport: an ``httpx`` transport for a client made here (e.g. ``MockTransport``).
        sleep: how to pause between retries (tests pass a no-op).
    """

    def __init__(
        self,
        base_url: str,
        partner_id: str,
        *,
        auth: httpx.Auth | None = None,
        wire_format: WireFormat = "json",
        encryption: PayloadEncryption | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            partner_id,
            auth=auth,
            wire_format=wire_format,
            encryption=encryption,
            timeout=timeout,
            retry=retry,
            headers=headers,
            http=http,
            transport=transport,
        )
        self._http = http or httpx.Client(transport=transport, timeout=self._timeout)
        self._sleep = sleep

    def create_payment(self, request: Mapping[str, Any]) -> Payment:
        """Create a payment from the members of a ``paymentrequest`` (docs/reference.md §2.2).

        A retry sends the same bytes, so it can only replay the same payment (D7).
        Raises :class:`ValidationError`, :class:`DeclinedError` (refused at submission),
        :class:`ConflictError` (reference reused), or another :class:`ClientError`.
        """
        return self._run(self._create(request))

    def get_payment(self, payment_id: str) -> Payment:
        """Retrieve a payment by its id. Raises :class:`NotFoundError` (110507)."""
        return self._run(self._get(payment_id))

    def find_payment(self, reference: str) -> Payment:
        """Retrieve a payment by its transaction reference. Raises :class:`NotFoundError`."""
        return self._run(self._find(reference))

    def cancel_payment(self, id_or_reference: str) -> Cancellation:
        """Cancel a PENDING payment by id or by transaction reference (D1, D2).

        Raises :class:`DeclinedError` (130111: not cancellable) or :class:`NotFoundError`.
        """
        return self._run(self._cancel(id_or_reference))

    def get_accounts(self, *, include_balance: bool | None = None) -> list[Account]:
        """The partner's prefunded accounts, with balances when ``include_balance``."""
        return self._run(self._accounts(include_balance))

    def get_account(self, account_id: str, *, include_balance: bool | None = None) -> Account:
        """One prefunded account. Raises :class:`NotFoundError` for an unknown id."""
        return self._run(self._account(account_id, include_balance))

    def close(self) -> None:
        """Close the HTTP client, unless it was passed in."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> XborderClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, flow: Flow[T]) -> T:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                reply: Any = self._send(step.call)
            else:
                self._sleep(step.seconds)
                reply = None
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _send(self, call: Call) -> httpx.Response | httpx.HTTPError:
        try:
            return self._http.send(self._request(call), auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            return exc
