"""Message files on disk: which files a set of paths names, and bounded reads of them."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MESSAGE_SUFFIXES = (".xml",)


class UsageError(ValueError):
    """A path that does not exist or names no message file."""


def message_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files in the order given; a directory contributes its *.xml files (recursively) in
    file-name order, so replays of a directory are deterministic."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted((p for p in path.rglob("*") if p.is_file()
                                 and p.suffix.lower() in MESSAGE_SUFFIXES), key=lambda p: p.as_posix()))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file or directory: {raw}")
    return files


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, but never more than max_bytes + 1 (enough for the reader to refuse it):
    a 60 MiB file is not loaded to be told it is too big."""
    with path.open("rb") as handle:
        return handle.read(max_bytes + 1)
