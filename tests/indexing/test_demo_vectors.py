"""Shipped demo vectors: exported for the running model, preloaded only when the model and the
texts match, and a catch-up that uses them reports its progress and ETA to the home page."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select

from market.services import demo_vectors, indexing
from market.services.listings import post_outcome, update_outcome
from models import Job, ListingVector, Outcome, db


def demo_catalogue(institution, n: int = 6) -> list[Outcome]:
    items = [
        post_outcome(
            institution, {"title": f"示例成果{i}号：锂电池热失控预警", "abstract": f"第{i}种方法。"}
        )
        for i in range(n)
    ]
    for item in items:
        item.is_demo = True
    db.session.commit()
    return items


def test_exported_vectors_come_back_for_the_same_model_and_text(app, institution, tmp_path):
    items = demo_catalogue(institution)
    indexing.reconcile()
    db.session.commit()
    before = {
        r.listing_id: np.frombuffer(r.vector, dtype=np.float32)
        for r in db.session.scalars(select(ListingVector).where(ListingVector.kind == "outcome"))
    }
    report = demo_vectors.export(tmp_path / "v.npz")
    assert report["vectors"] == 6 and report["model"] == indexing.model_key(indexing.embedder())
    db.session.execute(ListingVector.__table__.delete())
    update_outcome(items[0], {"abstract": "改写过的摘要。"})  # its text changed: not preloaded
    db.session.commit()
    result = demo_vectors.preload(tmp_path / "v.npz")
    db.session.commit()
    assert result["preloaded"] == 5
    for row in db.session.scalars(select(ListingVector).where(ListingVector.kind == "outcome")):
        again = np.frombuffer(row.vector, dtype=np.float32)
        assert np.allclose(again, before[row.listing_id], atol=2e-3)  # float16 in the file
    assert indexing.stale_ids("outcome") == [items[0].id]  # only the edited one is re-embedded


def test_vectors_of_another_model_are_never_used(app, institution, tmp_path):
    demo_catalogue(institution, 2)
    path = tmp_path / "other.npz"
    np.savez_compressed(
        path,
        model=np.array("some-other-model@0123"),
        kind=np.array("outcome"),
        hashes=np.array([o.content_hash for o in db.session.scalars(select(Outcome))]),
        vectors=np.ones((2, 64), dtype=np.float16),
    )
    result = demo_vectors.preload(path)
    assert result["preloaded"] == 0 and "some-other-model" in result["reason"]
    assert demo_vectors.preload(tmp_path / "missing.npz")["preloaded"] == 0


def test_catch_up_records_its_progress_and_the_home_page_shows_an_eta(
    app, institution, runner, client, monkeypatch, tmp_path
):
    demo_catalogue(institution, 4)
    monkeypatch.setattr(demo_vectors, "DEMO_VECTORS", tmp_path / "none.npz")
    job = indexing.start_job(indexing.CATCH_UP_JOB, 10)
    job.done = 4
    db.session.commit()
    eta = indexing.catch_up_eta()
    assert eta["done"] == 4 and eta["seconds_left"] is not None
    assert 'data-testid="index-eta"' in client.get("/").get_data(as_text=True)
    job.status = "done"
    db.session.commit()
    assert indexing.catch_up_eta() is None
    result = runner.invoke(args=["index", "catch-up"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["outcome"]["indexed"] == 4 and report["demo_vectors"]["preloaded"] == 0
    last = db.session.scalar(select(Job).order_by(Job.id.desc()))
    assert (last.name, last.status, last.done, last.total) == (indexing.CATCH_UP_JOB, "done", 4, 4)


def test_a_new_model_is_prepared_while_the_old_one_serves_then_switched_without_encoding(
    app, institution, monkeypatch
):
    from market.search import embedders

    demo_catalogue(institution, 5)
    indexing.reconcile()
    db.session.commit()
    monkeypatch.setitem(embedders._FACTORIES, "hash-32", lambda _dir: embedders.HashEmbedder(32))
    report = indexing.prepare_model("hash-32")
    db.session.commit()
    assert report["outcome"] == 5 and report["model"].endswith("v1-32")
    assert len(indexing.get_index("outcome")) == 5  # the serving index is untouched
    assert indexing.get_index("outcome").dim == 64
    assert indexing.prepare_model("hash-32")["outcome"] == 0  # resumable: nothing left

    monkeypatch.setitem(app.config, "EMBEDDING_MODEL", "hash-32")
    indexing.forget_indexes()

    def no_encoding(*args, **kwargs):
        raise AssertionError("switching must reuse the prepared vectors")

    monkeypatch.setattr(embedders.HashEmbedder, "_encode", no_encoding)
    indexing.reconcile()
    db.session.commit()
    index = indexing.get_index("outcome")
    assert (index.dim, len(index)) == (32, 5)
    embedders.clear_embedder_cache()
