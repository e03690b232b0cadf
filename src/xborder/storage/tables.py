"""Table definitions. Domain invariants are repeated here as CHECK constraints.

The migrations in ``migrations/versions`` are the source of truth for the deployed schema;
these definitions must match them (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

STATUSES = ("PENDING", "SUCCESS", "REJECTED", "RETURNED", "CANCELLED")
CHANNELS = ("CASH_OUT", "BANK_ACCOUNT", "CARD", "MOBILE_MONEY")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    # On SQLite a datetime is text, and the two steps each way (this class's, then the
    # dialect's formatting or parsing) become one function: the same text out, the same
    # datetime back, for about half the Python (three of each on every cancel, issue 12).

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_datetime


_STORED_LENGTH = len("2026-01-01 00:00:00.000000")


def _sqlite_text(value: datetime | None) -> str | None:
    """SQLite's stored form of an aware datetime: UTC, as SQLAlchemy's ``DATETIME`` writes
    it (``YYYY-MM-DD HH:MM:SS.ffffff``, so that stored values compare as text in time order)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
    # the naive UTC time's text: an aware one formats its offset, at twice the cost
    return datetime.combine(value.date(), value.time()).isoformat(" ", "microseconds")


def _sqlite_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from SQLite's stored text (what SQLAlchemy's ``DATETIME``
    parses, with ``fromisoformat``)."""
    if value is None:
        return None
    if len(value) == _STORED_LENGTH and value[20:].isdigit():  # as written above: no offset
        return datetime.fromisoformat(value + "+00:00")  # a fifth of the cost of .replace()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String(31), primary_key=True),
    sa.Column("partner_id", sa.String(35), nullable=False),
    sa.Column("transaction_reference", sa.String(40), nullable=False),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pending_stage", sa.String(30)),
    sa.Column("pending_max_completion_date", UtcDateTime()),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("provider", sa.String(200)),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("status_timestamp", UtcDateTime(), nullable=False),
    sa.Column("request_json", sa.Text(), nullable=False),
    sa.Column("request_fingerprint", sa.String(64), nullable=False),
    sa.Column("quote_json", sa.Text()),
    sa.Column("cashout_code", sa.String(30)),
    sa.Column("rejection_code", sa.String(6)),
    sa.Column("rejection_reason", sa.String(64)),
    sa.Column("rejection_description", sa.String(1000)),
    sa.Column("rejection_source", sa.String(200)),
    sa.Column("return_message", sa.String(1000)),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint(
        "partner_id", "transaction_reference", name="uq_payments_partner_reference"
    ),
    sa.CheckConstraint(_in("status", STATUSES), name="ck_payments_status"),
    sa.CheckConstraint(_in("channel", CHANNELS), name="ck_payments_channel"),
    sa.CheckConstraint(
        "(status = 'PENDING' AND pending_stage IS NOT NULL)"
        " OR (status <> 'PENDING' AND pending_stage IS NULL"
        " AND pending_max_completion_date IS NULL)",
        name="ck_payments_pending_stage",
    ),
    sa.CheckConstraint("version >= 0", name="ck_payments_version"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_ref", sa.String(36), nullable=False, unique=True),
    sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("partner_id", sa.String(35), nullable=False),
    sa.Column("transaction_reference", sa.String(40), nullable=False),
    sa.Column("previous_status", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pending_stage", sa.String(30)),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("error_code", sa.String(6)),
    sa.Column("error_message", sa.String(1000)),
    sa.Column("delivered_at", UtcDateTime()),
    # D14 push (migration 0004): null outcome = waiting; attempts started; retry and claim times
    sa.Column("outcome", sa.String(9)),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", UtcDateTime()),
    sa.Column("claimed_until", UtcDateTime()),
    sa.CheckConstraint(_in("status", STATUSES), name="ck_outbox_status"),
)
sa.Index("ix_outbox_payment", outbox.c.payment_id, outbox.c.id)
sa.Index("ix_outbox_pending", outbox.c.outcome, outbox.c.id)

# --- projects, partner bindings and OAuth nonces (D11, D13; migration 0002) -----------------

ENVIRONMENTS = ("sandbox", "mtf", "production")
ENCRYPTION_POLICIES = ("optional", "required")
REGIONS = ("global", "eu", "uk")

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("consumer_key", sa.String(200), primary_key=True),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("signing_certificate", sa.Text(), nullable=False),  # PEM; never a private key
    sa.Column("encryption_certificate", sa.Text()),  # PEM of the client-encryption cert
    sa.Column("created", UtcDateTime(), nullable=False),
    # D20 and D23, migration 0006
    sa.Column("encryption", sa.String(8), nullable=False, server_default="optional"),
    sa.Column("region", sa.String(6), nullable=False, server_default="global"),
    sa.CheckConstraint(_in("environment", ENVIRONMENTS), name="ck_projects_environment"),
    sa.CheckConstraint(_in("encryption", ENCRYPTION_POLICIES), name="ck_projects_encryption"),
    sa.CheckConstraint(_in("region", REGIONS), name="ck_projects_region"),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("partner_id", sa.String(35), primary_key=True),
    sa.Column(
        "consumer_key", sa.String(200), sa.ForeignKey("projects.consumer_key"), nullable=False
    ),
    sa.Column("created", UtcDateTime(), nullable=False),
)
sa.Index("ix_partners_consumer_key", partners.c.consumer_key)

registry_version = sa.Table(
    "registry_version",
    metadata,
    # One row: a random stamp written anew by every change of a project or a partner binding,
    # so that each process can check its cache of them inside a request's own transaction
    # (xborder.services.registry; migration 0005). Random rather than counted, so that a
    # registry emptied and filled again never repeats a stamp a process has cached.
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("stamp", sa.BigInteger(), nullable=False),
)

nonces = sa.Table(
    "nonces",
    metadata,
    sa.Column("consumer_key", sa.String(200), primary_key=True),
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("timestamp", sa.BigInteger(), nullable=False),  # the request's oauth_timestamp
)
sa.Index("ix_nonces_timestamp", nonces.c.timestamp)

# --- prefunded accounts, ledger, queue, clock and scheduler lease (D16, D17; migration 0003) ---

ENTRY_KINDS = ("FUND", "RESERVE", "RELEASE", "SETTLE", "RETURN")

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(30), primary_key=True),
    sa.Column("partner_id", sa.String(35), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("threshold_minor", sa.BigInteger(), nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("partner_id", "currency", name="uq_accounts_partner_currency"),
    sa.CheckConstraint("version >= 0", name="ck_accounts_version"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(30), sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id")),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("created", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("payment_id", "kind", name="uq_ledger_entries_payment_kind"),
    sa.CheckConstraint(_in("kind", ENTRY_KINDS), name="ck_ledger_entries_kind"),
    sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
    sa.CheckConstraint(
        "(kind = 'FUND' AND payment_id IS NULL) OR (kind <> 'FUND' AND payment_id IS NOT NULL)",
        name="ck_ledger_entries_payment",
    ),
)
sa.Index("ix_ledger_entries_account", ledger_entries.c.account_id, ledger_entries.c.kind)

queue_entries = sa.Table(
    "queue_entries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(30), sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id"), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("payment_id", name="uq_queue_entries_payment"),
    sa.CheckConstraint("amount > 0", name="ck_queue_entries_amount"),
)
sa.Index("ix_queue_entries_account", queue_entries.c.account_id, queue_entries.c.id)

clock_offset = sa.Table(
    "clock_offset",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("offset_us", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("id = 1", name="ck_clock_offset_single_row"),
)

scheduler_leases = sa.Table(
    "scheduler_leases",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

sa.Index(
    "ix_payments_lifecycle",
    payments.c.environment,
    payments.c.status,
    payments.c.pending_stage,
    payments.c.status_timestamp,
)

# --- status-change push deliveries (D14; migration 0004) -------------------------------------

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("outbox_id", BigId, sa.ForeignKey("outbox.id"), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("status_code", sa.Integer()),  # null: no HTTP answer (timeout, refused)
    sa.Column("error", sa.String(200)),  # a short reason; never a body or a secret
    sa.Column("duration_ms", sa.Integer(), nullable=False),
)
sa.Index("ix_webhook_deliveries_outbox", webhook_deliveries.c.outbox_id, webhook_deliveries.c.id)

# --- the Balance API's authorization-code flow (D23; migration 0007) -------------------------

GRANT_STATUSES = ("PENDING", "APPROVED", "DENIED", "ISSUED")
TOKEN_KINDS = ("code", "access", "refresh")

oauth2_grants = sa.Table(
    "oauth2_grants",
    metadata,
    sa.Column("grant_id", sa.String(64), primary_key=True),
    # no foreign key: removing a project must not need its grants removed first; a grant of a
    # project that is gone authenticates nothing (the gate finds no project)
    sa.Column("consumer_key", sa.String(200), nullable=False),
    sa.Column("redirect_uri", sa.String(2000), nullable=False),
    sa.Column("state", sa.String(500)),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),  # Unix seconds, wall clock
    sa.CheckConstraint(_in("status", GRANT_STATUSES), name="ck_oauth2_grants_status"),
)
sa.Index("ix_oauth2_grants_status", oauth2_grants.c.status, oauth2_grants.c.created_at)

oauth2_tokens = sa.Table(
    "oauth2_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 hex; never the token
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("grant_id", sa.String(64), sa.ForeignKey("oauth2_grants.grant_id"), nullable=False),
    sa.Column("consumer_key", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),  # Unix seconds, wall clock
    sa.Column("revoked", sa.Boolean(), nullable=False),
    sa.CheckConstraint(_in("kind", TOKEN_KINDS), name="ck_oauth2_tokens_kind"),
)
sa.Index("ix_oauth2_tokens_grant", oauth2_tokens.c.grant_id)
sa.Index("ix_oauth2_tokens_consumer_key", oauth2_tokens.c.consumer_key)
sa.Index("ix_oauth2_tokens_expires_at", oauth2_tokens.c.expires_at)

# --- the request journal (issue 14; migrations 0008, 0009) -----------------------------------

journal_segments = sa.Table(
    "journal_segments",
    metadata,
    # One row per journal write: the entries of a batch of answered XBS requests, redacted,
    # as one JSON array (xborder.storage.journal). Entry ids are ``id * SEGMENT_SPAN + n``;
    # ``skip`` counts the entries pruned from the front of the segment. Nothing here is
    # needed to serve a request.
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("oldest_at", UtcDateTime(), nullable=False),
    sa.Column("newest_at", UtcDateTime(), nullable=False),
    sa.Column("skip", sa.Integer(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),  # entries kept: skip .. skip + count - 1
    sa.Column("entries", sa.LargeBinary(), nullable=False),
)

# --- webhooks per partner id (D14, D18; migration 0008, which moved them off ``partners``) ---

webhooks = sa.Table(
    "webhooks",
    metadata,
    # Keyed by partner id, not by binding: a sandbox partner needs no project to get pushes (D18)
    sa.Column("partner_id", sa.String(35), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(200)),  # HMAC key; never logged or printed again
)
