"""Keep the vector indexes in step with the database.

The database is the source of truth: listings carry ``content_hash`` (what the text is now) and
``indexed_hash`` (what the index holds). Vectors are stored in ``listing_vector`` so a rebuild or a
restart with an unchanged model never re-encodes. Writers take a file lock, reload the newest
index from disk, change it and save it atomically; readers reload when the manifest moves on.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from models import Demand, Job, ListingVector, Outcome, db, outcome_ipc, utcnow
from models.ops import neighbor_ids

log = logging.getLogger(__name__)

KINDS: dict[str, type] = {"demand": Demand, "outcome": Outcome}
RECONCILE_CHUNK = 2048  # listings per index save during catch-up: fewer, larger atomic saves
NEIGHBORS = 20  # nearest listings kept per listing (the matcher's neighbour smoothing reads them)
NEIGHBOR_CHUNK = 1024  # listings per batched search when the whole graph is recomputed
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


def model_key(emb) -> str:
    """Stored vectors belong to one model build: name plus a short weights checksum."""
    return f"{emb.name}@{emb.checksum[:16]}"


def index_dir(kind: str) -> Path:
    return Path(current_app.config["INDEX_DIR"]) / kind


def _new_index(kind: str):
    from market.search.index import VectorIndex

    emb = embedder()
    return VectorIndex(
        dim=emb.dim,
        model=emb.name,
        model_checksum=emb.checksum,
        hnsw_threshold=current_app.config["FLAT_INDEX_LIMIT"],
    )


def _open_index(kind: str):
    from market.search.index import VectorIndex, VectorIndexError

    folder = index_dir(kind)
    if not (folder / "manifest.json").exists():
        return _new_index(kind)
    emb = embedder()
    try:
        return VectorIndex.load(
            folder,
            expected_model=emb.name,
            expected_dim=emb.dim,
            expected_checksum=emb.checksum,
            hnsw_threshold=current_app.config["FLAT_INDEX_LIMIT"],
        )
    except VectorIndexError as e:
        # A model change or a damaged file: the DB still knows everything; reconcile refills.
        # Until then this copy is empty and says why (searches report semantic search down),
        # and it adopts the files as soon as another process has repaired them.
        log.warning("%s index unusable (%s); starting empty, reconcile rebuilds it", kind, e)
        return VectorIndex.unusable(
            folder,
            str(e),
            dim=emb.dim,
            model=emb.name,
            model_checksum=emb.checksum,
            hnsw_threshold=current_app.config["FLAT_INDEX_LIMIT"],
        )


def get_index(kind: str):
    """The process-wide index for a kind, reloaded when another process saved a newer one."""
    key = (current_app.config["INDEX_DIR"], kind)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = _open_index(kind)
        else:
            index.reload_if_changed()
        return index


class IndexStore:
    """One kind's BM25 or IPC index, persisted beside the vectors in a versioned folder
    (``market.search.versions``) and reloaded when another process has moved it on."""

    def __init__(self, folder: Path, cls: type):
        self.folder, self.cls = folder, cls
        self.stamp = self._stamp()
        self.problem: str | None = None  # why this copy is empty though files exist
        try:
            self.index = cls.load(folder) if self.stamp else cls()
        except (OSError, ValueError) as e:
            log.warning("%s at %s unusable (%s); reconcile rebuilds it", cls.__name__, folder, e)
            self.index = cls()
            self.problem = f"{cls.__name__} at {folder} unusable: {e}"

    def _stamp(self) -> str | None:
        try:
            return (self.folder / "CURRENT").read_text()
        except FileNotFoundError:
            return None

    def reload_if_changed(self) -> None:
        stamp = self._stamp()
        if stamp and stamp != self.stamp:
            try:
                self.index = self.cls.load(self.folder)
            except (OSError, ValueError) as e:  # keep serving this copy, and say why
                self.problem = f"newer {self.cls.__name__} files unusable: {e}"
                log.warning("%s", self.problem)
            else:
                self.problem = None
            self.stamp = stamp

    def save(self) -> None:
        self.index.save(self.folder)
        self.stamp = self._stamp()
        self.problem = None


_stores: dict[tuple[str, str, str], IndexStore] = {}


def _store(kind: str, name: str) -> IndexStore:
    from market.search.ipc_index import IpcIndex
    from market.search.lexical import LexicalIndex
    from market.search.neighbors import NeighborGraph

    key = (current_app.config["INDEX_DIR"], kind, name)
    with _lock:
        store = _stores.get(key)
        if store is None:
            cls = {"lexical": LexicalIndex, "ipc": IpcIndex, "neighbors": NeighborGraph}[name]
            store = _stores[key] = IndexStore(index_dir(kind) / name, cls)
        else:
            store.reload_if_changed()
        return store


def get_lexical(kind: str):
    """The process-wide BM25 index for a kind (see ``market.search.lexical``)."""
    return _store(kind, "lexical").index


def get_ipc_index(kind: str):
    """The process-wide IPC-profile index for a kind (see ``market.search.ipc_index``)."""
    return _store(kind, "ipc").index


def get_neighbor_graph(kind: str):
    """The process-wide nearest-listing graph for a kind (see ``market.search.neighbors``)."""
    return _store(kind, "neighbors").index


def warm() -> dict:
    """Load the model and every index of both kinds now, so that no user's request pays for
    it (a gunicorn worker calls this in the background when it starts: gunicorn.conf.py)."""
    started = time.perf_counter()
    embedder().encode(["预热"], kind="query")
    for kind in KINDS:
        get_index(kind)
        get_lexical(kind)
        get_ipc_index(kind)
        get_neighbor_graph(kind)
    _get_suggester()
    from market.licensing import exports

    with contextlib.suppress(exports.CjkFontMissing):  # parsing the font takes ~0.2 s
        exports.register_cjk_font()
    return {"seconds": round(time.perf_counter() - started, 2)}


def start_warming(app) -> threading.Thread | None:
    """``warm`` on a daemon thread; requests that arrive meanwhile wait on the same loads
    (``_lock``) instead of doing them twice. Off when ``WARM_INDEXES`` is false."""
    if not app.config.get("WARM_INDEXES", True):
        return None
    if "warm-indexes" in app.extensions:  # once per process
        return app.extensions["warm-indexes"]

    def run() -> None:
        with app.app_context():
            try:
                log.info("indexes warm in %(seconds)ss", warm())
            except Exception:  # a fresh install has no index yet: requests load what exists
                log.warning("warming the indexes failed", exc_info=True)

    thread = app.extensions["warm-indexes"] = threading.Thread(
        target=run, name="warm-indexes", daemon=True
    )
    thread.start()
    return thread


def forget_indexes() -> None:
    with _lock:
        _indexes.clear()
        _stores.clear()


STORES = ("lexical", "ipc", "neighbors")  # the indexes saved beside the vectors


@contextmanager
def _locked(kind: str) -> Iterator[Path]:
    """The kind's index folder, held by this process alone (a file lock) until the block ends."""
    folder = index_dir(kind)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _writing(kind: str) -> Iterator[object]:
    """The kind's vector index, newest version, to change; it and the stores beside it are
    saved when the block ends (not when it raises)."""
    with _locked(kind) as folder:
        index = get_index(kind)
        stores = [_store(kind, name) for name in STORES]
        yield index
        index.save(folder)
        for store in stores:
            store.save()


