"""Commands to suggest that run as typed, from the directory the user is in.

A fresh clone installs newswatch into ``.venv`` without activating it, so ``newswatch``
is often not on ``PATH``; a hint that says ``newswatch ...`` then fails with "command not
found". :func:`program` names the running newswatch the way the user can type it: plain
``newswatch`` when that is what ``PATH`` finds, else its path (``.venv/bin/newswatch``),
else ``python -m crawler.cli`` with this interpreter.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

__all__ = ["datasette", "program", "shown_path"]


def shown_path(path: Path, *, cwd: Path | None = None) -> str:
    """``path`` relative to ``cwd`` when it lies inside it (``newswatch-demo.toml``,
    ``.venv/bin/newswatch``), else absolute; quoted for a POSIX shell."""
    cwd = (cwd or Path.cwd()).resolve()
    absolute = Path(os.path.abspath(path))
    try:
        shown = str(absolute.relative_to(cwd))
    except ValueError:
        shown = str(absolute)
    return shlex.quote(shown)


def _same_file(a: str | None, b: Path) -> bool:
    try:
        return a is not None and Path(a).resolve() == b.resolve()
    except OSError:
        return False


def _script(name: str, *, cwd: Path | None = None) -> str | None:
    """How to type the console script ``name`` of this installation, if it has one."""
    candidates = [Path(sys.argv[0])] if Path(sys.argv[0]).name == name else []
    candidates.append(Path(sys.executable).parent / name)  # the venv's bin (not resolved)
    for candidate in candidates:
        if candidate.is_file():
            if _same_file(shutil.which(name), candidate):
                return name
            shown = shown_path(candidate, cwd=cwd)
            # a relative path needs a slash to run as typed (bin/newswatch does)
            return shown if "/" in shown else f"./{shown}"
    return None


def program(*, cwd: Path | None = None) -> str:
    """The running newswatch, as the user can type it from ``cwd``."""
    return _script("newswatch", cwd=cwd) or shlex.join([sys.executable, "-m", "crawler.cli"])


def datasette(*, cwd: Path | None = None) -> str:
    """datasette, installed with newswatch, as the user can type it from ``cwd``."""
    return _script("datasette", cwd=cwd) or shlex.join([sys.executable, "-m", "datasette"])
