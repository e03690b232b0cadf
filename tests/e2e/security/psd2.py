"""Helpers of the D23 suites: eu/uk projects registered through the repository, EC key pairs,
request tokens made and forged."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from tests.certificates import PrivateKey, private_key_pem, self_signed
from tests.signing import Party
from xborder.domain.projects import (
    EncryptionPolicy,
    Environment,
    PartnerBinding,
    Project,
    Region,
)
from xborder.security.keys import certificate_pem
from xborder.security.request_token import make_request_token
from xborder.services.payments import UowFactory
from xborder.storage.engine import make_engine
from xborder.storage.unit_of_work import SqlAlchemyUowFactory


@dataclass(frozen=True)
class KeyPair:
    """A signing key and its certificate as PEM text (RSA or EC P-256)."""

    key_pem: str
    cert_pem: str


def key_pair_of(party: Party) -> KeyPair:
    key_pem = party.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPair(key_pem, party.cert_pem)


def ec_key_pair(name: str = "ec signer") -> KeyPair:
    """A fresh EC P-256 key with a self-signed certificate (ES256 tokens)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _self_signed(key, name)


def rsa_key_pair(name: str = "rsa signer") -> KeyPair:
    return _self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048), name)


def _self_signed(key: PrivateKey, name: str) -> KeyPair:
    certificate = self_signed(key, name)
    return KeyPair(private_key_pem(key), certificate_pem(certificate).decode("ascii"))


def add_psd2_project(
    uow_factory: UowFactory,
    consumer_key: str,
    cert_pem: str,
    *,
    region: Region = Region.EU,
    environment: Environment = Environment.SANDBOX,
    partner: str | None = None,
    encryption_cert_pem: str | None = None,
    encryption: EncryptionPolicy = EncryptionPolicy.OPTIONAL,
) -> None:
    """Register a project (and bind ``partner`` to it) straight through the repository."""
    created = datetime.now(UTC)
    with uow_factory() as uow:
        uow.projects.add(
            Project(
                consumer_key,
                environment,
                cert_pem,
                encryption_cert_pem,
                created,
                encryption=encryption,
                region=region,
            )
        )
        if partner is not None:
            uow.partners.add(PartnerBinding(partner, consumer_key, created))
        uow.commit()


def eu_project_of_server(data_dir: Path, consumer_key: str, name: str) -> KeyPair:
    """A fresh RSA key pair registered as an eu sandbox project in the database of a server
    started with ``data_dir`` (its default SQLite file), as another process would add it."""
    pair = rsa_key_pair(name)
    engine = make_engine(f"sqlite:///{data_dir / 'xborder.db'}")
    try:
        add_psd2_project(SqlAlchemyUowFactory(engine), consumer_key, pair.cert_pem)
    finally:
        engine.dispose()
    return pair


def bearer(pair: KeyPair, consumer_key: str, *, now: int, jti: str | None = None) -> str:
    """``Bearer <request token>`` as Mastercard's reference client makes it."""
    return "Bearer " + make_request_token(
        pair.key_pem, pair.cert_pem, consumer_key, now=now, jti=jti
    )


def forged(
    pair: KeyPair, header: dict[str, Any], claims: dict[str, Any], *, alg: str = "RS256"
) -> str:
    """``Bearer <token>`` with exactly ``header`` and ``claims``, signed by ``pair``."""
    token = JWS(json.dumps(claims).encode("utf-8"))
    token.add_signature(
        JWK.from_pem(pair.key_pem.encode("ascii")), protected=json.dumps({"alg": alg, **header})
    )
    return "Bearer " + str(token.serialize(compact=True))


def x5c(pair: KeyPair) -> str:
    certificate = x509.load_pem_x509_certificate(pair.cert_pem.encode("ascii"))
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
