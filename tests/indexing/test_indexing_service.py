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
    assert outcomes[2].id not in indexing.get_lexical("outcome")
    assert outcomes[2].id not in indexing.get_ipc_index("outcome").ids
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
    assert report["outcome"] == {
        "indexed": 1,
        "removed_orphans": 1,
        "lost": 0,
        "size": 5,
        "files_repaired": None,
    }
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


def test_ipc_index_follows_the_listings_and_is_rebuilt_when_lost(app, outcomes):
    """Every indexed listing sits in the IPC index under its text profile's subclasses; a
    missing IPC index (lost, or added by an upgrade) sends the listings back for indexing."""
    indexing.reconcile()
    db.session.commit()
    classified = indexing.get_ipc_index("outcome")
    assert sorted(classified.ids) == sorted(o.id for o in outcomes)
    drone = db.session.get(Outcome, outcomes[0].id)
    lead = max(drone.ipc_profile["weights"], key=drone.ipc_profile["weights"].get)
    assert drone.id in [i for i, _ in classified.top({lead: 1.0}, 5)]
    stray = indexing.get_ipc_index("outcome")
    stray.add([99999], [{lead: 1.0}])  # an entry whose listing no longer exists
    stray.save(indexing.index_dir("outcome") / "ipc")
    assert indexing.reconcile()["outcome"]["removed_orphans"] == 1
    db.session.commit()
    current = indexing.get_ipc_index("outcome")
    before = {q: current.top({q: 1.0}, 5) for q in drone.ipc_profile["weights"]}
    shutil.rmtree(indexing.index_dir("outcome") / "ipc")
    indexing.forget_indexes()
    report = indexing.reconcile()  # refilled from the stored profiles: nothing re-indexed
    db.session.commit()
    assert report["outcome"]["lost"] == 0 and report["outcome"]["indexed"] == 0
    refilled = indexing.get_ipc_index("outcome")
    assert sorted(refilled.ids) == sorted(o.id for o in outcomes)
    for q, hits in before.items():  # stored profiles are rounded to 5 decimals
        assert [i for i, _ in refilled.top({q: 1.0}, 5)] == [i for i, _ in hits]
    # A listing whose profile is missing too goes back for indexing.
    shutil.rmtree(indexing.index_dir("outcome") / "ipc")
    indexing.forget_indexes()
    drone.ipc_profile = None
    db.session.commit()
    report = indexing.reconcile()
    db.session.commit()
    assert report["outcome"]["lost"] == 1 and report["outcome"]["indexed"] == 1
    assert sorted(indexing.get_ipc_index("outcome").ids) == sorted(o.id for o in outcomes)
    indexing.rebuild("outcome")
    db.session.commit()
    assert len(indexing.get_ipc_index("outcome")) == 5


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
    assert indexing.status()["outcome"] == {"total": 5, "indexed": 0, "problem": None}
    indexing.index_listings("outcome", [outcomes[0].id])
    db.session.commit()
    assert indexing.status()["outcome"] == {"total": 5, "indexed": 1, "problem": None}


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


def _neighbor_rows(kind="outcome"):
    model = indexing.model_key(indexing.embedder())
    rows = db.session.scalars(
        select(ListingVector).where(ListingVector.kind == kind, ListingVector.model == model)
    )
    return {row.listing_id: row.neighbor_list for row in rows}


def _exact_neighbors(ids, k):
    """Brute force over the stored vectors: what every list should hold."""
    rows = db.session.scalars(select(ListingVector).where(ListingVector.listing_id.in_(ids))).all()
    vectors = {r.listing_id: np.frombuffer(r.vector, dtype=np.float32) for r in rows}
    expected = {}
    for i, v in vectors.items():
        sims = sorted(
            ((float(v @ w), j) for j, w in vectors.items() if j != i), key=lambda t: (-t[0], t[1])
        )
        expected[i] = [j for _, j in sims[:k]]
    return expected


def test_indexing_stores_neighbours_and_tells_older_listings_of_newcomers(
    app, outcomes, institution
):
    indexing.index_listings("outcome", [o.id for o in outcomes[:3]])
    db.session.commit()
    lists = _neighbor_rows()
    assert {i: [n for n, _ in found] for i, found in lists.items()} == _exact_neighbors(
        [o.id for o in outcomes[:3]], indexing.NEIGHBORS
    )
    assert all(o.id not in [n for n, _ in lists[o.id]] for o in outcomes[:3])  # never itself
    # Two newcomers: their own lists are complete, and each offered itself to its neighbours,
    # so with fewer listings than NEIGHBORS every list ends up holding every other listing.
    indexing.index_listings("outcome", [o.id for o in outcomes[3:]])
    db.session.commit()
    lists = _neighbor_rows()
    everyone = {o.id for o in outcomes}
    for o in outcomes:
        found = lists[o.id]
        assert {n for n, _ in found} == everyone - {o.id}
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_refresh_neighbors_recomputes_exact_lists(app, outcomes, monkeypatch):
    monkeypatch.setattr(indexing, "NEIGHBORS", 2)
    indexing.index_listings("outcome", [o.id for o in outcomes])
    db.session.commit()
    expected = _exact_neighbors([o.id for o in outcomes], 2)
    # Spoil every list, as a closed listing or a partial catch-up would.
    for row in db.session.scalars(select(ListingVector)):
        row.neighbor_list = [[999_999, 0.99]]
    db.session.commit()
    assert indexing.refresh_neighbors("outcome") == len(outcomes)
    lists = _neighbor_rows()
    assert {i: [n for n, _ in found] for i, found in lists.items()} == expected
    hood = indexing.neighborhoods("outcome", [outcomes[0].id])[outcomes[0].id]
    assert hood.neighbors == expected[outcomes[0].id]
    assert indexing.neighborhoods("outcome", []) == {}


