"""Bulk runs: ``xborder payments create --from`` and ``cancel --from`` with their progress
output, results files and summaries, 1,000 rows included."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.client.conftest import Invoke
from tests.payloads import payment_request
from xborder.cli.commands import _bulk

COLUMNS = [
    "transaction_reference",
    "sender_account_uri",
    "recipient_account_uri",
    "payment_amount.amount",
    "payment_amount.currency",
    "payment_origination_country",
    "fx_type.forward.fees_included",
    "fx_type.forward.receiver_currency",
    "payment_type",
    "sender.first_name",
    "sender.last_name",
    "sender.address.line1",
    "sender.address.city",
    "sender.address.country",
    "recipient.first_name",
    "recipient.last_name",
    "recipient.address.line1",
    "recipient.address.city",
    "recipient.address.country",
    "purpose_of_payment",
    "additional_data.701",
]


def csv_row(reference: str) -> list[str]:
    request = payment_request(reference, additional=[("701", "KEN")])
    cells = []
    for column in COLUMNS:
        if column.startswith("additional_data."):
            cells.append("KEN")
            continue
        value: Any = request
        for name in column.split("."):
            value = value[name]
        cells.append(value)
    return cells


def write_csv(path: Path, references: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(csv_row(reference) for reference in references)
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def count_payments(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM payments")).scalar_one())


def test_a_thousand_rows(run: Invoke, tmp_path: Path, engine: Engine) -> None:
    source = write_csv(tmp_path / "payments.csv", [f"BULK-{n:04d}" for n in range(1000)])
    results = tmp_path / "created.csv"
    created = run(
        "payments", "create", "--from", str(source), "--results", str(results), "--parallel", "4"
    )
    assert created.exit_code == 0, created.output
    assert "Creating 1000 payments" in created.stderr  # the progress bar (label off a terminal)
    assert created.stdout.startswith("1000 payments created in ")
    assert "1000 succeeded, 0 failed; results in " + str(results) in created.stdout
    rows = read_results(results)
    assert len(rows) == 1000 and list(rows[0]) == list(_bulk.RESULT_FIELDS)
    assert [row["reference"] for row in rows] == [f"BULK-{n:04d}" for n in range(1000)]
    assert {row["status"] for row in rows} == {"PENDING"}
    assert len({row["id"] for row in rows}) == 1000
    assert count_payments(engine) == 1000
    assert rows[0]["line"] == "2"  # the CSV line of the row, after the header


def test_failed_rows_are_reported_and_the_run_goes_on(run: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "payments.jsonl"
    lines = [
        json.dumps({"paymentrequest": payment_request("JL-1")}),
        "{not json",
        json.dumps(payment_request("04JL-REFUSED")),  # declined at submission: 130101
        json.dumps({"payment_type": "P2P"}),  # no reference
        "",
        json.dumps(payment_request("JL-2", payment_type="XYZ")),  # 400 082000
        json.dumps(payment_request("JL-3")),
    ]
    source.write_text("\n".join(lines) + "\n")
    result = run("payments", "create", "--from", str(source))
    assert result.exit_code == 11, result.output
    assert "6 payments created" in result.stdout and "2 succeeded, 4 failed" in result.stdout
    assert "130101 x1" in result.stdout and "082000 x1" in result.stdout
    results = tmp_path / "payments.results.jsonl"  # the default: beside the input
    rows = {row["line"]: row for row in read_results(results)}
    assert rows[1]["status"] == "PENDING" and rows[7]["status"] == "PENDING"
    assert rows[2]["status"] == "INVALID" and "not JSON" in rows[2]["description"]
    assert (rows[3]["status"], rows[3]["http_status"], rows[3]["error_code"]) == (
        "ERROR",
        "402",
        "130101",
    )
    assert rows[4]["description"] == "no transaction_reference"
    assert (rows[6]["reason_code"], rows[6]["error_code"]) == ("INVALID_INPUT_VALUE", "082000")


def test_cancel_everything_a_create_run_made(run: Invoke, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "p.csv", [f"BC-{n}" for n in range(10)] + ["09BC-DONE"])
    created = tmp_path / "created.csv"
    assert (
        run("payments", "create", "--from", str(source), "--results", str(created)).exit_code == 0
    )
    cancelled = tmp_path / "cancelled.jsonl"
    result = run("payments", "cancel", "--from", str(created), "--results", str(cancelled))
    assert result.exit_code == 11  # the 09 payment is SUCCESS already: 130111
    assert "Cancelling 11 payments" in result.stderr
    assert "11 payments cancelled" in result.stdout and "10 succeeded, 1 failed (130111 x1)" in (
        result.stdout
    )
    rows = read_results(cancelled)
    assert [row["status"] for row in rows] == ["CANCELLED"] * 10 + ["ERROR"]
    assert all(row["id"].startswith("rem_") for row in rows)


def test_cancel_keys_from_a_plain_list(run: Invoke, tmp_path: Path) -> None:
    for reference in ("KL-1", "KL-2"):
        run("payments", "create", "-", input=json.dumps(payment_request(reference)))
    keys = tmp_path / "keys.txt"
    keys.write_text("# references to cancel\nKL-1\n\nKL-2\nKL-UNKNOWN\n")
    result = run("payments", "cancel", "--from", str(keys), "--results", str(tmp_path / "r.csv"))
    assert result.exit_code == 11
    rows = read_results(tmp_path / "r.csv")
    assert [(row["line"], row["status"], row["error_code"]) for row in rows] == [
        ("2", "CANCELLED", ""),
        ("4", "CANCELLED", ""),
        ("5", "ERROR", "110507"),
    ]


def test_bulk_refuses_raw_output(run: Invoke, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "one.csv", ["RAW-1"])
    assert run("payments", "create", "--from", str(source), "--json").exit_code == 2


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_on_a_terminal() -> None:
    screen = Terminal()
    with _bulk.progress(3, "Creating 3 payments", file=screen) as bar:
        for _ in range(3):
            bar.update(1)
    shown = screen.getvalue()
    assert "Creating 3 payments" in shown and "3/3" in shown


def test_csv_columns_become_a_nested_request(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "one.csv", ["NEST-1"])
    (row,) = _bulk.read_payment_requests(source)
    expected = payment_request("NEST-1", additional=[("701", "KEN")])
    assert row.value == expected
    clash = tmp_path / "clash.csv"
    clash.write_text("transaction_reference,sender,sender.first_name\nX,a,b\n")
    assert (
        _bulk.read_payment_requests(clash)[0].problem
        == "column sender.first_name clashes with another column"
    )


def test_default_results_files_never_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    first = _bulk.default_results_path(source)
    assert first == tmp_path / "in.results.csv"
    first.write_text("")
    assert _bulk.default_results_path(source) == tmp_path / "in.results-2.csv"
    assert _bulk.default_results_path(tmp_path / "in.jsonl").suffix == ".jsonl"
