"""Summarise py-spy's collapsed stacks (``python -m bench.run --profile DIR``).

    python -m bench.profile DIR/sqlite_1w_cancel_json_10k.txt [--top 40] [--match xborder]

Prints, per function, the share of samples in which it is on the stack (inclusive) and at
the top of the stack (self), with idle samples (the event loop waiting) left out; with
``--areas``, the self time grouped by area (SQLAlchemy, OAuth, uvicorn ...).
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_IDLE = re.compile(r"(select|epoll|poll|wait|_run_once|run_forever|sleep|acquire)\b")


def summarise(path: Path, top: int, match: str | None) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        leaf = frames[-1]
        if _IDLE.search(leaf.split(" (")[0]) and "xborder" not in stack.split(";")[-1]:
            idle += n
            continue
        self_time[_name(leaf)] += n
        for name in {_name(f) for f in frames}:
            inclusive[name] += n
    busy = max(total - idle, 1)
    out = [f"{path.name}: {total} samples, {idle} idle; shares of the {busy} busy samples", ""]
    out.append(f"{'incl %':>7} {'self %':>7}  function")
    ranked = [k for k, _ in inclusive.most_common() if not match or match in k]
    for name in ranked[:top]:
        out.append(
            f"{100 * inclusive[name] / busy:7.1f} {100 * self_time[name] / busy:7.1f}  {name}"
        )
    out += ["", "top self time:"]
    for name, n in self_time.most_common(top // 2):
        out.append(f"{100 * n / busy:7.1f}  {name}")
    return "\n".join(out)


AREAS = {
    "SQLAlchemy and sqlite3 (transactions, statements)": ("sqlalchemy/", "xborder/storage/"),
    "OAuth 1.0a (header, base string, RSA verify)": ("xborder/security/oauth1.py", "urllib/"),
    "JWE (jwcrypto, cryptography)": ("jwcrypto/", "xborder/security/jwe.py"),
    "anyio thread pool hop": ("anyio/", "threading.py", "queue.py"),
    "uvicorn (HTTP parsing, transport)": ("uvicorn/",),
    "Starlette and the access log": ("starlette/", "access_log.py", "logging/", "logs.py"),
    "asyncio loop": ("asyncio/",),
}


def areas(path: Path) -> str:
    """Self time grouped by area (the leaf frame's file decides)."""
    shares: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        match = re.search(r"\((.*?)(:\d+)?\)$", stack.split(";")[-1])
        leaf = match.group(1) if match else stack
        total += int(count)
        area = next((a for a, keys in AREAS.items() if any(k in leaf for k in keys)), None)
        shares[area or f"other ({leaf.split('/')[0]})"] += int(count)
    return "\n".join(f"{100 * n / max(total, 1):5.1f} %  {a}" for a, n in shares.most_common(12))


def _name(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match")
    parser.add_argument("--areas", action="store_true", help="self time by area only")
    args = parser.parse_args()
    print(areas(args.path) if args.areas else summarise(args.path, args.top, args.match))


if __name__ == "__main__":
    main()
