"""docs/lifecycle.md lists every sandbox trigger of the code (D15: one table, kept in sync)."""

from __future__ import annotations

from pathlib import Path

from xborder.sandbox.scenarios import TRIGGERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


def test_every_trigger_has_its_row() -> None:
    text = DOC.read_text(encoding="utf-8")
    for trigger in TRIGGERS:
        assert f"| `{trigger.name}` | `{trigger.example}` | {trigger.description} |" in text
