"""First run: a sandbox project with fresh development keys, announced once.

When ``xborder serve`` finds no project at all (and ``XBORDER_DEV_PROJECT`` is on), it creates
the client side of a sandbox project in ``DATA/dev`` and registers its certificates::

    consumer-key.txt       the project's consumer key
    signing-key.pem        the client's OAuth signing key (mode 0600)
    signing-cert.pem       its certificate (registered)
    encryption-key.pem     the client's key that encrypted responses decrypt with (mode 0600)
    encryption-cert.pem    its certificate (registered: responses are encrypted to it)
    sign_request.py        the snippet printed at creation, runnable as it is

The data directory is git-ignored; nothing here is ever committed or logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from xborder.clock import Clock
from xborder.config import Settings
from xborder.domain.projects import Environment
from xborder.errors import ConfigError
from xborder.security.keys import (
    certificate_pem,
    generate_key_pair_and_certificate,
    write_private_key,
)
from xborder.services import projects
from xborder.services.errors import ProjectExists
from xborder.services.payments import UowFactory

DEV_CERTIFICATE_DAYS = 730
PARTNER = "MYBANK_SANDBOX1"


@dataclass(frozen=True, slots=True)
class DevProject:
    """The dev project's consumer key and the directory holding its client keys."""

    directory: Path
    consumer_key: str

    def path(self, name: str) -> Path:
        """A file of the dev directory, as an absolute path."""
        return (self.directory / name).resolve()


def ensure_dev_project(
    settings: Settings, uow_factory: UowFactory, clock: Clock
) -> DevProject | None:
    """Create and register the dev project when no project exists; None when nothing was done."""
    if not settings.dev_project or projects.list_projects(uow_factory=uow_factory):
        return None
    dev = _existing(settings.dev_dir) or _generate(settings.dev_dir)
    try:
        projects.add_project(
            dev.consumer_key,
            Environment.SANDBOX,
            dev.path("signing-cert.pem").read_text(encoding="ascii"),
            dev.path("encryption-cert.pem").read_text(encoding="ascii"),
            uow_factory=uow_factory,
            clock=clock,
        )
    except ProjectExists:  # another server sharing the database was quicker
        return None
    (dev.directory / "sign_request.py").write_text(snippet(dev, base_url(settings)))
    return dev


def base_url(settings: Settings) -> str:
    """The URL clients address: the public URL, or the listening address."""
    if settings.public_url:
        return settings.public_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def announcement(dev: DevProject, url: str) -> str:
    """What ``serve`` prints, once, when it created the dev project."""
    return f"""
xborder: first run - created a sandbox project for local development (D13).
  consumer key:         {dev.consumer_key}
  signing key (OAuth):  {dev.path("signing-key.pem")}
  client decryption:    {dev.path("encryption-key.pem")}
  server certificate:   `xborder keys export-encryption-cert` (clients encrypt requests to it)
Sign a request with Mastercard's signer (package mastercard-oauth1-signer), e.g.
python {dev.path("sign_request.py")}:

{snippet(dev, url)}"""


def snippet(dev: DevProject, url: str) -> str:
    """A runnable Python snippet signing one request with the dev project's key."""
    return f'''import urllib.error
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from oauth1.oauth import OAuth

key = load_pem_private_key(Path("{dev.path("signing-key.pem")}").read_bytes(), password=None)
url = "{url}/send/v1/partners/{PARTNER}/crossborder?ref=DEMO-0001"
auth = OAuth.get_authorization_header(url, "GET", None, "{dev.consumer_key}", key)
headers = {{"Authorization": auth, "Accept": "application/json"}}
request = urllib.request.Request(url, headers=headers)
try:
    print(urllib.request.urlopen(request).read().decode())
except urllib.error.HTTPError as error:  # 404 "Record Not Found" (Source GetPayment): signed in
    print(error.code, error.read().decode())
'''


def _existing(directory: Path) -> DevProject | None:
    names = ("consumer-key.txt", "signing-cert.pem", "encryption-cert.pem")
    if not all((directory / name).is_file() for name in names):
        return None
    consumer_key = (directory / "consumer-key.txt").read_text(encoding="ascii").strip()
    return DevProject(directory, consumer_key)


def _generate(directory: Path) -> DevProject:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        for name in ("signing", "encryption"):
            key, certificate = generate_key_pair_and_certificate(
                f"xborder dev {name}", DEV_CERTIFICATE_DAYS
            )
            write_private_key(directory / f"{name}-key.pem", key)
            (directory / f"{name}-cert.pem").write_bytes(certificate_pem(certificate))
    except FileExistsError as exc:
        raise ConfigError(f"{directory} holds an incomplete dev project: remove it") from exc
    consumer_key = f"{secrets.token_urlsafe(18)}!{secrets.token_hex(24)}"
    (directory / "consumer-key.txt").write_text(consumer_key + "\n", encoding="ascii")
    return DevProject(directory, consumer_key)
