"""SqlAlchemyPaymentRepository: payments and their outbox events, in SQLAlchemy Core.

Core rather than the ORM: the cancel is one conditional ``UPDATE ... WHERE version = :v``
and the hot paths are two or three statements; an identity map would add cost and no safety.
Every statement here is on the path of a request, so each is prepared once and run on the
driver cursor (:mod:`xborder.storage.prepared`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from xborder.domain.channels import Channel
from xborder.domain.errors import Rejection
from xborder.domain.events import StatusChanged
from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.domain.pricing import Quote
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.errors import ConflictError, DuplicateReference
from xborder.storage.prepared import Cursor, Prepared
from xborder.storage.tables import outbox, payments

_MONEY_FIELDS = ("fees", "charged", "credited", "principal", "settlement")
_FIXED = ("id", "partner_id", "transaction_reference", "created", "request_json")

_COLUMNS = tuple(column.key for column in payments.columns)
_EVENT_COLUMNS = (
    "event_ref", "payment_id", "partner_id", "transaction_reference", "previous_status",
    "status", "pending_stage", "occurred_at", "error_code", "error_message",
)  # fmt: skip
# What json.dumps(..., separators=(",", ":")) would use, built once rather than per call.
_REQUEST_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_QUOTE_JSON = json.JSONEncoder(separators=(",", ":"))
_INSERT = Prepared(payments.insert(), column_keys=_COLUMNS)
_INSERT_EVENT = Prepared(outbox.insert(), column_keys=_EVENT_COLUMNS)
_BY_ID = Prepared(
    payments.select().where(
        payments.c.id == sa.bindparam("payment_id"),
        payments.c.partner_id == sa.bindparam("partner"),
    )
)
_BY_REFERENCE = Prepared(
    payments.select().where(
        payments.c.partner_id == sa.bindparam("partner"),
        payments.c.transaction_reference == sa.bindparam("reference"),
    )
)
_UPDATES: dict[frozenset[str], Prepared] = {}
"""``UPDATE payments SET <changed columns> WHERE id = :payment_id AND version = :expected``,
prepared once per set of changed columns (a cancel always changes the same few)."""


def _update(columns: frozenset[str]) -> Prepared:
    prepared = _UPDATES.get(columns)
    if prepared is None:
        statement = payments.update().where(
            payments.c.id == sa.bindparam("payment_id"),
            payments.c.version == sa.bindparam("expected"),
        )
        prepared = _UPDATES.setdefault(columns, Prepared(statement, column_keys=sorted(columns)))
    return prepared


_UPDATES_WITH_EVENT: dict[frozenset[str], Prepared] = {}
_EVENT_BINDS = {name: f"event_{name}" for name in _EVENT_COLUMNS}  # beside the update's


def _update_with_event(columns: frozenset[str]) -> Prepared:
    """PostgreSQL only: the conditional update of :func:`_update` and the insert of its one
    outbox event as one statement, the insert fed by the row the update returns::

        WITH changed AS (UPDATE payments SET ... WHERE id = ... AND version = ... RETURNING id)
        INSERT INTO outbox (...) SELECT :event_... FROM changed

    So the event exists iff the change was made (D14), as with two statements, and its row
    count is the update's: 0 when the version moved on. It saves a cancel a round trip and
    about a seventh of the database server's work (docs/performance.md).
    """
    prepared = _UPDATES_WITH_EVENT.get(columns)
    if prepared is None:
        update = (
            payments.update()
            .where(
                payments.c.id == sa.bindparam("payment_id"),
                payments.c.version == sa.bindparam("expected"),
            )
            .values({name: sa.bindparam(name, type_=payments.c[name].type) for name in columns})
        )
        changed = update.returning(payments.c.id).cte("changed")
        event = sa.select(
            *(
                sa.bindparam(_EVENT_BINDS[name], type_=outbox.c[name].type).label(name)
                for name in _EVENT_COLUMNS
            )
        ).select_from(changed)
        statement = outbox.insert().from_select(list(_EVENT_COLUMNS), event)
        prepared = _UPDATES_WITH_EVENT.setdefault(columns, Prepared({"postgresql": statement}))
    return prepared


class SqlAlchemyPaymentRepository:
    """Implements :class:`xborder.services.unit_of_work.PaymentRepository`."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    def add(self, payment: Payment) -> None:
        try:
            self._cursor.rowcount(_INSERT, _row(payment, version=1))
        except IntegrityError as exc:
            if _violates(exc, "uq_payments_partner_reference"):
                raise DuplicateReference(payment.transaction_reference) from exc
            raise
        payment.version = 1
        self._write_events(payment)

    def get(self, partner_id: str, payment_id: str) -> Payment | None:
        return self._one(_BY_ID, {"payment_id": payment_id, "partner": partner_id})

    def get_by_reference(self, partner_id: str, reference: str) -> Payment | None:
        return self._one(_BY_REFERENCE, {"partner": partner_id, "reference": reference})

    def save(self, payment: Payment) -> None:
        before = payment.__dict__.get("_row")  # a stored payment's columns as it was loaded
        values = _changing(payment, version=payment.version + 1, before=before)
        columns = frozenset(values)
        values.update(payment_id=payment.id, expected=payment.version)
        events = payment.events
        together = len(events) == 1 and self._cursor.dialect_name == "postgresql"
        if together:  # the change and its event in one statement: one round trip, not two
            values.update((_EVENT_BINDS[k], v) for k, v in _event_row(events[0]).items())
            changed = self._cursor.rowcount(_update_with_event(columns), values)
        else:
            changed = self._cursor.rowcount(_update(columns), values)
        if changed != 1:
            raise ConflictError(payment.id)
        payment.version += 1
        payment.__dict__.pop("_row", None)  # the row is now what the payment was
        if together:
            events.clear()
        else:
            self._write_events(payment)

    def _one(self, query: Prepared, params: dict[str, str]) -> Payment | None:
        row = self._cursor.first(query, params)
        if row is None:
            return None
        return _payment(row)

    def _write_events(self, payment: Payment) -> None:
        events = payment.events
        if len(events) == 1:  # the usual case: one change, one row, without executemany
            self._cursor.rowcount(_INSERT_EVENT, _event_row(events[0]))
        elif events:
            self._cursor.execute_many(_INSERT_EVENT, [_event_row(e) for e in events])
        events.clear()


