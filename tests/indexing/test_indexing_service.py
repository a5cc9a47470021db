"""The index follows the database: add, change, close, lose, corrupt — reconcile repairs all."""

import json
import shutil

import numpy as np
import pytest
from sqlalchemy import select

from market.search.embedders import HashEmbedder, register_embedder
from market.services import indexing
from market.services.listings import post_demand, post_outcome, set_status, update_outcome
from models import ListingVector, Outcome, db

TITLES = [
    "一种长航时巡检无人机",
    "锂电池热失控预警方法",
    "水产养殖溶解氧在线监测装置",
    "光伏组件自动清洗机器人",
    "中药提取浓缩工艺",
]


@pytest.fixture
def outcomes(institution):
    items = [
        post_outcome(institution, {"title": t, "abstract": f"{t}的技术方案。"}) for t in TITLES
    ]
    db.session.commit()
    return items


def test_index_listings_makes_them_searchable(app, outcomes):
    report = indexing.index_listings("outcome", [o.id for o in outcomes])
    db.session.commit()
    assert report == {"kind": "outcome", "indexed": 5, "removed": 0}
    hits = indexing.search("outcome", "锂电池热失控预警", k=3)
    assert hits[0][0] == outcomes[1].id
    assert all(o.indexed_hash == o.content_hash and o.indexed_at for o in outcomes)
    assert db.session.query(ListingVector).count() == 5


def test_unchanged_text_is_never_encoded_twice(app, outcomes, monkeypatch):
    indexing.index_listings("outcome", [o.id for o in outcomes])
    db.session.commit()
    emb = indexing.embedder()
    calls = []
    real = type(emb).encode
    monkeypatch.setattr(
        type(emb),
        "encode",
        lambda self, texts, **kw: calls.append(len(texts)) or real(self, texts, **kw),
    )
    indexing.rebuild("outcome")
    assert calls == []
    assert len(indexing.get_index("outcome")) == 5
    update_outcome(outcomes[0], {"abstract": "新的摘要：续航60分钟。"})
    db.session.commit()
    indexing.index_listings("outcome", [outcomes[0].id])
    assert calls == [1]


def test_closing_removes_from_index(app, outcomes):
    indexing.index_listings("outcome", [o.id for o in outcomes])
    set_status(outcomes[2], "closed")
    db.session.commit()
    indexing.index_listings("outcome", [outcomes[2].id])
    db.session.commit()
    assert outcomes[2].id not in set(indexing.get_index("outcome").ids().tolist())
    assert outcomes[2].indexed_hash is None


def test_reconcile_repairs_missing_stale_and_orphaned(app, outcomes, enterprise):
    post_demand(
        enterprise,
        {"title": "无人机巡检", "description": "续航≥45分钟。", "scenario_type": "industry"},
    )
    db.session.commit()
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["indexed"] == 5 and report["demand"]["indexed"] == 1
    # An entry in the index whose listing no longer exists, and a listing whose text changed.
    index = indexing.get_index("outcome")
    index.upsert([99999], np.ones((1, index.dim), dtype=np.float32) / np.sqrt(index.dim))
    index.save(indexing.index_dir("outcome"))
    update_outcome(outcomes[3], {"title": "光伏组件无水清洗机器人"})
    db.session.commit()
    assert indexing.stale_ids("outcome") == [outcomes[3].id]
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"] == {"indexed": 1, "removed_orphans": 1, "lost": 0, "size": 5}
    assert indexing.stale_ids("outcome") == []
    assert indexing.reconcile()["outcome"]["indexed"] == 0  # idempotent


def test_lost_index_file_is_rebuilt_from_the_database(app, outcomes):
    indexing.reconcile()
    db.session.commit()
    shutil.rmtree(indexing.index_dir("outcome"))
    indexing.forget_indexes()
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["lost"] == 5 and report["outcome"]["size"] == 5
    assert len(indexing.get_lexical("outcome")) == 5


def test_lost_lexical_index_alone_is_rebuilt(app, outcomes):
    indexing.reconcile()
    db.session.commit()
    shutil.rmtree(indexing.index_dir("outcome") / "lexical")
    indexing.forget_indexes()
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["lost"] == 5
    assert len(indexing.get_lexical("outcome")) == 5
    assert indexing.get_lexical("outcome").search("锂电池热失控", 1)[0][0] == outcomes[1].id


def test_corrupt_index_file_is_detected_and_rebuilt(app, outcomes):
    indexing.reconcile()
    db.session.commit()
    folder = indexing.index_dir("outcome")
    manifest = json.loads(next(folder.glob("manifest*.json")).read_text())
    data_files = [p for p in folder.iterdir() if p.is_file() and p.suffix not in (".json", "")]
    assert data_files, list(folder.iterdir())
    for path in data_files:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    indexing.forget_indexes()
    assert len(indexing.get_index("outcome")) == 0  # refused, not trusted
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["size"] == 5 and manifest["count"] == 5


class OtherTestModel(HashEmbedder):
    name = "hash-test-other"


register_embedder("hash-test-other")(lambda _dir: OtherTestModel(dim=32))


def test_model_change_triggers_full_rebuild(app, outcomes):
    indexing.reconcile()
    db.session.commit()
    app.config["EMBEDDING_MODEL"] = "hash-test-other"
    try:
        indexing.forget_indexes()
        report = indexing.reconcile()
        db.session.commit()
        assert report["outcome"]["size"] == 5
        assert indexing.get_index("outcome").dim == indexing.embedder().dim
        models = set(db.session.scalars(select(ListingVector.model)))
        assert len(models) == 2
    finally:
        app.config["EMBEDDING_MODEL"] = "hash-test"


def test_status_counts_progress(app, outcomes):
    assert indexing.status()["outcome"] == {"total": 5, "indexed": 0}
    indexing.index_listings("outcome", [outcomes[0].id])
    db.session.commit()
    assert indexing.status()["outcome"] == {"total": 5, "indexed": 1}


def test_home_page_shows_index_progress(client, outcomes):
    page = client.get("/").get_data(as_text=True)
    assert "已完成 0 / 5 条（0%）" in page
    indexing.reconcile()
    db.session.commit()
    assert 'data-testid="index-progress"' not in client.get("/").get_data(as_text=True)


def test_unknown_kind_refused(app):
    with pytest.raises(ValueError, match="unknown listing kind"):
        indexing.index_listings("patent", [1])
    assert db.session.scalars(select(Outcome)).all() == []


def test_stored_vectors_are_reused_and_keyed_by_model_build(app, outcomes, monkeypatch):
    indexing.reconcile()
    db.session.commit()
    key = indexing.model_key(indexing.embedder())
    assert set(db.session.scalars(select(ListingVector.model))) == {key}
    indexing.forget_indexes()
    for folder in (indexing.index_dir("outcome"),):
        for path in folder.rglob("*"):
            if path.is_file():
                path.unlink()
    encoded = []
    emb = indexing.embedder()
    real = emb.encode
    monkeypatch.setattr(
        emb, "encode", lambda texts, **kw: encoded.append(texts) or real(texts, **kw)
    )
    indexing.forget_indexes()
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["size"] == 5
    assert encoded == []  # every vector came back from listing_vector
