"""How the client commands print results and fail: tables, raw bodies, exit codes.

Exit codes (one per error family; the table is also in docs/client.md)::

    0   success
    1   unexpected failure (a bug: please report it)
    2   usage or configuration error (bad flag, missing partner id, unreadable key)
    3   ValidationError      400/406/413/415: 092000, 082000, 072000, 062000
    4   DeclinedError        402 DECLINE 130xxx (e.g. 130111 not cancellable)
    5   NotFoundError        404 RESOURCE_UNKNOWN 110507
    6   ConflictError        409 082000: reference reused with another payload
    7   AuthenticationError  400/401/403 from the gateway (Source Gateway)
    8   ServerError          5xx SYSTEM_ERROR 150001, after retries
    9   TransportError       no answer (connection refused, timeout), after retries
    10  ResponseError        an answer that cannot be understood, or another error status
    11  a bulk run finished and at least one row failed (see the results file)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click

from xborder.client import (
    Amount,
    ApiError,
    AuthenticationError,
    ClientError,
    ConflictError,
    DeclinedError,
    NotFoundError,
    Payment,
    ResponseError,
    ServerError,
    TransportError,
    ValidationError,
)
from xborder.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_USAGE = 2
EXIT_BULK_FAILED = 11
EXIT_CODES: dict[type[ClientError], int] = {
    ValidationError: 3,
    DeclinedError: 4,
    NotFoundError: 5,
    ConflictError: 6,
    AuthenticationError: 7,
    ServerError: 8,
    TransportError: 9,
    ResponseError: 10,
    ApiError: 10,
    ClientError: 1,
}
"""Error class -> exit code, looked up along the class's MRO (most specific first)."""

PAYMENT_FIELDS = (
    "id",
    "transaction_reference",
    "status",
    "pending_stage",
    "created",
    "status_timestamp",
    "pending_max_completion_date",
    "payment_amount",
    "charged_amount",
    "fees_amount",
    "principal_amount",
    "credited_amount",
    "settlement_details",
    "fx_rate",
    "cashout_code",
)


def exit_code(exc: ClientError) -> int:
    """The exit code of an error family."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1  # pragma: no cover - ClientError is in the table


def output_options(formats: Sequence[str] = ("json", "xml")) -> Callable[[F], F]:
    """``--json`` / ``--xml``: print the answer as received (and use that wire format)."""

    def decorate(func: F) -> F:
        command: Any = click.option(
            "--table", "output", flag_value="table", default=True, help="Readable output."
        )(func)
        for fmt in reversed(formats):
            command = click.option(
                f"--{fmt}", "output", flag_value=fmt, help=f"Print the {fmt.upper()} answer."
            )(command)
        return command  # type: ignore[no-any-return]

    return decorate


def wire_format_of(output: str) -> str | None:
    """The wire format a raw output forces, if any."""
    return output if output in ("json", "xml") else None


@contextlib.contextmanager
def reporting(output: str = "table") -> Iterator[None]:
    """Turn client and configuration errors into a message and the family's exit code."""
    try:
        yield
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except ClientError as exc:
        if isinstance(exc, ApiError) and output != "table" and exc.body:
            click.echo(exc.body.decode("utf-8", "replace"))
        click.echo(f"error: {describe(exc)}", err=True)
        raise click.exceptions.Exit(exit_code(exc)) from exc


def describe(exc: ClientError) -> str:
    """One line about an error, with the request id when there is one."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ApiError) and exc.request_id:
        text += f" [RequestId {exc.request_id}]"
    return text


def echo_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    """A two-column ``name  value`` listing."""
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        click.echo(f"{name:<{width}}  {value}")


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned on the widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        click.echo("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip())


def payment_pairs(payment: Payment) -> list[tuple[str, str]]:
    """The non-empty fields of a payment, in Mastercard's order, then any rejection."""
    pairs = [(name, text(getattr(payment, name))) for name in PAYMENT_FIELDS]
    if payment.rejected_status is not None:
        status = payment.rejected_status
        pairs.append(("rejected_status", f"{status.code or ''} {status.message or ''}".strip()))
    if payment.return_message:
        pairs.append(("return_status", payment.return_message))
    return [(name, value) for name, value in pairs if value]


def text(value: Any) -> str:
    """A value as a table cell: amounts as ``100.00 USD``, timestamps in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, Amount):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
