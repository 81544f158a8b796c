"""What the benchmark scripts that print fixed-width tables share (`scale.py`, `journal.py`): a
copy of everything they print, written as a markdown report (`--markdown`) with the command,
the host and the library versions, so `docs/` holds the tables a run produced on this machine.

A script imports it as `report` (its directory is on `sys.path` when run as
`python benchmarks/<script>.py`).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shlex
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def versions(libraries: Sequence[str]) -> dict[str, str | None]:
    """Python's version and each installed distribution's (None when it is not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in libraries:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


class _Tee:
    """A text stream that writes through to `out` and keeps a copy."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.parts = out, list[str]()

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()

    def __getattr__(self, name: str) -> object:  # isatty, encoding, fileno, ...
        return getattr(self.out, name)


@contextmanager
def printed() -> Iterator[list[str]]:
    """Copy what is printed to standard output inside the block; the list holds it, one string
    per write, once the block has ended."""
    tee, kept = _Tee(sys.stdout), list[str]()
    sys.stdout = tee  # type: ignore[assignment]
    try:
        yield kept
    finally:
        sys.stdout = tee.out
        kept.extend(tee.parts)


def command(script: str, argv: Sequence[str], *, private: Sequence[str] = ()) -> str:
    """The command that ran `script` with `argv`, as it would be typed at the repository's root
    (`nice` when this process runs at a lower priority); the value of each option in `private`
    (a path on this host) is written as its name in capitals."""
    shown = list(argv)
    for i, arg in enumerate(shown):
        option, joined, _ = arg.partition("=")
        if option not in private:
            continue
        name = option.lstrip("-").upper()
        if joined:
            shown[i] = f"{option}={name}"
        elif i + 1 < len(shown):
            shown[i + 1] = name
    niced = "nice " if os.nice(0) > 0 else ""
    return f"{niced}.venv/bin/python benchmarks/{script} {shlex.join(shown)}".rstrip()


@contextmanager
def reported(
    path: Path | None,
    *,
    title: str,
    script: str,
    doc: str | None,
    libraries: Sequence[str],
    private: Sequence[str] = (),
) -> Iterator[None]:
    """Inside the block, copy what is printed; after it, with a `path`, write the copy there as
    a markdown report titled `title`, with the command that ran `script` (this process's
    arguments, each value of an option in `private` hidden), the part of `doc` (the script's
    docstring) before its "Usage:", the host and the versions of `libraries`."""
    with printed() as text:
        yield
    if path is None:
        return
    found = ", ".join(f"{k} {v}" for k, v in versions(libraries).items() if v is not None)
    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines = [
        f"# {title}",
        "",
        f"Written by `benchmarks/{script}` with `--markdown`; do not edit by hand. Command:",
        "",
        "```",
        command(script, sys.argv[1:], private=private),
        "```",
        "",
        (doc or "").split("Usage:")[0].strip(),
        "",
        f"Run on {day}, on a {os.cpu_count()}-core host. Versions: {found}.",
        "",
        "```text",
        "".join(text).rstrip("\n"),
        "```",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