def _violates(exc: IntegrityError, constraint: str) -> bool:
    """Whether ``exc`` is a unique violation of ``constraint`` (PostgreSQL names it; SQLite
    names the columns)."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return bool(diag.constraint_name == constraint)
    return "UNIQUE constraint failed: payments.partner_id, payments.transaction_reference" in str(
        exc.orig
    )


def _row(payment: Payment, *, version: int) -> dict[str, Any]:
    row = _changing(payment, version=version)
    row.update(
        id=payment.id,
        partner_id=payment.partner_id,
        transaction_reference=payment.transaction_reference,
        created=payment.created,
        request_json=_request_json(payment.request),
    )
    return row


class _StoredDocument(Mapping[str, Any]):
    """A payment's request document as stored, parsed on its first read: a cancel, the most
    frequent change, never reads it (issue 12)."""

    __slots__ = ("_document", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._document: dict[str, Any] | None = None

    def _parsed(self) -> dict[str, Any]:
        if self._document is None:
            # json, not orjson: orjson reads an integer beyond 64 bits as a float
            self._document = json.loads(self.text)
        return self._document

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get would go through __getitem__ and a KeyError for each absent key: a
        # Retrieve's view asks for twenty optional fields, most of them absent
        return self._parsed().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._parsed()

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())


def _request_json(document: Mapping[str, Any]) -> str:
    if isinstance(document, _StoredDocument):
        return document.text  # as stored, never parsed and written again
    return _json_text(document, _REQUEST_JSON)


def _json_text(document: Any, fallback: json.JSONEncoder) -> str:
    """``document`` as ``fallback`` writes it (compact, non-ASCII kept), by orjson: the same
    text for what JSON holds, in a twentieth of the time (a create's request document: 0.5
    against 8.8 us). What orjson refuses (an integer beyond 64 bits, a lone surrogate, a key
    that is not a string) goes to ``fallback``."""
    try:
        return orjson.dumps(document).decode()
    except (orjson.JSONEncodeError, TypeError):
        return fallback.encode(document)


class _StoredPayment(Payment):
    """A payment as loaded from the store, with the row it was loaded from (so that a save
    writes only the columns that changed: a version-guarded save finds that row unchanged or
    fails), its quote decoded on its first read: a cancel, the most frequent change, never
    reads it, and decoding it (six ``Decimal`` and five ``Money`` values) cost a load a third
    of its Python (issue 12)."""

    def __init__(self, *args: Any, row: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # sets the quote given (None) through the setter
        if row is not None:  # dataclasses.replace() gives the quote itself, and no row
            state = self.__dict__
            state["_row"] = row
            state["_quote_text"] = row["quote_json"]  # decoded by the first read
            state["_quote_set"] = False

    @property
    def quote(self) -> Quote | None:
        state = self.__dict__
        if "_quote_text" in state:
            state["_quote"] = _quote(state.pop("_quote_text"))
        quote: Quote | None = state["_quote"]
        return quote

    @quote.setter
    def quote(self, value: Quote | None) -> None:
        state = self.__dict__
        state.pop("_quote_text", None)
        state["_quote"] = value
        state["_quote_set"] = True


def _quote_changed(payment: Payment) -> bool:
    """Whether the payment's quote may differ from the one stored: only a quote set since it
    was loaded can (a stored payment's quote is read, never decoded to be compared)."""
    return not isinstance(payment, _StoredPayment) or bool(payment.__dict__["_quote_set"])


def _changing(
    payment: Payment, *, version: int, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The columns a save may change (all but ``_FIXED``); with the row as it was loaded,
    only those whose value differs from it, and the version."""
    rejection = payment.rejection
    values: dict[str, Any] = {
        "environment": payment.environment,
        "status": payment.status.value,
        "pending_stage": payment.pending_stage.value if payment.pending_stage else None,
        "pending_max_completion_date": payment.pending_max_completion_date,
        "channel": payment.channel.value,
        "provider": payment.provider,
        "status_timestamp": payment.status_timestamp,
        "request_fingerprint": payment.request_fingerprint,
        "cashout_code": payment.cashout_code,
        "rejection_code": rejection.detail_code if rejection else None,
        "rejection_reason": rejection.reason_code if rejection else None,
        "rejection_description": rejection.description if rejection else None,
        "rejection_source": rejection.source if rejection else None,
        "return_message": payment.return_message,
    }
    if before is None or _quote_changed(payment):
        values["quote_json"] = _quote_json(payment.quote)
    if before is not None:
        values = {k: v for k, v in values.items() if before[k] != v}
    values["version"] = version
    return values


# A stored value's member, by a dict's lookup: an Enum's call by value costs ten times as much,
# and every load makes three. (Only members' values are written; CHECK constraints hold the
# statuses and channels.)
_CHANNELS = {member.value: member for member in Channel}
_STATUSES = {member.value: member for member in PaymentStatus}
_STAGES = {member.value: member for member in PendingStage}


def _payment(row: dict[str, Any]) -> Payment:
    rejection = None
    if row["rejection_code"] is not None:
        rejection = Rejection(
            detail_code=row["rejection_code"],
            reason_code=row["rejection_reason"],
            description=row["rejection_description"],
            source=row["rejection_source"] or "",
        )
    stage = row["pending_stage"]
    return _StoredPayment(
        id=row["id"],
        partner_id=row["partner_id"],
        transaction_reference=row["transaction_reference"],
        request=_StoredDocument(row["request_json"]),
        request_fingerprint=row["request_fingerprint"],
        channel=_CHANNELS[row["channel"]],
        provider=row["provider"],
        status=_STATUSES[row["status"]],
        pending_stage=_STAGES[stage] if stage else None,
        created=row["created"],
        status_timestamp=row["status_timestamp"],
        pending_max_completion_date=row["pending_max_completion_date"],
        row=row,
        cashout_code=row["cashout_code"],
        rejection=rejection,
        return_message=row["return_message"],
        environment=row["environment"],
        version=row["version"],
    )


def _quote_json(quote: Quote | None) -> str | None:
    if quote is None:
        return None
    data: dict[str, Any] = {"fx_rate": str(quote.fx_rate)}
    for name in _MONEY_FIELDS:
        money: Money = getattr(quote, name)
        data[name] = [money.to_wire(), money.currency]
    return _json_text(data, _QUOTE_JSON)


def _quote(text: str | None) -> Quote | None:
    if text is None:
        return None
    data = orjson.loads(text)
    monies = {name: Money(Decimal(data[name][0]), data[name][1]) for name in _MONEY_FIELDS}
    return Quote(fx_rate=Decimal(data["fx_rate"]), **monies)


def event_ref() -> str:
    """A new event's ``eventRef``: a UUID version 7 (RFC 9562), the milliseconds of the Unix
    time it was made at first, then 74 random bits.

    The outbox's unique index on ``event_ref`` then grows at its end, as its primary key
    does, instead of taking each new ref at a random place (a random UUID touches a random
    leaf page of an index that grows with every status change ever made): an outbox insert
    cost SQLite about a third less, measured (docs/performance.md). Partners only compare
    refs for equality (they de-duplicate on ``eventRef``, D14); 74 random bits per
    millisecond keep them unique.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    value = (
        (millis & _MILLIS) << 80
        | 0x7 << 76  # version 7
        | (rand >> 62 & 0xFFF) << 64  # rand_a
        | 0b10 << 62  # the RFC 9562 variant
        | rand & _RAND_B
    )
    # the canonical text of uuid.UUID(int=value), without building one (2.6 against 4.5 us)
    hex_ = f"{value:032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


_MILLIS = (1 << 48) - 1
_RAND_B = (1 << 62) - 1


def _event_row(event: StatusChanged) -> dict[str, Any]:
    return {
        "event_ref": event_ref(),
        "payment_id": event.payment_id,
        "partner_id": event.partner_id,
        "transaction_reference": event.transaction_reference,
        "previous_status": event.previous_status.value,
        "status": event.status.value,
        "pending_stage": event.pending_stage.value if event.pending_stage else None,
        "occurred_at": event.occurred_at,
        "error_code": event.error_code,
        "error_message": event.error_message,
    }