def test_merge_neighbors_keeps_the_closest_and_replaces_recomputed():
    current = [[5, 0.9], [6, 0.5], [7, 0.4]]
    merged = indexing._merge_neighbors(current, [[8, 0.6], [6, 0.45]], drop={7}, k=3)
    assert merged == [[5, 0.9], [8, 0.6], [6, 0.45]]
    assert indexing._merge_neighbors(None, [[1, 0.2]], drop=set(), k=3) == [[1, 0.2]]


def test_indexing_stores_an_ipc_profile_and_profile_less_listings_are_stale(app, outcomes):
    ids = [o.id for o in outcomes]
    indexing.index_listings("outcome", ids)
    db.session.commit()
    drone = db.session.get(Outcome, outcomes[0].id)
    assert drone.ipc_profile["weights"] and drone.ipc_profile["confidence"] >= 1.0
    assert indexing.stale_ids("outcome") == []
    # A listing indexed before profiles existed is re-indexed (from its stored vector).
    drone.ipc_profile = None
    db.session.commit()
    assert indexing.stale_ids("outcome") == [drone.id]
    indexing.reconcile()
    db.session.commit()
    assert db.session.get(Outcome, drone.id).ipc_profile


def test_neighbors_command_and_daily_task_recompute_the_graph(app, runner, outcomes):
    from workers.tasks import refresh_neighbors

    indexing.index_listings("outcome", [o.id for o in outcomes])
    for row in db.session.scalars(select(ListingVector)):
        row.neighbors = None
    db.session.commit()
    result = runner.invoke(args=["index", "neighbors", "outcome"])
    assert result.exit_code == 0, result.output
    reports = [
        json.loads(line[line.index("{") :]) for line in result.output.splitlines() if "{" in line
    ]
    assert reports == [{"kind": "outcome", "listings": 5}]
    assert all(_neighbor_rows().values())
    for row in db.session.scalars(select(ListingVector)):
        row.neighbors = None
    db.session.commit()
    # .run() executes the task body in this app's context (Celery's current app may belong to
    # another test's Flask app).
    assert refresh_neighbors.run() == {"demand": 0, "outcome": 5}
    assert all(_neighbor_rows().values())
    assert "refresh-neighbors" in app.config["CELERY"]["beat_schedule"]


def _expanded_expected(listing_id: int) -> np.ndarray:
    rows = {r.listing_id: r for r in db.session.scalars(select(ListingVector))}
    own = np.frombuffer(rows[listing_id].vector, dtype=np.float32)
    peers = [
        np.frombuffer(rows[n].vector, dtype=np.float32) for n, _ in rows[listing_id].neighbor_list
    ]
    mixed = own + np.mean(peers, axis=0)
    return mixed / np.linalg.norm(mixed)


def test_expanded_vectors_follow_the_neighbourhood(app, outcomes):
    indexing.index_listings("outcome", [o.id for o in outcomes[:2]])
    db.session.commit()
    first = outcomes[0].id
    before = indexing.neighborhoods("outcome", [first])[first].expanded
    np.testing.assert_allclose(before, _expanded_expected(first), atol=1e-3)  # float16
    # A newcomer joins the first listing's neighbourhood: its expanded vector moves.
    indexing.index_listings("outcome", [o.id for o in outcomes[2:]])
    db.session.commit()
    after = indexing.neighborhoods("outcome", [first])[first].expanded
    assert not np.allclose(before, after)
    for o in outcomes:
        hood = indexing.neighborhoods("outcome", [o.id])[o.id]
        np.testing.assert_allclose(hood.expanded, _expanded_expected(o.id), atol=1e-3)
        assert float(np.linalg.norm(hood.expanded)) == pytest.approx(1.0, abs=1e-3)


