"""``xborder payments``: create, retrieve, find and cancel payments through ``xborder.client``,
one at a time or in bulk.

The group is meant to grow: a module adding operator commands (``advance``, ``settle``,
``reject``, ``return``) defines them with ``@payments.command()`` or registers them with
``payments.add_command(...)``; connection handling is in :mod:`._profiles`, printing and exit
codes in :mod:`._output`, bulk runs in :mod:`._bulk`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from xborder.cli.commands import _bulk
from xborder.cli.commands._output import (
    EXIT_BULK_FAILED,
    echo_pairs,
    output_options,
    payment_pairs,
    reporting,
    wire_format_of,
)
from xborder.cli.commands._profiles import Injected, connection_options, open_client
from xborder.client import Cancellation, ClientError, Payment, XborderClient

F = TypeVar("F", bound=Callable[..., Any])
CANCELLED = {
    "json": '{"cancelpayment":{"status":"SUCCESS"}}',
    "xml": '<?xml version="1.0" encoding="UTF-8"?><cancelpayment><status>SUCCESS</status>'
    "</cancelpayment>",
}


@click.group()
def payments() -> None:
    """Create, retrieve and cancel payments (XBS Payment, Retrieve and Cancel APIs).

    Connection settings come from flags, XBORDER_* variables (XBORDER_BASE_URL,
    XBORDER_PARTNER_ID, XBORDER_CONSUMER_KEY, XBORDER_SIGNING_KEY, ...) or a profile of
    ~/.config/xborder/profiles.toml (see docs/client.md). Exit codes: 0 success, 2 usage,
    3 validation, 4 declined, 5 not found, 6 conflict, 7 authentication, 8 server error,
    9 no answer, 10 answer not understood, 11 bulk run with failed rows.

    \b
    Examples:
      xborder payments create request.json --partner-id MYBANK_SANDBOX1
      xborder payments get rem_zoALfF30XHku95_NCWQvAS24d1M
      xborder payments cancel DEMO-0001 --profile mc-sandbox
      xborder payments create --from payments.csv --results created.csv
    """


def bulk_options(func: F) -> F:
    """``--from``, ``--results`` and ``--parallel``."""
    func = click.option(
        "--parallel",
        type=click.IntRange(1, 32),
        default=1,
        show_default=True,
        help="Rows in flight at once in a bulk run.",
    )(func)
    func = click.option(
        "--results",
        "results_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Results file, .csv or .jsonl [default: beside the input].",
    )(func)
    return click.option(
        "--from",
        "source",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Bulk input: one row per payment.",
    )(func)


@payments.command("create")
@click.argument("request", type=click.File("r", encoding="utf-8"), required=False)
@click.option("--reference", help="Use this transaction_reference instead of the file's.")
@bulk_options
@output_options()
@connection_options
def create(
    request: TextIO | None,
    reference: str | None,
    source: Path | None,
    results_path: Path | None,
    parallel: int,
    output: str,
    settings: Any,
) -> None:
    """Create a payment from a JSON paymentrequest (REQUEST, or - for standard input), or one
    payment per row of a .csv or .jsonl file (--from).

    A call whose answer is lost is retried with the same reference and the same bytes, which
    the server answers with the payment it created the first time (D7).

    \b
    Examples:
      xborder payments create request.json
      xborder payments create request.json --reference DEMO-0002 --xml
      cat request.json | xborder payments create - --json
      xborder payments create --from payments.jsonl --results created.jsonl --parallel 4
    """
    _one_input(request, source, output)
    if source is not None:
        _bulk_create(settings, source, results_path, parallel)
    elif request is not None:
        body = _request_body(request, reference)
        with reporting(output), _open(settings, output) as client:
            _show_payment(client.create_payment(body), output)


@payments.command("get")
@click.argument("payment_id")
@output_options()
@connection_options
def get(payment_id: str, output: str, settings: Any) -> None:
    """Retrieve a payment by its id.

    \b
    Examples:
      xborder payments get rem_zoALfF30XHku95_NCWQvAS24d1M
      xborder payments get rem_zoALfF30XHku95_NCWQvAS24d1M --xml
    """
    with reporting(output), _open(settings, output) as client:
        _show_payment(client.get_payment(payment_id), output)


@payments.command("find")
@click.argument("reference")
@output_options()
@connection_options
def find(reference: str, output: str, settings: Any) -> None:
    """Retrieve a payment by its transaction reference.

    \b
    Examples:
      xborder payments find DEMO-0001
      xborder payments find 'A/B?C' --json
    """
    with reporting(output), _open(settings, output) as client:
        _show_payment(client.find_payment(reference), output)


@payments.command("cancel")
@click.argument("key", required=False)
@bulk_options
@output_options()
@connection_options
def cancel(
    key: str | None,
    source: Path | None,
    results_path: Path | None,
    parallel: int,
    output: str,
    settings: Any,
) -> None:
    """Cancel a PENDING payment by id or transaction reference (KEY), or every payment a file
    names (--from: a create results file, a .csv/.jsonl with id or transaction_reference
    columns, or one key per line).

    A cancel whose answer is lost is not repeated blindly: a Retrieve first tells whether it
    landed, and a payment found CANCELLED counts as success.

    \b
    Examples:
      xborder payments cancel rem_zoALfF30XHku95_NCWQvAS24d1M
      xborder payments cancel DEMO-0001 --json
      xborder payments cancel --from created.csv --results cancelled.csv
    """
    _one_input(key, source, output)
    if source is not None:
        _bulk_cancel(settings, source, results_path, parallel)
    elif key is not None:
        with reporting(output), _open(settings, output) as client:
            _show_cancellation(client.cancel_payment(key), output)


def _one_input(single: object, source: Path | None, output: str) -> None:
    if (single is None) == (source is None):
        raise click.UsageError("give either one payment or --from FILE")
    if source is not None and output != "table":
        raise click.UsageError("--json/--xml print one answer; a bulk run writes --results")


def _open(settings: Any, output: str | None) -> XborderClient:
    context = click.get_current_context()
    injected = context.find_object(Injected)
    connection = settings.resolve(wire_format_of(output or "table"))
    return open_client(connection, injected)


def _request_body(request: TextIO, reference: str | None) -> dict[str, Any]:
    try:
        value = _bulk.unwrapped(json.loads(request.read()))
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"REQUEST is not JSON: {exc.msg} (line {exc.lineno})") from exc
    if isinstance(value, dict) and reference is not None:
        value["transaction_reference"] = reference
    row = _bulk.request_row(1, value)
    if row.problem is not None:
        raise click.UsageError(f"REQUEST must hold one paymentrequest object: {row.problem}")
    body: dict[str, Any] = row.value
    return body


def _show_payment(payment: Payment, output: str) -> None:
    if output != "table":
        click.echo(payment.raw.decode("utf-8", "replace"))
        return
    echo_pairs(payment_pairs(payment))


def _show_cancellation(cancellation: Cancellation, output: str) -> None:
    if output != "table":
        click.echo(cancellation.raw.decode("utf-8", "replace") or CANCELLED[output])
        return
    click.echo(f"cancelled {cancellation.key}: {cancellation.status}")
    if cancellation.confirmed:
        click.echo(
            f"(an answer was lost; a retrieve after {cancellation.attempts} attempt(s)"
            " shows the payment CANCELLED)"
        )


def _bulk_create(settings: Any, source: Path, results: Path | None, parallel: int) -> None:
    def create_one(client: XborderClient, row: _bulk.Row) -> _bulk.Result:
        payment = client.create_payment(row.value)
        return _bulk.Result(row.line, payment.transaction_reference, payment.id, payment.status)

    read = _bulk.read_payment_requests
    _bulk_run(settings, read, create_one, ("Creating", "created"), source, results, parallel)


def _bulk_cancel(settings: Any, source: Path, results: Path | None, parallel: int) -> None:
    def cancel_one(client: XborderClient, row: _bulk.Row) -> _bulk.Result:
        done = client.cancel_payment(row.value)
        note = "confirmed by retrieve" if done.confirmed else ""
        return _bulk.Result(row.line, row.reference, row.id, "CANCELLED", description=note)

    read = _bulk.read_cancel_keys
    _bulk_run(settings, read, cancel_one, ("Cancelling", "cancelled"), source, results, parallel)


def _bulk_run(
    settings: Any,
    read: Callable[[Path], list[_bulk.Row]],
    action: Callable[[XborderClient, _bulk.Row], _bulk.Result],
    verbs: tuple[str, str],
    source: Path,
    results: Path | None,
    parallel: int,
) -> None:
    """Read the rows of ``source``, ``action`` each one with one client, report and summarise.

    A :class:`ClientError` fails its row only; the run goes on.
    """
    with reporting():
        rows = read(source)
        with _open(settings, None) as client:

            def one(row: _bulk.Row) -> _bulk.Result:
                try:
                    return action(client, row)
                except ClientError as exc:
                    return _bulk.failure(row, exc)

            path = results or _bulk.default_results_path(source)
            started = time.monotonic()
            label = f"{verbs[0]} {len(rows)} payments"
            done = _bulk.run(rows, one, label=label, results_path=path, parallel=parallel)
            click.echo(
                _bulk.summary(f"payments {verbs[1]}", done, time.monotonic() - started, path)
            )
            if any(result.failed for result in done):
                raise click.exceptions.Exit(EXIT_BULK_FAILED)
