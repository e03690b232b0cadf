"""Fixtures of the client suites: the in-process app behind a sync or async httpx transport,
generated keys (a registered sandbox project, the server's encryption key), client factories.

``AppTransport`` runs the ASGI app on one event-loop thread through ``httpx.ASGITransport``,
so the real :class:`XborderClient` talks to the real app with no network. (Starlette's
``TestClient`` is an ``httpx2.Client`` in this environment, not an ``httpx.Client``, so it
cannot be injected as one.)

The in-process app runs with authentication off (unsigned requests reach sandbox partners),
and a request that carries a signature is verified all the same (D11): the ``signed`` and
``encrypted`` modes exercise OAuth 1.0a and JWE end to end through the real gate.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from sqlalchemy.engine import Engine

from tests.payloads import PARTNER
from xborder.api.app import create_app
from xborder.api.dispatch import XborderApp
from xborder.cli import main
from xborder.cli.commands._profiles import Injected
from xborder.client import (
    AsyncXborderClient,
    OAuth1Auth,
    PayloadEncryption,
    RetryPolicy,
    XborderClient,
)
from xborder.clock import FixedClock, SystemClock
from xborder.config import Settings
from xborder.domain.projects import Environment
from xborder.security.keys import (
    certificate_pem,
    generate_key_pair_and_certificate,
    write_private_key,
)
from xborder.security.keystore import CERT_SUFFIX, ServerKeyStore
from xborder.services import projects
from xborder.storage.engine import make_engine
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

BASE_URL = "http://testserver"
CONSUMER_KEY = "client-suite!0123456789abcdef"
KEYSTORE_PASSWORD = "keystorepassword"
MODES = ("plain", "signed", "encrypted")


def no_sleep(_seconds: float) -> None:
    """Retries in tests do not wait."""


async def no_async_sleep(_seconds: float) -> None:
    """Retries in tests do not wait."""


class AppTransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app, via httpx's ASGITransport on a portal."""

    def __init__(self, app: XborderApp, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._portal.call(self._call, request)

    async def _call(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


@dataclass(frozen=True)
class Keys:
    """Generated once per session; ``signing_p12`` holds the signing key with a password."""

    directory: Path
    signing_key: Path
    signing_cert: str
    signing_p12: Path
    client_key: Path
    client_cert: str
    client_p12: Path
    server_dir: Path

    @property
    def server_cert(self) -> Path:
        kid = (self.server_dir / "primary").read_text().strip()
        return self.server_dir / f"{kid}{CERT_SUFFIX}"


def _pair(directory: Path, name: str) -> tuple[Path, str, Path]:
    key, cert = generate_key_pair_and_certificate(f"client suite {name}", 30)
    key_path = directory / f"{name}-key.pem"
    write_private_key(key_path, key)
    p12 = directory / f"{name}.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"keyalias", key, cert, None, BestAvailableEncryption(KEYSTORE_PASSWORD.encode())
        )
    )
    return key_path, certificate_pem(cert).decode("ascii"), p12


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("client-keys")
    signing_key, signing_cert, signing_p12 = _pair(directory, "signing")
    client_key, client_cert, client_p12 = _pair(directory, "client")
    server_dir = directory / "server"
    ServerKeyStore(server_dir).ensure()
    return Keys(
        directory,
        signing_key,
        signing_cert,
        signing_p12,
        client_key,
        client_cert,
        client_p12,
        server_dir,
    )


