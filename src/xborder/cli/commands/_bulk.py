"""Bulk runs of the payment commands: rows in (CSV or JSONL), one call per row under a
progress bar, one result per row out (CSV or JSONL, written as it goes), and a summary.

Payment requests:

- ``.jsonl``: one ``paymentrequest`` object per line (with or without that root);
- ``.csv``: one column per field, nested fields by dotted names (``payment_amount.amount``,
  ``sender.address.country``), additional data as ``additional_data.<name>`` columns; empty
  cells are left out (D10).

Cancel keys: ``.csv`` or ``.jsonl`` with an ``id`` or a ``transaction_reference`` (the
results file of a bulk create works as it is), or any other file with one id or reference per
line (``#`` starts a comment).
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from xborder.client import ApiError, ClientError

RESULT_FIELDS = (
    "line",
    "reference",
    "id",
    "status",
    "http_status",
    "reason_code",
    "error_code",
    "description",
)
ADDITIONAL_DATA = "additional_data."
KEY_COLUMNS = ("id", "transaction_reference", "reference")


@dataclass(frozen=True)
class Row:
    """One input row: a payment request or a cancel key, or why it could not be read."""

    line: int
    value: Any = None
    reference: str = ""
    id: str = ""
    problem: str | None = None


@dataclass(frozen=True)
class Result:
    """One output row: what became of an input row."""

    line: int
    reference: str = ""
    id: str = ""
    status: str = ""
    http_status: str = ""
    reason_code: str = ""
    error_code: str = ""
    description: str = ""

    @property
    def failed(self) -> bool:
        """Whether the row's call (or its input) failed."""
        return self.status in ("ERROR", "INVALID")


def failure(row: Row, exc: ClientError) -> Result:
    """The result of a row whose call raised."""
    if isinstance(exc, ApiError):
        return Result(
            row.line,
            row.reference,
            row.id,
            "ERROR",
            str(exc.status),
            exc.reason_code or "",
            exc.error_detail_code or "",
            exc.description or str(exc),
        )
    return Result(row.line, row.reference, row.id, "ERROR", "", type(exc).__name__, "", str(exc))


def read_payment_requests(path: Path) -> list[Row]:
    """Payment requests from a ``.csv`` or ``.jsonl`` file."""
    if path.suffix.lower() == ".csv":
        return [request_row(line, _nested(cells)) for line, cells in _csv_rows(path)]
    return [request_row(line, unwrapped(value)) for line, value in _jsonl_rows(path)]


