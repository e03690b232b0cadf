"""The signed gate: OAuth 1.0a verification (D11), entitlement (D13), payload encryption (D12).

For every XBS request, before its body is parsed:

1. the Authorization header is parsed (400 ``INVALID_AUTH_HEADER``);
2. the consumer key must name a project (401 ``DECLINED``);
3. the timestamp must lie within ±5 minutes (401), the body hash and the RSA-SHA256 signature
   over the URL the client addressed (:mod:`xborder.api.addressing`) must verify (403
   ``AUTHENTICATION_FAILED``);
4. the project must be entitled to the partner (D13, 401) and the nonce must be new
   (:class:`xborder.services.nonces.NonceGuard`, 401): recorded inside the request's own
   transaction (:meth:`SignedGate.record`), beside its state change;
5. with ``x-encrypted: true`` the body is decrypted (:mod:`xborder.api.payload_encryption`)
   and the success answer is encrypted back to the project's client-encryption certificate;
6. D20: a project whose policy is ``required`` must send every body encrypted (400 062000
   ``Request payload must be encrypted``), and all its success answers are encrypted, those
   of body-less requests (a GET cancel, a retrieve) included.

The one refusal that rests on a cached policy, D20's, is confirmed against the registry stamp
before it is answered (:meth:`RegistryCache.refresh`): every other decision made from the cache
is checked inside the request's transaction, but a refused request never gets there, and an
operator relaxing the policy expects the very next request to see it.

A request with ``Authorization: Bearer`` is for an ``eu`` or ``uk`` project (D23): steps 1-4
are :class:`xborder.api.request_tokens.BearerAuthenticator`'s instead (a request token, whose
``jti`` is recorded like a nonce; an access token on the Balance API). An OAuth 1.0a header to
an ``eu``/``uk`` project is 401 ``DECLINED``, and so is a Bearer token to a ``global`` one.

Decision (the issue is silent): ``x-encrypted: true`` from a project without a client-encryption
certificate is refused with 400 062000 Source ``Encrypted Payload`` before anything runs,
because its answer could not be encrypted; an unsigned request (authentication off) cannot ask
for encryption either.

With authentication off (``XBORDER_AUTH=off``), a request *without* an Authorization header is
admitted as an anonymous sandbox caller, but only for a sandbox partner (D13: one not bound to
an mtf or production project; others get 401). A request that does carry a header is verified
as above, so signing and encryption can still be exercised in that mode.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from xborder.api.addressing import Addressing
from xborder.api.gate import Admitted, Caller, Incoming, Nonce
from xborder.api.payload_encryption import (
    open_payload,
    seal_payload,
    wants_encryption,
)
from xborder.api.request_tokens import BearerAuthenticator, is_bearer, is_psd2
from xborder.config import Settings
from xborder.domain.projects import EncryptionPolicy, Project, is_entitled, reaches_sandbox
from xborder.errors import XborderError
from xborder.security import oauth1
from xborder.security.errors import (
    AuthDeclined,
    AuthenticationFailed,
    EncryptionNotSetUp,
    EncryptionRequired,
    SecurityError,
)
from xborder.security.keys import load_certificate, rsa_public_key
from xborder.security.keystore import LiveKeyring, ServerKeyStore
from xborder.services import oauth2
from xborder.services.nonces import NonceGuard
from xborder.services.payments import UowFactory
from xborder.services.registry import RegistryCache
from xborder.services.unit_of_work import AbstractUnitOfWork

log = logging.getLogger("xborder.security")


@dataclass(frozen=True, slots=True)
class SignedCaller(Caller):
    """A caller established by signature; ``encrypt_to`` is the project's client-encryption
    certificate (PEM) when its request asked for encryption."""

    encrypt_to: str | None = field(default=None, repr=False)


class SignedGate:
    """Implements :class:`xborder.api.gate.Gate` with D11, D12 and D13."""

    def __init__(
        self,
        uow_factory: UowFactory,
        keys: LiveKeyring,
        *,
        addressing: Addressing | None = None,
        allow_unsigned: bool = False,
        tolerance: int = oauth1.DEFAULT_TOLERANCE,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._registry = RegistryCache(uow_factory)  # projects and bindings, checked per request
        self._keys = keys
        self._addressing = addressing or Addressing()
        self._allow_unsigned = allow_unsigned
        self._tolerance = tolerance
        self._now = now  # wall time: the business clock (D17) may be moved, signatures not
        self._nonces = NonceGuard(uow_factory, tolerance=tolerance)
        self._bearer = BearerAuthenticator(
            self._registry,
            self._nonces,
            access_token_owner=functools.partial(
                oauth2.access_token_owner, uow_factory=uow_factory
            ),
            tolerance=tolerance,
            now=now,
        )

    def admit(self, incoming: Incoming) -> Admitted:
        """Authenticate, check entitlement and replay, then decrypt when asked (D11-D13)."""
        try:
            return self._admit_current(incoming)
        except SecurityError as exc:
            log.info("request refused: %s", exc.reason)
            raise

    def record(self, uow: AbstractUnitOfWork, admitted: Admitted) -> None:
        """In the request's transaction: the registry is still the one the request was
        admitted under, and its nonce is new to every process (D11)."""
        if admitted.stamp is not None:
            self._registry.check(uow, admitted.stamp)
        nonce = admitted.nonce
        if nonce is not None and not self._nonces.record(
            uow, nonce.consumer_key, nonce.nonce, nonce.timestamp, self._now()
        ):
            log.info("request refused: nonce seen before")
            raise AuthDeclined("nonce seen before")

    def settle(self, admitted: Admitted) -> None:
        """After commit: later replays of the nonce are refused without the database."""
        nonce = admitted.nonce
        if nonce is not None:
            self._nonces.remember(nonce.consumer_key, nonce.nonce, nonce.timestamp)

    def seal(self, caller: Caller, body: bytes, media_type: str) -> tuple[bytes, dict[str, str]]:
        """Encrypt a success body when the request was encrypted (D12); errors never come here."""
        if not isinstance(caller, SignedCaller) or caller.encrypt_to is None:
            return body, {}
        return seal_payload(body, media_type, caller.encrypt_to)

    def _admit_current(self, incoming: Incoming) -> Admitted:
        """:meth:`_admit`, with a refusal confirmed on the registry as it is now.

        An admission is checked against the registry inside the request's transaction, but a
        refusal never gets there: it may rest on a cached project or binding that another
        process has changed since (a partner bound, a certificate rotated, a policy relaxed).
        So a refusal costs one read of the registry stamp, and when the stamp moved the
        request is decided again on fresh answers.
        """
        try:
            return self._admit(incoming)
        except XborderError:
            if not self._registry.refresh():
                raise
            return self._admit(incoming)

    def _admit(self, incoming: Incoming) -> Admitted:
        encrypted = wants_encryption(incoming.headers)
        content_type = incoming.headers.get("content-type")
        authorization = incoming.headers.get("authorization")
        if authorization is None and self._allow_unsigned:
            caller, stamp = self._unsigned(incoming.partner_id, encrypted)
            return Admitted(caller, incoming.body, content_type, stamp)
        project, stamp, nonce = self._authenticate(incoming, authorization)
        required = project.encryption is EncryptionPolicy.REQUIRED  # D20
        if required and not encrypted and incoming.body:
            raise EncryptionRequired("project requires encrypted request payloads")
        if not (encrypted or required):
            return Admitted(_caller(project, None), incoming.body, content_type, stamp, nonce)
        if project.encryption_certificate is None:
            raise EncryptionNotSetUp("project has no client-encryption certificate")
        body, media_type = open_payload(incoming.body, content_type, self._keys)  # b"": as is
        caller = _caller(project, project.encryption_certificate)  # D20: always answered sealed
        return Admitted(caller, body, media_type, stamp, nonce)

    def _authenticate(
        self, incoming: Incoming, authorization: str | None
    ) -> tuple[Project, int, Nonce | None]:
        if is_bearer(authorization):  # D23: request and access tokens of eu/uk projects
            bearer = self._bearer.authenticate(incoming, authorization)
            return bearer.project, bearer.stamp, bearer.nonce
        params = oauth1.parse_authorization_header(authorization)
        access = self._registry.access(params.consumer_key, incoming.partner_id)
        project = access.project
        if project is None:
            raise AuthDeclined("unknown consumer key")
        if is_psd2(project):
            raise AuthDeclined("an OAuth 1.0a header to an eu/uk project")  # D23
        now = self._now()
        self._verify(incoming, authorization, project, int(now))
        if not is_entitled(project, access.partner_project):
            raise AuthDeclined("project not entitled to this partner")
        if self._nonces.seen(project.consumer_key, params.nonce, now):
            raise AuthDeclined("nonce seen before")
        return project, access.stamp, Nonce(project.consumer_key, params.nonce, params.timestamp)

    def _verify(
        self, incoming: Incoming, authorization: str | None, project: Project, now: int
    ) -> None:
        """Timestamp window, body hash and signature over the URL the client addressed."""
        url = self._addressing.url(incoming.url, incoming.headers)
        public_key = _public_key(project.signing_certificate)
        try:
            oauth1.verify(
                incoming.method,
                url,
                authorization,
                incoming.body,
                public_key_for=lambda _consumer_key: public_key,
                now=now,
                tolerance=self._tolerance,
            )
        except AuthenticationFailed:
            log.info("signature checked against %s", url.split("/", 3)[2])  # scheme://HOST/
            raise

    def _unsigned(self, partner_id: str, encrypted: bool) -> tuple[Caller, int]:
        access = self._registry.access(None, partner_id)
        if not reaches_sandbox(access.partner_project):
            raise AuthDeclined("unsigned requests reach sandbox partners only")
        if encrypted:
            raise EncryptionNotSetUp("an unsigned request has no project to encrypt to")
        return Caller(consumer_key=None), access.stamp


def gate_for(settings: Settings, uow_factory: UowFactory) -> SignedGate:
    """The gate a deployment's settings ask for (``XBORDER_AUTH``, ``XBORDER_PUBLIC_URL``,
    ``XBORDER_TRUST_FORWARDED``); server keys live in ``settings.keys_dir``."""
    return SignedGate(
        uow_factory,
        LiveKeyring(ServerKeyStore(settings.keys_dir)),
        addressing=Addressing(settings.public_url, settings.trust_forwarded),
        allow_unsigned=not settings.auth,
    )


def _caller(project: Project, encrypt_to: str | None) -> SignedCaller:
    return SignedCaller(
        consumer_key=project.consumer_key,
        environment=project.environment.value,
        encrypted=encrypt_to is not None,
        encrypt_to=encrypt_to,
    )


@lru_cache(maxsize=256)
def _public_key(certificate_pem: str) -> RSAPublicKey:
    """A project's signing public key, parsed once per certificate."""
    return rsa_public_key(load_certificate(certificate_pem.encode("ascii")))
