"""Precomputed passage vectors for the demo catalogue, so a fresh `make run` matches in minutes.

Embedding the 15k demo listings takes 10+ minutes on two cores; the vectors depend only on
each listing's text and the model build, so they ship beside the catalogue
(``seed_data/catalogue/vectors.npz``: float16 rows keyed by content hash, stamped with the
model key). ``index catch-up`` stores them as the listings' vectors before indexing, but only
when the stamp equals the running model's key and a listing's text is unchanged; anything else
is embedded as usual. ``flask --app market index export-vectors`` writes the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from models import ListingVector, db

from . import indexing

log = logging.getLogger(__name__)

DEMO_VECTORS = Path(__file__).resolve().parents[2] / "seed_data" / "catalogue" / "vectors.npz"


def export(path: Path = DEMO_VECTORS, kind: str = "outcome") -> dict:
    """Write every stored passage vector of ``kind`` for the running model (demo listings)."""
    model = indexing.model_key(indexing.embedder())
    listing = indexing.model_for(kind)
    rows = db.session.execute(
        select(ListingVector.content_hash, ListingVector.vector)
        .join(listing, listing.id == ListingVector.listing_id)
        .where(
            ListingVector.kind == kind,
            ListingVector.model == model,
            listing.is_demo.is_(True),
            ListingVector.content_hash == listing.content_hash,
        )
        .order_by(ListingVector.content_hash)
    ).all()
    hashes = np.array([h for h, _ in rows])
    vectors = np.vstack([np.frombuffer(v, dtype=np.float32) for _, v in rows]).astype(np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, model=np.array(model), kind=np.array(kind), hashes=hashes, vectors=vectors
    )
    return {"path": str(path), "model": model, "vectors": len(rows), "bytes": path.stat().st_size}


def preload(path: Path = DEMO_VECTORS) -> dict:
    """Store the shipped vectors for listings that have none under the running model."""
    if not path.is_file():
        return {"preloaded": 0, "reason": "no file"}
    shipped = np.load(path)
    model = indexing.model_key(indexing.embedder())
    if str(shipped["model"]) != model:
        log.info("demo vectors are for %s, the running model is %s", shipped["model"], model)
        return {"preloaded": 0, "reason": f"vectors are for {shipped['model']}"}
    kind = str(shipped["kind"])
    listing = indexing.model_for(kind)
    vectors = shipped["vectors"].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    by_hash = dict(zip(shipped["hashes"].tolist(), vectors, strict=True))
    have = set(
        db.session.scalars(
            select(ListingVector.listing_id).where(
                ListingVector.kind == kind, ListingVector.model == model
            )
        )
    )
    rows = [
        {
            "kind": kind,
            "listing_id": listing_id,
            "model": model,
            "content_hash": digest,
            "vector": by_hash[digest].tobytes(),
        }
        for listing_id, digest in db.session.execute(select(listing.id, listing.content_hash))
        if digest in by_hash and listing_id not in have
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(ListingVector.__table__), rows[start : start + 5000])
    return {"preloaded": len(rows), "model": model}