def read_cancel_keys(path: Path) -> list[Row]:
    """Cancel keys (ids or references) from a ``.csv``, ``.jsonl`` or plain text file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [_key_row(line, cells) for line, cells in _csv_rows(path)]
    if suffix == ".jsonl":
        return [_key_row(line, value) for line, value in _jsonl_rows(path)]
    return [_key_row(line, text) for line, text in _text_rows(path)]


def run(
    rows: list[Row],
    action: Callable[[Row], Result],
    *,
    label: str,
    results_path: Path,
    parallel: int = 1,
) -> list[Result]:
    """Run ``action`` over ``rows`` under a progress bar; write each result as it comes."""
    results: list[Result] = []
    with ResultsWriter(results_path) as writer, progress(len(rows), label) as bar:
        for result in _results(rows, _guarded(action), parallel):
            writer.write(result)
            results.append(result)
            bar.update(1)
    return results


def progress(length: int, label: str, file: TextIO | None = None) -> Any:
    """A ``click.progressbar`` on standard error (only the label when it is not a terminal)."""
    return click.progressbar(
        length=length,
        label=label,
        file=file or sys.stderr,
        show_pos=True,
        show_eta=True,
    )


def summary(verb: str, results: list[Result], seconds: float, results_path: Path) -> str:
    """``1000 payments created in 4.2 s: 998 succeeded, 2 failed (130101 x2); results: …``."""
    failed = [r for r in results if r.failed]
    text = (
        f"{len(results)} {verb} in {seconds:.1f} s: "
        f"{len(results) - len(failed)} succeeded, {len(failed)} failed"
    )
    if failed:
        counts = Counter(r.error_code or r.reason_code or r.status for r in failed)
        text += " (" + ", ".join(f"{code} x{n}" for code, n in counts.most_common()) + ")"
    return f"{text}; results in {results_path}"


def default_results_path(source: Path) -> Path:
    """``<source>.results.<csv|jsonl>`` beside the input, never an existing file."""
    suffix = ".jsonl" if source.suffix.lower() == ".jsonl" else ".csv"
    candidate = source.with_name(f"{source.stem}.results{suffix}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = source.with_name(f"{source.stem}.results-{number}{suffix}")
    return candidate


class ResultsWriter:
    """Writes results as CSV or JSONL (by the file's suffix), one line per result."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jsonl = path.suffix.lower() == ".jsonl"
        self._file: TextIO | None = None
        self._csv: Any = None

    def __enter__(self) -> ResultsWriter:
        self._file = self.path.open("w", encoding="utf-8", newline="")
        if not self._jsonl:
            self._csv = csv.DictWriter(self._file, fieldnames=RESULT_FIELDS)
            self._csv.writeheader()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()

    def write(self, result: Result) -> None:
        """Append one result and flush, so an interrupted run keeps what it did."""
        if self._file is None:
            raise RuntimeError("ResultsWriter used outside its with block")
        values = asdict(result)
        if self._jsonl:
            self._file.write(json.dumps(values, ensure_ascii=False) + "\n")
        else:
            self._csv.writerow(values)
        self._file.flush()


def _guarded(action: Callable[[Row], Result]) -> Callable[[Row], Result]:
    def guarded(row: Row) -> Result:
        if row.problem is not None:
            return Result(row.line, row.reference, row.id, "INVALID", "", "", "", row.problem)
        return action(row)

    return guarded


def _results(rows: list[Row], action: Callable[[Row], Result], parallel: int) -> Iterator[Result]:
    if parallel <= 1:
        yield from map(action, rows)
        return
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        yield from pool.map(action, rows)  # in input order, while later rows run


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for cells in reader:
            yield reader.line_num, cells


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    for line, text in _lines(path):
        try:
            yield line, json.loads(text)
        except json.JSONDecodeError as exc:
            yield line, _Problem(f"not JSON: {exc.msg}")


def _text_rows(path: Path) -> Iterator[tuple[int, str]]:
    for line, text in _lines(path):
        if not text.startswith("#"):
            yield line, text


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if text.strip():
                yield line, text.strip()


@dataclass(frozen=True)
class _Problem:
    text: str


def request_row(line: int, value: Any) -> Row:
    """A payment-request row, or why the value is not one."""
    if isinstance(value, _Problem):
        return Row(line, problem=value.text)
    if not isinstance(value, Mapping):
        return Row(line, problem="not a paymentrequest object")
    reference = value.get("transaction_reference")
    if not isinstance(reference, str) or not reference:
        return Row(line, problem="no transaction_reference")
    return Row(line, dict(value), reference=reference)


def unwrapped(value: Any) -> Any:
    """The value under a ``paymentrequest`` root, or the value itself."""
    if isinstance(value, Mapping) and set(value) == {"paymentrequest"}:
        return value["paymentrequest"]
    return value


def _nested(cells: Mapping[Any, Any]) -> Any:
    """Dotted CSV columns -> a nested ``paymentrequest``; empty cells are left out."""
    if None in cells:
        return _Problem("more cells than columns")
    request: dict[str, Any] = {}
    extra: list[dict[str, str]] = []
    for column, cell in cells.items():
        if column is None or cell is None or not str(cell).strip():
            continue
        if column.startswith(ADDITIONAL_DATA):
            extra.append({"name": column[len(ADDITIONAL_DATA) :], "value": str(cell)})
        elif not _put(request, column.strip().split("."), str(cell)):
            return _Problem(f"column {column} clashes with another column")
    if extra:
        request["additional_data"] = {"data_field": extra}
    return request


def _put(tree: dict[str, Any], path: list[str], value: str) -> bool:
    node = tree
    for name in path[:-1]:
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            return False
        node = child
    if path[-1] in node:
        return False
    node[path[-1]] = value
    return True


def _key_row(line: int, value: Any) -> Row:
    if isinstance(value, _Problem):
        return Row(line, problem=value.text)
    if isinstance(value, str):
        return Row(line, value, reference=value)
    if not isinstance(value, Mapping):
        return Row(line, problem="neither a key nor an object")
    found = {name: str(value.get(name) or "").strip() for name in KEY_COLUMNS}
    reference = found["transaction_reference"] or found["reference"]
    key = found["id"] or reference
    if not key:
        return Row(line, problem="no id or transaction_reference")
    return Row(line, key, reference=reference, id=found["id"])