def store_vector(kind: str, listing, model: str, vector: np.ndarray) -> None:
    """Keep a listing's vector under a model key, stamped with the text it was computed from
    (``kind`` is the listing kind, or ``<kind>:query`` for its query-side vector)."""
    store_vectors(kind, [listing], model, [vector])


UPSERT_CHUNK = 1000  # rows per statement: 6 parameters each, within SQLite's 32,766


def store_vectors(kind: str, listings: list, model: str, vectors) -> None:
    """``store_vector`` for many listings at once, as upserts rather than read-then-insert:
    two indexers of the same listing at once (two reconciles, a task delivered twice) must
    not fail on the primary key."""
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "listing_id": listing.id,
            "model": model,
            "content_hash": listing.content_hash,
            "vector": np.asarray(vector, dtype=np.float32).reshape(-1).tobytes(),
            "created_at": now,
        }
        for listing, vector in zip(listings, vectors, strict=True)
    ]
    upsert = _UPSERTS.get(db.session.get_bind().dialect.name)
    if upsert is None:
        for row in rows:
            db.session.merge(ListingVector(**row))
        return
    db.session.flush()
    for start in range(0, len(rows), UPSERT_CHUNK):
        stmt = upsert(ListingVector).values(rows[start : start + UPSERT_CHUNK])
        changed = {"content_hash": stmt.excluded.content_hash, "vector": stmt.excluded.vector}
        db.session.execute(
            stmt.on_conflict_do_update(index_elements=["kind", "listing_id", "model"], set_=changed)
        )
    for row in rows:
        key = db.session.identity_key(ListingVector, (kind, row["listing_id"], model))
        cached = db.session.identity_map.get(key)
        if cached is not None:
            db.session.expire(cached)  # read again from the row just written


_UPSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def _vectors_for(kind: str, listings: list) -> np.ndarray:
    """Stored vectors where the text and the model build are unchanged; one batched encode for
    the rest. Rows are keyed by ``model_key`` (name and weights checksum), as query vectors are,
    so rebuilt weights under the same name never reuse stale vectors."""
    emb = embedder()
    model = model_key(emb)
    stored = {
        row.listing_id: row
        for row in db.session.scalars(
            select(ListingVector).where(
                ListingVector.kind == kind,
                ListingVector.model == model,
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
            vectors[position] = vector
        store_vectors(kind, [listings[p] for p in missing], model, list(encoded))
    return np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, emb.dim), np.float32)


def index_listings(kind: str, ids: list[int]) -> dict:
    """Bring the given listings' index entries up to date (add, replace or remove)."""
    model = model_for(kind)
    stmt = select(model).where(model.id.in_(ids))
    if model is Outcome:
        stmt = stmt.options(selectinload(Outcome.ipc))  # declared codes, for the IPC index
    listings = db.session.scalars(stmt).all()
    live = [item for item in listings if item.status == "published"]
    gone = [item.id for item in listings if item.status != "published"]
    gone += sorted(set(ids) - {item.id for item in listings})
    for item in live:
        if item.content_hash is None:
            item.refresh_hash()
    vectors = _vectors_for(kind, live) if live else None
    profiles = [ipc_profile(item.embedding_text()) for item in live]
    rows = [_classified_as(item, p) for item, p in zip(live, profiles, strict=True)]
    with _writing(kind) as index:
        lexical, classified = get_lexical(kind), get_ipc_index(kind)
        if gone:
            index.remove(gone)
            lexical.remove(gone)
            classified.remove(gone)
            get_neighbor_graph(kind).remove(gone)
        if live:
            live_ids = [item.id for item in live]
            index.upsert(live_ids, vectors)
            lexical.remove(live_ids)
            lexical.add(live_ids, [item.embedding_text() for item in live])
            classified.add(live_ids, rows)
            db.session.flush()
            _link_neighbors(kind, index, live_ids, vectors)
    now = utcnow()
    for item, profile in zip(live, profiles, strict=True):
        item.indexed_hash, item.indexed_at = item.content_hash, now
        item.suggested_ipc = suggest_ipc(item.embedding_text())
        item.ipc_profile = profile.to_json()
    for item in listings:
        if item.status != "published":
            item.indexed_hash, item.indexed_at = None, None
    return {"kind": kind, "indexed": len(live), "removed": len(gone)}


def _classified_as(item, profile) -> dict[str, float]:
    """A listing's row in the IPC index: its declared codes when it has any, else its text's
    profile (``IpcProfile``)."""
    from market.search.ipc_suggest import IpcProfile

    return (IpcProfile.from_codes(item.ipc_codes) if item.ipc_codes else profile).weights


# -- nearest neighbours ----------------------------------------------------------------------


def _merge_neighbors(current: list | None, incoming: list, drop: set[int], k: int) -> list:
    """``current`` without ``drop`` (listings whose place is being recomputed) plus
    ``incoming`` [[id, cosine], ...]; the ``k`` closest, best first, ties by id."""
    merged = {int(i): float(s) for i, s in (current or []) if int(i) not in drop}
    for i, s in incoming:
        merged[int(i)] = float(s)
    best = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [[i, round(s, 4)] for i, s in best]


def _search_neighbors(index, ids: list[int], vectors: np.ndarray, k: int) -> dict[int, list]:
    scores, found = index.search(vectors, k + 1)
    return {
        listing_id: [
            [int(n), round(float(s), 4)]
            for n, s in zip(found[row], scores[row], strict=True)
            if n >= 0 and int(n) != listing_id
        ][:k]
        for row, listing_id in enumerate(ids)
    }


def _link_neighbors(kind: str, index, ids: list[int], vectors: np.ndarray) -> None:
    """Give freshly indexed listings their nearest listings, and offer each of them to its
    neighbours' lists in turn, so older listings learn of closer newcomers. The lists that
    changed are stored and put into the in-memory graph (the caller saves it)."""
    model = model_key(embedder())
    fresh = _search_neighbors(index, ids, vectors, NEIGHBORS)
    offers: dict[int, list] = {}
    for listing_id, found in fresh.items():
        for neighbor_id, score in found:
            if neighbor_id not in fresh:
                offers.setdefault(neighbor_id, []).append([listing_id, score])
    drop = set(fresh)
    changed = []
    for row in _vector_rows(kind, model, list(fresh) + list(offers)):
        if row.listing_id in fresh:
            row.neighbor_list = fresh[row.listing_id]
            changed.append(row)
            continue
        current = row.neighbor_list
        updated = _merge_neighbors(current, offers[row.listing_id], drop, NEIGHBORS)
        if updated != current:
            row.neighbor_list = updated
            changed.append(row)
    place_neighborhoods(
        get_neighbor_graph(kind), index, {r.listing_id: neighbor_ids(r.neighbors) for r in changed}
    )


# Bound parameters per IN (…) query: SQLite allows 32,766 and PostgreSQL 65,535 in one statement.
IN_CHUNK = 5000


def _vector_rows(kind: str, model: str, ids: list[int]) -> list:
    """The listing_vector rows of the given listings, fetched a chunk of ids at a time."""
    rows = []
    for start in range(0, len(ids), IN_CHUNK):
        rows.extend(
            db.session.scalars(
                select(ListingVector).where(
                    ListingVector.kind == kind,
                    ListingVector.model == model,
                    ListingVector.listing_id.in_(ids[start : start + IN_CHUNK]),
                )
            )
        )
    return rows


def refresh_neighbors(kind: str, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every indexed listing's neighbour list from scratch (exact for the current
    catalogue: incremental updates never hear of listings that closed since). The database rows
    are committed a chunk at a time; the in-memory graph is saved once, at the end."""
    model = model_key(embedder())
    with _locked(kind):
        index, store = get_index(kind), _store(kind, "neighbors")
        ids = sorted(int(i) for i in index.ids().tolist())
        for start in range(0, len(ids), NEIGHBOR_CHUNK):
            rows = _vector_rows(kind, model, ids[start : start + NEIGHBOR_CHUNK])
            if rows:
                vectors = np.vstack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])
                found = _search_neighbors(index, [r.listing_id for r in rows], vectors, NEIGHBORS)
                for row in rows:
                    row.neighbor_list = found[row.listing_id]
                place_neighborhoods(
                    store.index, index, {i: [n for n, _ in pairs] for i, pairs in found.items()}
                )
            db.session.commit()
            if progress:
                progress(min(start + NEIGHBOR_CHUNK, len(ids)), len(ids))
        store.index.remove(set(store.index.ids) - set(ids))
        store.save()
    return len(ids)


@dataclass(frozen=True)
class Neighborhood:
    """A listing's neighbour ids (best first) and expanded vector: unit(its vector + the mean of
    its indexed neighbours' vectors) as of when its list was last set, its plain vector when
    none was indexed.

    A listing read together with its neighbourhood: a short or oddly worded text is placed by
    the company it keeps, which is what a field-level need (a discipline, a subclass) asks of it.
    """

    neighbors: list[int]
    expanded: np.ndarray


def neighborhoods(kind: str, ids: list[int]) -> dict[int, Neighborhood]:
    """The given listings' neighbourhoods, from the in-memory graph (no database read);
    listings not in the graph are left out."""
    from market.search.neighbors import NONE

    graph = get_neighbor_graph(kind)
    found, table = graph.table(ids)
    _, expanded = graph.expanded(ids)
    return {
        int(i): Neighborhood(row[row != NONE].tolist(), vector)
        for i, hit, row, vector in zip(ids, found, table, expanded, strict=True)
        if hit
    }


def place_neighborhoods(graph, index, lists: dict[int, list[int]]) -> None:
    """Put listings' neighbour lists into the graph with their expanded vectors, computed from
    the vector index's own vectors a chunk of listings at a time."""
    ids = list(lists)
    for start in range(0, len(ids), NEIGHBOR_CHUNK):
        chunk = {i: lists[i] for i in ids[start : start + NEIGHBOR_CHUNK]}
        graph.set(chunk, expanded_vectors(index, list(chunk), list(chunk.values())))


def expanded_vectors(index, ids: list[int], lists: list[list[int]]) -> np.ndarray:
    """unit(vector + mean of the indexed neighbours' vectors) for each listing; its own vector
    when none of its neighbours is indexed (a neighbour closed since its list was made counts
    for nothing). One lookup for the listings and all their neighbours."""
    from market.search.neighbors import NONE

    m = len(ids)
    width = max([1, *(len(found) for found in lists)])
    table = np.full((m, width), NONE, dtype=np.int64)
    for row, found in enumerate(lists):
        table[row, : len(found)] = found
    # ids not indexed (NONE padding included) come back as zero rows: a plain sum adds only
    # the indexed neighbours
    present, vectors = index.vectors(np.concatenate([np.asarray(ids, np.int64), table.ravel()]))
    counted = present[m:].reshape(m, width).sum(axis=1)
    total = vectors[m:].reshape(m, width, -1).sum(axis=1)
    mixed = vectors[:m] + total / np.maximum(counted, 1).astype(np.float32)[:, None]
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed / np.where(norms > 0, norms, np.float32(1.0))


def neighbor_lists(kind: str, ids: list[int]) -> dict[int, list[int]]:
    """The given listings' neighbour ids, from the in-memory graph (cheap for thousands)."""
    return get_neighbor_graph(kind).lists(ids)


def _fill_neighbors(kind: str, ids: list[int]) -> set[int]:
    """Put listings into the in-memory graph from their stored neighbour lists; returns the ids
    placed (a listing never linked is left to re-indexing)."""
    model = model_key(embedder())
    placed: dict[int, list[int]] = {}
    for start in range(0, len(ids), IN_CHUNK):
        stmt = select(ListingVector.listing_id, ListingVector.neighbors).where(
            ListingVector.kind == kind,
            ListingVector.model == model,
            ListingVector.listing_id.in_(ids[start : start + IN_CHUNK]),
            ListingVector.neighbors.is_not(None),
        )
        placed.update((i, neighbor_ids(packed)) for i, packed in db.session.execute(stmt))
    if placed:
        with _locked(kind):
            store = _store(kind, "neighbors")
            place_neighborhoods(store.index, get_index(kind), placed)
            store.save()
    return set(placed)


# -- IPC suggestions and profiles ------------------------------------------------------------

_suggester = None


def _get_suggester():
    global _suggester
    from market.search.ipc_suggest import IpcSuggester, default_tsv_path

    with _lock:
        if _suggester is None:
            _suggester = IpcSuggester.from_tsv(default_tsv_path())
    return _suggester


def suggest_ipc(text: str, k: int = 3) -> list[dict]:
    """建议分类: IPC subclasses whose Chinese definitions best match the text."""
    return [
        {"code": s.code, "title": s.title.split(" 注意")[0][:60], "score": round(float(s.score), 3)}
        for s in _get_suggester().suggest(text, k)
    ]


def ipc_profile(text: str):
    """The text's place in the IPC (``IpcProfile``), for the matcher's classification channel."""
    return _get_suggester().profile(text)


def stale_ids(kind: str, limit: int | None = None) -> list[int]:
    model = model_for(kind)
    stmt = (
        select(model.id)
        .where(
            model.status == "published",
            (model.indexed_hash.is_(None))
            | (model.indexed_hash != model.content_hash)
            # indexed before IPC profiles existed: re-indexing reuses the stored vector
            | (model.ipc_profile.is_(None)),
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
        published = set(db.session.scalars(select(model.id).where(model.status == "published")))
        in_vectors = set(get_index(kind).ids().tolist())
        in_lexical = set(get_lexical(kind).ids)
        in_ipc = set(get_ipc_index(kind).ids)
        in_graph = set(get_neighbor_graph(kind).ids)
        orphans = sorted((in_vectors | in_lexical | in_ipc | in_graph) - published)
        if orphans:
            with _writing(kind) as writable:
                writable.remove(orphans)
                get_lexical(kind).remove(orphans)
                get_ipc_index(kind).remove(orphans)
                get_neighbor_graph(kind).remove(orphans)
        marked = set(db.session.scalars(select(model.id).where(model.indexed_hash.is_not(None))))
        # Missing from the IPC index alone (it was lost, or an upgrade added it): filled from the
        # stored profiles, no re-indexing.
        in_ipc |= _fill_ipc(kind, sorted((marked & published & in_vectors & in_lexical) - in_ipc))
        # Marked indexed in the DB but missing from an index (a lost or rolled-back file):
        # re-indexed below from the stored vectors.
        lost = sorted(marked & (published - (in_vectors & in_lexical & in_ipc)))
        if lost:
            db.session.execute(
                model.__table__.update().where(model.id.in_(lost)).values(indexed_hash=None)
            )
        todo = stale_ids(kind, limit)
        done = 0
        for start in range(0, len(todo), RECONCILE_CHUNK):
            chunk = todo[start : start + RECONCILE_CHUNK]
            index_listings(kind, chunk)
            db.session.commit()  # each chunk is durable: a killed worker resumes from here
            done += len(chunk)
            if progress:
                progress(kind, done, len(todo))
        if done > RECONCILE_CHUNK:
            # Chunks indexed early met only part of the catalogue: make the graph exact.
            refresh_neighbors(kind)
        # Missing from the in-memory graph alone (its file was lost, or an upgrade added it):
        # filled from the stored lists.
        indexed = set(get_index(kind).ids().tolist())
        _fill_neighbors(kind, sorted(indexed - set(get_neighbor_graph(kind).ids)))
        repaired = _repair_files(kind)
        report[kind] = {
            "indexed": done,
            "removed_orphans": len(orphans),
            "lost": len(lost),
            "size": len(get_index(kind)),
            "files_repaired": repaired,
        }
    return report


def _repair_files(kind: str) -> str | None:
    """Compare the saved vector index with the database's view, on disk rather than in this
    process's memory: a damaged or missing file is written again from this copy once it holds
    everything (reconcile has just re-added what was lost). Returns what was wrong, or None."""
    index = get_index(kind)
    problem = index.disk_problem() if index.directory is not None else None
    if problem is None and index.directory is None and len(index):
        problem = "never saved"
    if problem is None:
        index.problem = None
        return None
    log.warning("%s index files: %s; saving them again from memory", kind, problem)
    with _writing(kind):
        pass  # the writing context saves the index under the file lock
    index.problem = None
    return problem


def _fill_ipc(kind: str, ids: list[int]) -> set[int]:
    """Put listings into the IPC index from their stored profiles (declared codes first);
    returns the ids placed (a listing without a stored profile is left to re-indexing)."""
    from market.search.ipc_suggest import IpcProfile

    if not ids:
        return set()
    model = model_for(kind)
    placed: dict[int, dict[str, float]] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        declared: dict[int, list[str]] = {}
        if model is Outcome:
            stmt = select(outcome_ipc.c.outcome_id, outcome_ipc.c.ipc_code)
            for listing_id, code in db.session.execute(
                stmt.where(outcome_ipc.c.outcome_id.in_(chunk))
            ):
                declared.setdefault(listing_id, []).append(code)
        else:
            stmt = select(Demand.id, Demand.ipc_codes).where(Demand.id.in_(chunk))
            declared = {i: codes for i, codes in db.session.execute(stmt) if codes}
        stmt = select(model.id, model.ipc_profile).where(model.id.in_(chunk))
        for listing_id, stored in db.session.execute(stmt):
            if listing_id in declared:
                placed[listing_id] = IpcProfile.from_codes(declared[listing_id]).weights
            elif stored is not None:
                placed[listing_id] = IpcProfile.from_json(stored).weights
    if placed:
        with _writing(kind):
            get_ipc_index(kind).add(list(placed), list(placed.values()))
    return set(placed)


def rebuild(kind: str) -> dict:
    """Drop the index file and rebuild it from stored vectors (encoding only what is missing)."""
    import shutil

    model = model_for(kind)
    folder = index_dir(kind)

    with _lock:
        _indexes[(current_app.config["INDEX_DIR"], kind)] = _new_index(kind)
        for name in STORES:
            store = _stores.get((current_app.config["INDEX_DIR"], kind, name))
            if store is not None:
                store.index = store.cls()
    db.session.execute(model.__table__.update().values(indexed_hash=None))
    for path in folder.glob("*"):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.name != ".lock":
            path.unlink()
    ids = stale_ids(kind)
    for start in range(0, len(ids), RECONCILE_CHUNK):
        index_listings(kind, ids[start : start + RECONCILE_CHUNK])
        db.session.commit()
    if len(ids) > RECONCILE_CHUNK:
        refresh_neighbors(kind)
    return {"kind": kind, "size": len(get_index(kind))}


def status(verify: bool = False) -> dict:
    """How much of the catalogue is searchable, for the UI's progress bar, and what is wrong
    with an index (``problem``). ``verify`` checks the saved files in full (checksums), as
    ``flask index status`` does; pages use the cheap check."""
    result = {}
    for kind, model in KINDS.items():
        total = (
            db.session.scalar(
                select(db.func.count()).select_from(model).where(model.status == "published")
            )
            or 0
        )
        pending = len(stale_ids(kind))
        problem = verify_files(kind) if verify else index_problem(kind)
        result[kind] = {"total": total, "indexed": total - pending, "problem": problem}
    return result


def verify_files(kind: str) -> str | None:
    """Load the saved vector index of ``kind`` as a new process would (manifest, model,
    checksums): what is wrong with it, or None. Nothing saved yet is not a problem."""
    from market.search.index import VectorIndex, VectorIndexError

    folder = index_dir(kind)
    if not (folder / "manifest.json").exists():
        return None
    emb = embedder()
    try:
        VectorIndex.load(
            folder, expected_model=emb.name, expected_dim=emb.dim, expected_checksum=emb.checksum
        )
    except VectorIndexError as e:
        return str(e)
    return None


def index_problem(kind: str) -> str | None:
    """Why semantic search over ``kind`` is degraded in this process, or None: its loaded copy
    could not load the saved files, or (not loaded yet) the files look damaged. Cheap: no
    checksums (those run on load and in reconcile)."""
    folder = current_app.config["INDEX_DIR"]
    stores = [_stores.get((folder, kind, name)) for name in STORES]
    broken = [store.problem for store in stores if store is not None and store.problem]
    loaded = _indexes.get((folder, kind))
    if loaded is not None:
        return "；".join(filter(None, [loaded.problem, *broken])) or None
    if broken:
        return "；".join(broken)
    vectors = index_dir(kind)
    if not (vectors / "manifest.json").exists():
        return None  # nothing saved yet: a new install, reported as indexing progress
    from market.search.index import files_look_whole

    return files_look_whole(vectors)


def prepare_model(
    key: str, progress: Callable[[str, int, int], None] | None = None, chunk: int = 256
) -> dict:
    """Embed every published listing under another model (e.g. a new ``embedder adapt``
    version) while the current one keeps serving: the vectors go to ``listing_vector`` under
    the new model's key and nothing else changes. Switching ``EMBEDDING_MODEL`` afterwards
    rebuilds the indexes from these stored vectors, with no encoding. Resumable."""
    from market.search.embedders import get_embedder

    emb = get_embedder(key, Path(current_app.config["MODEL_DIR"]))
    model = model_key(emb)
    report = {"model": model}
    for kind, listing in KINDS.items():
        have = select(ListingVector.listing_id).where(
            ListingVector.kind == kind,
            ListingVector.model == model,
            ListingVector.content_hash == listing.content_hash,
            ListingVector.listing_id == listing.id,
        )
        todo = list(
            db.session.scalars(
                select(listing.id)
                .where(listing.status == "published", ~have.exists())
                .order_by(listing.id)
            )
        )
        for start in range(0, len(todo), chunk):
            items = db.session.scalars(
                select(listing).where(listing.id.in_(todo[start : start + chunk]))
            ).all()
            vectors = emb.encode([item.embedding_text() for item in items], kind="passage")
            store_vectors(kind, items, model, list(vectors))
            db.session.commit()
            if progress:
                progress(kind, min(start + chunk, len(todo)), len(todo))
        report[kind] = len(todo)
    return report


CATCH_UP_JOB = "index-catch-up"


def catch_up_eta() -> dict | None:
    """The running catch-up's progress and, once it has indexed something, the seconds left at
    its rate so far (the home page's banner); None when no catch-up runs."""
    job = db.session.scalar(
        select(Job).where(Job.name == CATCH_UP_JOB, Job.status == "running").order_by(Job.id.desc())
    )
    if job is None:
        return None
    elapsed = (utcnow() - job.started_at).total_seconds()
    left = None
    if job.done and elapsed > 0:
        left = int(elapsed / job.done * max(0, job.total - job.done))
    return {"done": job.done, "total": job.total, "seconds_left": left}


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