@pytest.fixture
def engine(database_path: Path) -> Iterator[Engine]:
    """SQLite only: these suites test the client; the storage suites cover every backend."""
    engine = make_engine(f"sqlite:///{database_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


def build_app(settings: Settings, engine: Engine, clock: FixedClock, keys: Keys) -> XborderApp:
    """The app with the session's server key and the suite's sandbox project registered."""
    if not settings.keys_dir.exists():
        shutil.copytree(keys.server_dir, settings.keys_dir)
    uow_factory = SqlAlchemyUowFactory(engine)
    if not projects.list_projects(uow_factory=uow_factory):
        projects.add_project(
            CONSUMER_KEY,
            Environment.SANDBOX,
            keys.signing_cert,
            keys.client_cert,
            uow_factory=uow_factory,
            clock=SystemClock(),
        )
    return create_app(settings, engine=engine, clock=clock)


@pytest.fixture
def app(settings: Settings, engine: Engine, clock: FixedClock, keys: Keys) -> XborderApp:
    """Authentication off (unsigned sandbox requests pass; signed ones are verified)."""
    return build_app(settings, engine, clock, keys)


@pytest.fixture
def signed_only_app(
    settings: Settings, engine: Engine, clock: FixedClock, keys: Keys
) -> XborderApp:
    """Authentication on (D11): unsigned requests are refused."""
    return build_app(dataclasses.replace(settings, auth=True), engine, clock, keys)


@pytest.fixture
def transport(app: XborderApp, portal: BlockingPortal) -> AppTransport:
    return AppTransport(app, portal)


def auth_for(keys: Keys) -> OAuth1Auth:
    """Signing with the PEM key (a PKCS#12 keystore takes ~0.2 s to open; its own tests
    cover it)."""
    return OAuth1Auth.from_file(CONSUMER_KEY, keys.signing_key)


def encryption_for(keys: Keys) -> PayloadEncryption:
    return PayloadEncryption(keys.server_cert, keys.client_key)


def options(mode: str, keys: Keys) -> dict[str, Any]:
    """Client keyword arguments for a mode: plain, signed, or signed and encrypted."""
    found: dict[str, Any] = {}
    if mode in ("signed", "encrypted"):
        found["auth"] = auth_for(keys)
    if mode == "encrypted":
        found["encryption"] = encryption_for(keys)
    return found


ClientFactory = Callable[..., XborderClient]


@pytest.fixture
def make_client(transport: AppTransport, keys: Keys) -> Iterator[ClientFactory]:
    """``make_client(fmt="json", mode="plain", **overrides)`` -> a client of the app."""
    made: list[XborderClient] = []

    def make(fmt: str = "json", mode: str = "plain", **overrides: Any) -> XborderClient:
        arguments: dict[str, Any] = {
            "transport": transport,
            "wire_format": fmt,
            "sleep": no_sleep,
            "retry": RetryPolicy(attempts=3),
            **options(mode, keys),
        }
        arguments.update(overrides)
        client = XborderClient(BASE_URL, arguments.pop("partner_id", PARTNER), **arguments)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def async_client(app: XborderApp, keys: Keys, fmt: str, mode: str) -> AsyncXborderClient:
    """An async client of the app through ``httpx.ASGITransport``."""
    return AsyncXborderClient(
        BASE_URL,
        PARTNER,
        transport=httpx.ASGITransport(app=app),
        wire_format="xml" if fmt == "xml" else "json",
        sleep=no_async_sleep,
        **options(mode, keys),
    )


@dataclass(frozen=True)
class RunningServer:
    """``xborder serve`` in a subprocess, with the dev project its first start created."""

    base_url: str
    data_dir: Path

    @property
    def consumer_key(self) -> str:
        return (self.data_dir / "dev" / "consumer-key.txt").read_text().strip()

    @property
    def server_cert(self) -> Path:
        kid = (self.data_dir / "keys" / "primary").read_text().strip()
        return self.data_dir / "keys" / f"{kid}{CERT_SUFFIX}"

    def client(self, fmt: str, *, encrypted: bool) -> XborderClient:
        """A client signing with the dev project's key (and encrypting when asked)."""
        dev = self.data_dir / "dev"
        encryption = PayloadEncryption(self.server_cert, dev / "encryption-key.pem")
        return XborderClient(
            self.base_url,
            "MYBANK_SANDBOX1",
            auth=OAuth1Auth.from_file(self.consumer_key, dev / "signing-key.pem"),
            wire_format="xml" if fmt == "xml" else "json",
            encryption=encryption if encrypted else None,
            timeout=10.0,
        )


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The colleague's ``tests/e2e/server.py`` when present, else a minimal starter."""
    workdir = tmp_path_factory.mktemp("client-http")
    try:
        from tests.e2e.server import running_server
    except ImportError:  # pragma: no cover - the shared helper is not there
        from tests.client.serve import running_server  # type: ignore[assignment]
    with running_server(workdir) as server:
        yield RunningServer(server.base_url, workdir / "data")


# --- the command line ---------------------------------------------------------------------------

Invoke = Callable[..., Result]


@pytest.fixture
def config_home(tmp_path: Path) -> Path:
    """An empty XDG config home, so no developer's profiles are read."""
    home = tmp_path / "config-home"
    home.mkdir()
    return home


def invoker(transport: httpx.BaseTransport, config_home: Path) -> Invoke:
    def invoke(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Result:
        environment = {
            "XBORDER_BASE_URL": BASE_URL,
            "XBORDER_PARTNER_ID": PARTNER,
            "XDG_CONFIG_HOME": str(config_home),
            **(env or {}),
        }
        return CliRunner().invoke(
            main,
            list(args),
            env=environment,
            obj=Injected(transport=transport, sleep=no_sleep),
            **kwargs,
        )

    return invoke


@pytest.fixture
def run(transport: AppTransport, config_home: Path) -> Invoke:
    """``run(*args, env=..., input=...)``: the CLI against the in-process app."""
    return invoker(transport, config_home)
