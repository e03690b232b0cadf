"""The asynchronous client: the same calls, flows and errors as :class:`XborderClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from xborder.client import _flows
from xborder.client._client import DEFAULT_TIMEOUT
from xborder.client._core import Call, Core
from xborder.client._encryption import PayloadEncryption
from xborder.client._flows import Flow, RetryPolicy, Send
from xborder.client._models import Account, Cancellation, Payment
from xborder.client._wire import WireFormat

__all__ = ["AsyncXborderClient"]

T = TypeVar("T")


class AsyncXborderClient:
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
        if http is not None and transport is not None:
            raise ValueError("pass http or transport, not both")
        self._core = Core(base_url, partner_id, wire_format, encryption, headers)
        self._auth = auth
        self._timeout = httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._owned = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=self._timeout)
        self._sleep = sleep

    async def create_payment(self, request: Mapping[str, Any]) -> Payment:
        """See :meth:`XborderClient.create_payment`."""
        call = self._core.create(request)
        return await self._run(_flows.payment(self._core, call, self._retry))

    async def get_payment(self, payment_id: str) -> Payment:
        """See :meth:`XborderClient.get_payment`."""
        call = self._core.get(payment_id)
        return await self._run(_flows.payment(self._core, call, self._retry))

    async def find_payment(self, reference: str) -> Payment:
        """See :meth:`XborderClient.find_payment`."""
        call = self._core.find(reference)
        return await self._run(_flows.payment(self._core, call, self._retry))

    async def cancel_payment(self, id_or_reference: str) -> Cancellation:
        """See :meth:`XborderClient.cancel_payment`."""
        return await self._run(_flows.cancel(self._core, id_or_reference, self._retry))

    async def get_accounts(self, *, include_balance: bool | None = None) -> list[Account]:
        """See :meth:`XborderClient.get_accounts`."""
        call = self._core.accounts(None, include_balance)
        answer = await self._run(_flows.exchange(self._core, call, self._retry))
        return self._core.account_list(answer)

    async def get_account(self, account_id: str, *, include_balance: bool | None = None) -> Account:
        """See :meth:`XborderClient.get_account`."""
        call = self._core.accounts(account_id, include_balance)
        answer = await self._run(_flows.exchange(self._core, call, self._retry))
        return self._core.account(answer)

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
        request = self._http.build_request(
            call.method, call.url, headers=call.headers, content=call.content, timeout=self._timeout
        )
        try:
            return await self._http.send(request, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            return exc
