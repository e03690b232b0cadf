"""Every decision id and reference section the repository cites is written down in ``docs/``.

Code, tests and documents cite rulings as ``D3`` (defined by a ``## D3. Title`` heading in
docs/decisions.md) and Mastercard facts as ``docs/reference.md §2.4`` (defined by a ``## §2.``
or ``### §2.4`` heading there; section numbers are kept stable). A citation of something that
is not there points a reader nowhere, so it fails here, with the file and line that cites it.
So does a citation of the reference page by the name it had before it came into the
repository, ``xbs-api.md``: no reader can open that file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECISIONS = ROOT / "docs" / "decisions.md"
REFERENCE = ROOT / "docs" / "reference.md"
SCANNED = ("src", "tests", "bench", "docs", "README.md", "CONTRIBUTING.md")
TEXT_SUFFIXES = frozenset({".py", ".md", ".lua", ".mako", ".toml", ".txt", ".yaml", ".yml"})
"""Prose and code; data files (JSON and XML samples, charts) cite nothing and are skipped."""

DECISION_HEADING = re.compile(r"^## D(\d{1,2})\. \S", re.MULTILINE)
DECISION = re.compile(r"\bD(\d{1,2})\b")
DECISION_RANGE = re.compile(r"\bD(\d{1,2})\s*[-–]\s*D(\d{1,2})\b")
SECTION_HEADING = re.compile(r"^#{2,3} §(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
SECTION_CITATION = re.compile(r"reference\.md`?((?:[\s,;`#]*(?:and\s+)?§\d+(?:\.\d+)*)+)")
"""A mention of the reference page followed by its run of sections: ``reference.md §2.2, §9``."""
FORMER_NAME = re.compile(r"xbs-api\.md", re.IGNORECASE)
"""The reference page's name outside the repository, before docs/reference.md."""


def scanned_files() -> Iterator[Path]:
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") or part == "__pycache__" for part in found.parts)
                if found.is_file() and found.suffix in TEXT_SUFFIXES and not hidden:
                    yield found


def where(path: Path, text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"{path.relative_to(ROOT)}:{line}"


def defined_decisions() -> set[int]:
    return {int(n) for n in DECISION_HEADING.findall(DECISIONS.read_text(encoding="utf-8"))}


def defined_sections() -> set[str]:
    return set(SECTION_HEADING.findall(REFERENCE.read_text(encoding="utf-8")))


def cited_decisions(path: Path, text: str) -> Iterator[tuple[str, int]]:
    """``(file:line, id)`` for every id cited, including those inside a range ``D6-D9``."""
    for match in DECISION.finditer(text):
        yield where(path, text, match.start()), int(match[1])
    for match in DECISION_RANGE.finditer(text):
        first, last = int(match[1]), int(match[2])
        for number in range(first + 1, last):
            yield where(path, text, match.start()), number


def cited_sections(path: Path, text: str) -> Iterator[tuple[str, str]]:
    """``(file:line, section)`` for every section cited next to the reference page's name.

    Inside docs/reference.md every ``§`` is a cross-reference to the page itself.
    """
    if path == REFERENCE:
        runs = [(m.start(), m[0]) for m in SECTION.finditer(text)]
    else:
        runs = [(m.start(1), m[1]) for m in SECTION_CITATION.finditer(text)]
    for start, run in runs:
        for match in SECTION.finditer(run):
            yield where(path, text, start + match.start()), match[1]


def test_decisions_are_numbered_without_gaps_or_repeats() -> None:
    numbers = [int(n) for n in DECISION_HEADING.findall(DECISIONS.read_text(encoding="utf-8"))]
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_cited_decision_is_defined() -> None:
    defined = defined_decisions()
    missing = [
        f"{place}: D{number} has no '## D{number}.' heading in docs/decisions.md"
        for path in scanned_files()
        for place, number in cited_decisions(path, path.read_text(encoding="utf-8"))
        if number not in defined
    ]
    assert not missing, "\n".join(missing)


def test_every_cited_reference_section_exists() -> None:
    defined = defined_sections()
    missing = [
        f"{place}: §{section} is not a section of docs/reference.md"
        for path in scanned_files()
        for place, section in cited_sections(path, path.read_text(encoding="utf-8"))
        if section not in defined
    ]
    assert not missing, "\n".join(missing)


def former_name_mentions(path: Path, text: str) -> Iterator[str]:
    """``file:line`` of every mention of the reference page's former name."""
    for match in FORMER_NAME.finditer(text):
        yield where(path, text, match.start())


def test_nothing_cites_the_reference_page_by_its_former_name() -> None:
    stale = [
        f"{place}: cite docs/reference.md (the same sections) instead"
        for path in scanned_files()
        if path != Path(__file__).resolve()  # which names it to look for it
        for place in former_name_mentions(path, path.read_text(encoding="utf-8"))
    ]
    assert not stale, "\n".join(stale)
