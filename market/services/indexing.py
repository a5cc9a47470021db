"""Keep the vector indexes in step with the database.

The database is the source of truth: listings carry ``content_hash`` (what the text is now) and
``indexed_hash`` (what the index holds). Vectors are stored in ``listing_vector`` so a rebuild or a
restart with an unchanged model never re-encodes. Writers take a file lock, reload the newest
index from disk, change it and save it atomically; readers reload when the manifest moves on.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import select

from models import Demand, Job, ListingVector, Outcome, db, utcnow

log = logging.getLogger(__name__)

KINDS: dict[str, type] = {"demand": Demand, "outcome": Outcome}
BATCH = 64
_indexes: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def model_for(kind: str) -> type:
    try:
        return KINDS[kind]
    except KeyError as e:
        raise ValueError(f"unknown listing kind: {kind}") from e


def embedder():
    from market.search.embedders import get_embedder

    return get_embedder(
        current_app.config["EMBEDDING_MODEL"], Path(current_app.config["MODEL_DIR"])
    )


def index_dir(kind: str) -> Path:
    return Path(current_app.config["INDEX_DIR"]) / kind


def _new_index(kind: str):
    from market.search.index import VectorIndex

    emb = embedder()
    return VectorIndex(
        dim=emb.dim,
        model_name=emb.name,
        model_checksum=emb.checksum,
        flat_limit=current_app.config["FLAT_INDEX_LIMIT"],
    )


def get_index(kind: str):
    """The process-wide index for a kind, reloaded when another process saved a newer one."""
    from market.search.index import IndexCorrupt, IndexMismatch, VectorIndex

    key = (current_app.config["INDEX_DIR"], kind)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            emb = embedder()
            try:
                index = VectorIndex.load(
                    index_dir(kind), expected_model=emb.name, expected_dim=emb.dim
                )
            except FileNotFoundError:
                index = _new_index(kind)
            except (IndexMismatch, IndexCorrupt) as e:
                log.warning(
                    "%s index unusable (%s); starting empty, reconcile rebuilds it", kind, e
                )
                index = _new_index(kind)
            _indexes[key] = index
        else:
            index.reload_if_changed()
        return index


def forget_indexes() -> None:
    with _lock:
        _indexes.clear()


@contextmanager
def _writing(kind: str) -> Iterator[object]:
    folder = index_dir(kind)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            index = get_index(kind)
            yield index
            index.save(folder)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _vectors_for(kind: str, listings: list) -> np.ndarray:
    """Stored vectors where the text is unchanged; one batched encode for the rest."""
    emb = embedder()
    stored = {
        row.listing_id: row
        for row in db.session.scalars(
            select(ListingVector).where(
                ListingVector.kind == kind,
                ListingVector.model == emb.name,
                ListingVector.listing_id.in_([item.id for item in listings]),
            )
        )
    }
    vectors: list[np.ndarray | None] = []
    missing = []
    for position, item in enumerate(listings):
        row = stored.get(item.id)
        if row is not None and row.content_hash == item.content_hash:
            vectors.append(np.frombuffer(row.vector, dtype=np.float32))
        else:
            vectors.append(None)
            missing.append(position)
    if missing:
        encoded = emb.encode([listings[p].embedding_text() for p in missing], kind="passage")
        for position, vector in zip(missing, encoded, strict=True):
            item = listings[position]
            vectors[position] = vector
            db.session.merge(
                ListingVector(
                    kind=kind,
                    listing_id=item.id,
                    model=emb.name,
                    content_hash=item.content_hash,
                    vector=vector.astype(np.float32).tobytes(),
                )
            )
    return np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, emb.dim), np.float32)


def index_listings(kind: str, ids: list[int]) -> dict:
    """Bring the given listings' index entries up to date (add, replace or remove)."""
    model = model_for(kind)
    listings = db.session.scalars(select(model).where(model.id.in_(ids))).all()
    live = [item for item in listings if item.status == "published"]
    gone = [item.id for item in listings if item.status != "published"]
    gone += sorted(set(ids) - {item.id for item in listings})
    for item in live:
        if item.content_hash is None:
            item.refresh_hash()
    vectors = _vectors_for(kind, live) if live else None
    with _writing(kind) as index:
        if gone:
            index.remove(gone)
        if live:
            index.upsert([item.id for item in live], vectors)
    now = utcnow()
    for item in live:
        item.indexed_hash, item.indexed_at = item.content_hash, now
    for item in listings:
        if item.status != "published":
            item.indexed_hash, item.indexed_at = None, None
    return {"kind": kind, "indexed": len(live), "removed": len(gone)}


def stale_ids(kind: str, limit: int | None = None) -> list[int]:
    model = model_for(kind)
    stmt = (
        select(model.id)
        .where(
            model.status == "published",
            (model.indexed_hash.is_(None)) | (model.indexed_hash != model.content_hash),
        )
        .order_by(model.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def reconcile(
    progress: Callable[[str, int, int], None] | None = None, limit: int | None = None
) -> dict:
    """Repair every difference between the database and the indexes."""
    report = {}
    for kind, model in KINDS.items():
        index = get_index(kind)
        published = set(db.session.scalars(select(model.id).where(model.status == "published")))
        in_index = set(index.ids())
        orphans = sorted(in_index - published)
        # Marked indexed in the DB but absent from the index file (lost or rolled back index).
        lost = sorted(
            (published - in_index)
            & set(db.session.scalars(select(model.id).where(model.indexed_hash.is_not(None))))
        )
        if lost:
            db.session.execute(
                model.__table__.update().where(model.id.in_(lost)).values(indexed_hash=None)
            )
        todo = stale_ids(kind, limit)
        if orphans:
            with _writing(kind) as writable:
                writable.remove(orphans)
        done = 0
        for start in range(0, len(todo), BATCH * 8):
            chunk = todo[start : start + BATCH * 8]
            index_listings(kind, chunk)
            db.session.commit()  # each batch is durable: a killed worker resumes from here
            done += len(chunk)
            if progress:
                progress(kind, done, len(todo))
        report[kind] = {
            "indexed": done,
            "removed_orphans": len(orphans),
            "lost": len(lost),
            "size": len(get_index(kind)),
        }
    return report


def rebuild(kind: str) -> dict:
    """Drop the index file and rebuild it from stored vectors (encoding only what is missing)."""
    model = model_for(kind)
    folder = index_dir(kind)
    with _lock:
        _indexes[(current_app.config["INDEX_DIR"], kind)] = _new_index(kind)
    db.session.execute(model.__table__.update().values(indexed_hash=None))
    for path in folder.glob("*"):
        if path.name != ".lock":
            path.unlink()
    ids = stale_ids(kind)
    for start in range(0, len(ids), BATCH * 8):
        index_listings(kind, ids[start : start + BATCH * 8])
        db.session.commit()
    return {"kind": kind, "size": len(get_index(kind))}


def status() -> dict:
    """How much of the catalogue is searchable, for the UI's progress bar."""
    result = {}
    for kind, model in KINDS.items():
        total = (
            db.session.scalar(
                select(db.func.count()).select_from(model).where(model.status == "published")
            )
            or 0
        )
        pending = len(stale_ids(kind))
        result[kind] = {"total": total, "indexed": total - pending}
    return result


def search(kind: str, text: str, k: int = 10) -> list[tuple[int, float]]:
    index = get_index(kind)
    if not len(index):
        return []
    vector = embedder().encode([text], kind="query")
    scores, ids = index.search(vector, k)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def start_job(name: str, total: int) -> Job:
    job = Job(name=name, total=total)
    db.session.add(job)
    db.session.flush()
    return job
