"""Versioned folders for the search indexes kept beside the vectors (BM25, IPC classification).

A save writes a new ``v-…`` folder completely, fsyncs it, then replaces the one-line ``CURRENT``
pointer with ``os.replace``: a reader that loads while a save runs sees the old version whole or
the new one whole, never a mix. The previous version stays one more round for readers that
resolved ``CURRENT`` just before the switch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CURRENT = "CURRENT"


def write_version(directory: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """A new version under ``directory``: ``fill`` writes its files, then ``CURRENT`` moves."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    previous = current_version(root)
    version_dir = Path(tempfile.mkdtemp(prefix="v-", dir=root))
    fill(version_dir)
    fsync_dir(version_dir)
    write_json(root / f"{CURRENT}.tmp", {"version": version_dir.name})
    os.replace(root / f"{CURRENT}.tmp", root / CURRENT)
    fsync_dir(root)
    keep = {version_dir.name, previous}
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("v-") and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
    return version_dir


def current_dir(directory: str | os.PathLike) -> Path:
    """The folder ``CURRENT`` points to (``FileNotFoundError`` when nothing was saved)."""
    root = Path(directory)
    version = json.loads((root / CURRENT).read_text(encoding="utf-8"))["version"]
    return root / version


def current_manifest(directory: str | os.PathLike, fmt: int, what: str) -> tuple[Path, dict]:
    """The current version's folder and manifest; ``ValueError`` unless it is format ``fmt``."""
    version_dir = current_dir(directory)
    manifest = read_json(version_dir / "manifest.json")
    if manifest.get("format") != fmt:
        raise ValueError(f"unsupported {what} format {manifest.get('format')!r}")
    return version_dir, manifest


def current_version(root: Path) -> str | None:
    try:
        return json.loads((root / CURRENT).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def write_json(path: Path, payload: object) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


def write_npz(path: Path, **arrays) -> None:
    """numpy arrays in one uncompressed ``.npz`` file, flushed to disk before returning."""
    with open(path, "wb") as fh:  # a file object stops numpy from appending ".npz"
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())


def read_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
