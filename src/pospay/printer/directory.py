"""A printer that is a folder: each job becomes ``NAME.escpos`` (the bytes a thermal
printer would receive) and ``NAME.txt`` (what it would print)."""

from __future__ import annotations

import os
from pathlib import Path


class DirectoryPrinter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.jobs: list[str] = []

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        _write_durably(self.folder / f"{name}.escpos", escpos)
        _write_durably(self.folder / f"{name}.txt", text.encode("utf-8"))
        self.jobs.append(name)


def _write_durably(path: Path, data: bytes) -> None:
    partial = path.with_suffix(path.suffix + ".part")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
