"""The client over real HTTP against ``xborder serve`` (authentication on), signed with the dev
project its first start created: JSON and XML, plain and encrypted, and the gateway refusal
of an unsigned request."""

from __future__ import annotations

import pytest

from tests.client.conftest import RunningServer
from tests.payloads import payment_request
from xborder.client import AuthenticationError, DeclinedError, NotFoundError, XborderClient


@pytest.mark.parametrize(
    ("fmt", "encrypted"), [("json", False), ("xml", False), ("json", True), ("xml", True)]
)
def test_lifecycle_over_http(http_server: RunningServer, fmt: str, encrypted: bool) -> None:
    reference = f"HTTP-{fmt}-{encrypted}"
    with http_server.client(fmt, encrypted=encrypted) as client:
        created = client.create_payment(payment_request(reference))
        assert created.status == "PENDING"
        assert client.find_payment(reference).id == created.id
        assert client.cancel_payment(reference).status == "SUCCESS"
        assert client.get_payment(created.id).status == "CANCELLED"
        with pytest.raises(DeclinedError):
            client.cancel_payment(created.id)
        with pytest.raises(NotFoundError):
            client.get_payment("rem_unknown")


def test_unsigned_requests_are_refused_by_the_gateway(http_server: RunningServer) -> None:
    with XborderClient(http_server.base_url, "MYBANK_SANDBOX1") as client:
        with pytest.raises(AuthenticationError) as refused:
            client.find_payment("ANY")
    assert (refused.value.status, refused.value.source) == (400, "Gateway")
