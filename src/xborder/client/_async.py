"""The asynchronous client: the same calls, flows and errors as :class:`XborderClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from xborder.client._base import DEFAULT_TIMEOUT, BaseClient
from xborder.client._core import Call
from xborder.client._encryption import PayloadEncryption
from xborder.client._flows import Flow, RetryPolicy, Send
from xborder.client._models import Account, Cancellation, Payment
from xborder.client._wire import WireFormat

__all__ = ["AsyncXborderClient"]

T = TypeVar("T")


class AsyncXborderClient(BaseClient[httpx.AsyncClient]):
    """The asynchronous twin of :class:`XborderClient`; the arguments are the same, with
    ``http`` an ``httpx.AsyncClient``, ``transport`` an ``httpx.AsyncBaseTransport`` (e.g.
    ``httpx.ASGITransport(app)``) and ``sleep`` a coroutine function."""

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
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        self._http = http or httpx.AsyncClient(transport=transport, timeout=self._timeout)
        self._sleep = sleep

    async def create_payment(self, request: Mapping[str, Any]) -> Payment:
        """See :meth:`XborderClient.create_payment`."""
        return await self._run(self._create(request))

    async def get_payment(self, payment_id: str) -> Payment:
        """See :meth:`XborderClient.get_payment`."""
        return await self._run(self._get(payment_id))

    async def find_payment(self, reference: str) -> Payment:
        """See :meth:`XborderClient.find_payment`."""
        return await self._run(self._find(reference))

    async def cancel_payment(self, id_or_reference: str) -> Cancellation:
        """See :meth:`XborderClient.cancel_payment`."""
        return await self._run(self._cancel(id_or_reference))

    async def get_accounts(self, *, include_balance: bool | None = None) -> list[Account]:
        """See :meth:`XborderClient.get_accounts`."""
        return await self._run(self._accounts(include_balance))

    async def get_account(self, account_id: str, *, include_balance: bool | None = None) -> Account:
        """See :meth:`XborderClient.get_account`."""
        return await self._run(self._account(account_id, include_balance))

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in."""
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncXborderClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, flow: Flow[T]) -> T:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                reply: Any = await self._send(step.call)
            else:
                await self._sleep(step.seconds)
                reply = None
            try:
                step = flow.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result

    async def _send(self, call: Call) -> httpx.Response | httpx.HTTPError:
        try:
            return await self._http.send(
                self._request(call), auth=self._auth or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as exc:
            return exc