def test_expanded_vector_without_indexed_peers_is_the_vector(app, outcomes):
    """A neighbour no longer in the vector index is left out of the mean; with none left the
    expanded vector is the listing's own."""
    ids = [o.id for o in outcomes]
    indexing.index_listings("outcome", ids)
    db.session.commit()
    first, second = ids[0], ids[1]
    index = indexing.get_index("outcome")
    got = indexing.expanded_vectors(index, [first, second], [[999_999], [999_999, first]])
    own = {r.listing_id: np.frombuffer(r.vector, np.float32) for r in _vector_rows()}
    np.testing.assert_allclose(got[0], own[first], atol=1e-6)
    mixed = own[second] + own[first]
    np.testing.assert_allclose(got[1], mixed / np.linalg.norm(mixed), atol=1e-6)
    assert indexing.expanded_vectors(index, [first], [[]]).shape == (1, len(own[first]))
    hoods = indexing.neighborhoods("outcome", [first, 424_242])
    assert set(hoods) == {first}  # not in the graph: left out


def test_the_graph_follows_the_index_and_reconcile_refills_it(app, outcomes):
    ids = [o.id for o in outcomes]
    indexing.index_listings("outcome", ids)
    db.session.commit()
    stored = {i: [n for n, _ in found] for i, found in _neighbor_rows().items()}
    assert indexing.neighbor_lists("outcome", ids) == stored
    # Another process (a fresh load from disk) sees the same graph.
    indexing.forget_indexes()
    assert indexing.neighbor_lists("outcome", ids) == stored
    # Closing a listing drops its row.
    set_status(outcomes[3], "closed")
    db.session.commit()
    indexing.index_listings("outcome", [outcomes[3].id])
    db.session.commit()
    assert outcomes[3].id not in indexing.get_neighbor_graph("outcome").ids
    # The graph file lost: reconcile refills it from the stored lists, without re-indexing.
    shutil.rmtree(indexing.index_dir("outcome") / "neighbors")
    indexing.forget_indexes()
    assert indexing.neighbor_lists("outcome", ids) == {}
    report = indexing.reconcile()
    assert report["outcome"]["indexed"] == 0
    live = [i for i in ids if i != outcomes[3].id]
    expected = {i: [n for n, _ in found] for i, found in _neighbor_rows().items() if i in live}
    assert indexing.neighbor_lists("outcome", ids) == expected
    indexing.forget_indexes()
    assert indexing.neighbor_lists("outcome", ids) == expected  # and saved


def _vector_rows() -> list:
    return list(db.session.scalars(select(ListingVector)))


def test_neighbour_upkeep_reads_ids_a_chunk_at_a_time(app, outcomes, monkeypatch):
    """Large catalogues exceed the database's bound-parameter limit in one IN (…)."""
    monkeypatch.setattr(indexing, "IN_CHUNK", 2)
    monkeypatch.setattr(indexing, "NEIGHBOR_CHUNK", 3)
    indexing.index_listings("outcome", [o.id for o in outcomes[:2]])
    indexing.index_listings("outcome", [o.id for o in outcomes[2:]])
    db.session.commit()
    expected = _exact_neighbors([o.id for o in outcomes], indexing.NEIGHBORS)
    assert {i: [n for n, _ in found] for i, found in _neighbor_rows().items()} == expected
    for o in outcomes:
        hood = indexing.neighborhoods("outcome", [o.id])[o.id]
        np.testing.assert_allclose(hood.expanded, _expanded_expected(o.id), atol=1e-3)
    assert indexing.refresh_neighbors("outcome") == 5
    assert {i: [n for n, _ in found] for i, found in _neighbor_rows().items()} == expected


def test_neighbour_lists_pack_to_binary_and_back():
    from models.ops import neighbor_ids, pack_neighbors, unpack_neighbors

    pairs = [[7, 0.9312], [2_147_483_650, 0.5], [3, -0.25]]
    blob = pack_neighbors(pairs)
    assert len(blob) == 3 * 12
    assert unpack_neighbors(blob) == pairs
    assert neighbor_ids(blob) == [7, 2_147_483_650, 3]
    assert unpack_neighbors(None) == [] and neighbor_ids(b"") == []
    row = ListingVector(neighbors=None)
    row.neighbor_list = pairs
    assert row.neighbors == blob and row.neighbor_list == pairs


def test_a_starting_worker_warms_the_model_and_every_index(app, outcomes):
    """gunicorn's post_worker_init starts this: after it, no request loads an index."""
    indexing.reconcile()
    indexing.forget_indexes()
    thread = indexing.start_warming(app)
    thread.join(120)
    assert not thread.is_alive()
    folder = app.config["INDEX_DIR"]
    for kind in ("demand", "outcome"):
        assert (folder, kind) in indexing._indexes
        for name in ("lexical", "ipc", "neighbors"):
            assert (folder, kind, name) in indexing._stores
    assert len(indexing.get_index("outcome")) == len(outcomes)
    assert indexing.start_warming(app) is thread  # once per process
    app.extensions.pop("warm-indexes")
    app.config["WARM_INDEXES"] = False
    assert indexing.start_warming(app) is None
