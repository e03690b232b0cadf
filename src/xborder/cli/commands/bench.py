"""``xborder bench``: run the benchmark of the repository's ``bench/`` package (issue 7).

The benchmark is a development tool and is not part of the installed package: this command
only finds the clone this xborder is installed from and runs ``python -m bench.run`` there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click


def _repository() -> Path | None:
    """The clone holding ``bench/run.py`` (an editable install from a clone), if any."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "bench" / "run.py").is_file() and (parent / "pyproject.toml").is_file():
            return parent
    return None


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench(options: tuple[str, ...]) -> None:
    """Run the benchmark (`make bench`); options go to `python -m bench.run`.

    \b
    Examples:
      xborder bench                  # the whole matrix, under 10 minutes
      xborder bench --quick          # the target runs only
      xborder bench --help           # every option
    """
    root = _repository()
    if root is None:
        raise click.ClickException(
            "the benchmark lives in the bench/ folder of a clone of the repository: "
            "install xborder from a clone (pip install -e .) and run it there"
        )
    command = [sys.executable, "-m", "bench.run", *options]
    sys.exit(subprocess.call(command, cwd=root))  # noqa: S603 - our own interpreter and module
