"""Projects, partner bindings and who may call for which partner (D11, D13).

A *project* is what Mastercard's developer portal hands a client: a consumer key, the RSA
certificate of the key it signs requests with, optionally the certificate responses are
encrypted to, and one environment. A *partner binding* ties a partner id to one project.

Invariants:

- a project belongs to exactly one :class:`Environment`, fixed at creation;
- only public material is held: certificates, never a private key;
- a partner id is bound to at most one project;
- D20: a project whose encryption policy is ``required`` has a client-encryption certificate
  (its answers are always encrypted; checked by :mod:`xborder.services.projects`);
- D13: a sandbox project reaches every partner that is not bound to an mtf or production
  project; an mtf or production project reaches only the partners bound to it. Sandbox keys
  therefore never reach mtf or production partners, and the reverse.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

PARTNER_ID = re.compile(r"[A-Za-z0-9_.\-@:+=!$&'()*]{1,35}")
"""D8: at most 35 characters, no spaces, alphanumeric plus a set of specials."""

MAX_CONSUMER_KEY = 200
"""Longest consumer key accepted (Mastercard's are about 100 characters)."""

_NOT_IN_CONSUMER_KEY = frozenset('"%,\\')
"""Characters that would break an OAuth header value as Mastercard's signer writes it."""


class Environment(enum.StrEnum):
    """Where a project's keys work (D13)."""

    SANDBOX = "sandbox"
    MTF = "mtf"
    PRODUCTION = "production"


class EncryptionPolicy(enum.StrEnum):
    """Whether a project's request payloads must be encrypted (D20)."""

    OPTIONAL = "optional"
    REQUIRED = "required"


class Region(enum.StrEnum):
    """Which variant of the API a project uses (D23): the global one signs with OAuth 1.0a,
    the PSD2 EU and UK ones with OAuth 2.0 request tokens."""

    GLOBAL = "global"
    EU = "eu"
    UK = "uk"


@dataclass(frozen=True, slots=True)
class Project:
    """A consumer key with its public certificates (PEM text), its environment, its payload
    encryption policy (D20) and its region (D23)."""

    consumer_key: str
    environment: Environment
    signing_certificate: str
    encryption_certificate: str | None
    created: datetime
    encryption: EncryptionPolicy = EncryptionPolicy.OPTIONAL
    region: Region = Region.GLOBAL


@dataclass(frozen=True, slots=True)
class PartnerBinding:
    """A partner id registered to one project."""

    partner_id: str
    consumer_key: str
    created: datetime


def is_valid_consumer_key(consumer_key: str) -> bool:
    """Whether ``consumer_key`` can travel in an OAuth header as Mastercard's signer writes it."""
    return 0 < len(consumer_key) <= MAX_CONSUMER_KEY and all(
        "!" <= char <= "~" and char not in _NOT_IN_CONSUMER_KEY for char in consumer_key
    )


def is_entitled(project: Project, partner_project: Project | None) -> bool:
    """D13: may ``project`` call for a partner bound to ``partner_project`` (None: unbound)?"""
    if project.environment is Environment.SANDBOX:
        return reaches_sandbox(partner_project)
    return partner_project is not None and partner_project.consumer_key == project.consumer_key


def reaches_sandbox(partner_project: Project | None) -> bool:
    """Whether a partner bound to ``partner_project`` is a sandbox partner (D13).

    Unbound partners are sandbox partners; so are partners bound to a sandbox project. This
    is also the only reach of unsigned requests when authentication is switched off (D11).
    """
    return partner_project is None or partner_project.environment is Environment.SANDBOX
