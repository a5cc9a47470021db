"""VectorIndex: exact and HNSW modes, tombstones, persistence, reloads and concurrent readers."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.search import index as index_module
from market.search.index import IndexCorrupt, IndexMismatch, VectorIndex, read_manifest

DIM = 16
MODES = {"flat": 10**9, "hnsw": 0}


def unit(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make(mode: str, n: int = 50, **kw) -> tuple[VectorIndex, np.ndarray]:
    idx = VectorIndex(DIM, model="m", model_checksum="c", hnsw_threshold=MODES[mode], **kw)
    vectors = unit(n)
    idx.add(np.arange(n) + 100, vectors)
    return idx, vectors


@pytest.fixture(params=list(MODES))
def mode(request) -> str:
    return request.param


def test_each_vector_finds_itself_first(mode):
    idx, vectors = make(mode)
    assert idx.kind == mode
    scores, ids = idx.search(vectors, 3)
    assert ids[:, 0].tolist() == list(range(100, 150))
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert len(idx) == 50


def test_remove_hides_ids_and_reports_count(mode):
    idx, vectors = make(mode)
    assert idx.remove([100, 101, 999]) == 2
    _, ids = idx.search(vectors[:2], 10)
    assert not {100, 101} & set(ids.ravel().tolist())
    assert len(idx) == 48 and 100 not in idx and 102 in idx


def test_upsert_replaces_the_vector(mode):
    idx, vectors = make(mode)
    idx.upsert([105], vectors[7:8])
    _, ids = idx.search(vectors[7:8], 2)
    assert set(ids[0].tolist()) == {105, 107}
    assert len(idx) == 50
    assert idx.ids().tolist() == list(range(100, 150))


def test_add_rejects_existing_ids_and_bad_shapes(mode):
    idx, vectors = make(mode)
    with pytest.raises(ValueError, match="already indexed"):
        idx.add([100], vectors[:1])
    with pytest.raises(ValueError, match="shape"):
        idx.add([1], np.ones((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match="ids for"):
        idx.add([1, 2], vectors[:1])
    with pytest.raises(ValueError, match="unique"):
        idx.upsert([1, 1], vectors[:2])


def test_empty_index_returns_padding():
    scores, ids = VectorIndex(DIM).search(unit(2), 4)
    assert ids.shape == (2, 4) and (ids == -1).all() and np.isneginf(scores).all()


def test_fewer_vectors_than_k_pads_with_minus_one(mode):
    idx, vectors = make(mode, n=3)
    scores, ids = idx.search(vectors[:1], 5)
    assert sorted(ids[0, :3].tolist()) == [100, 101, 102]
    assert ids[0, 3:].tolist() == [-1, -1] and np.isneginf(scores[0, 3:]).all()


def test_crossing_the_threshold_switches_to_hnsw_and_keeps_ids():
    idx = VectorIndex(DIM, hnsw_threshold=40)
    vectors = unit(60)
    idx.add(np.arange(30), vectors[:30])
    assert idx.kind == "flat"
    idx.add(np.arange(30, 60), vectors[30:])
    assert idx.kind == "hnsw"
    assert idx.ids().tolist() == list(range(60))
    assert idx.search(vectors, 1)[1][:, 0].tolist() == list(range(60))


def test_hnsw_compacts_when_too_many_tombstones():
    idx, vectors = make("hnsw", n=50, compact_ratio=0.2)
    idx.remove(range(100, 108))  # 8 of 50 dead: below the ratio, tombstones stay
    assert idx._hnsw.dead == 8
    idx.remove(range(108, 115))  # 15 of 50 dead: rebuilt without them
    assert idx._hnsw.dead == 0 and idx._hnsw.index.ntotal == 35
    assert idx.search(vectors[15:], 1)[1][:, 0].tolist() == list(range(115, 150))


def test_hnsw_recall_against_exact_search():
    vectors = unit(2000, seed=3)
    queries = unit(50, seed=4)
    flat = VectorIndex(DIM, hnsw_threshold=10**9)
    hnsw = VectorIndex(DIM, hnsw_threshold=0)
    for idx in (flat, hnsw):
        idx.add(np.arange(2000), vectors)
    truth, found = flat.search(queries, 10)[1], hnsw.search(queries, 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
    assert recall >= 0.95


# ---------------------------------------------------------------- persistence


def test_save_and_load_round_trip(mode, tmp_path):
    idx, vectors = make(mode)
    idx.remove([100])
    manifest = idx.save(tmp_path)
    assert manifest["version"] == 1 and manifest["count"] == 49
    assert (manifest["model"], manifest["dim"], manifest["index_type"]) == ("m", DIM, mode)
    loaded = VectorIndex.load(tmp_path, expected_model="m", expected_dim=DIM)
    assert loaded.kind == mode and loaded.ids().tolist() == idx.ids().tolist()
    assert np.array_equal(loaded.search(vectors, 3)[1], idx.search(vectors, 3)[1])


def test_versions_increase_and_old_files_are_pruned(tmp_path):
    idx, _ = make("flat")
    versions = [idx.save(tmp_path)["version"] for _ in range(4)]
    assert versions == [1, 2, 3, 4]
    assert sorted(p.name for p in tmp_path.glob("index-*")) == ["index-3.faiss", "index-4.faiss"]
    fresh, _ = make("flat")  # a second writer continues the sequence instead of restarting it
    assert fresh.save(tmp_path)["version"] == 5


def test_load_rejects_another_model_or_dimension(tmp_path):
    make("flat")[0].save(tmp_path)
    with pytest.raises(IndexMismatch, match="model"):
        VectorIndex.load(tmp_path, expected_model="other")
    with pytest.raises(IndexMismatch, match="dimension"):
        VectorIndex.load(tmp_path, expected_dim=DIM * 2)
    with pytest.raises(IndexMismatch, match="checksum"):
        VectorIndex.load(tmp_path, expected_checksum="different")


@pytest.mark.parametrize("victim", ["index-1.faiss", "slots-1.npz"])
def test_load_detects_tampering(tmp_path, victim):
    make("hnsw")[0].save(tmp_path)
    path = tmp_path / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="sha256"):
        VectorIndex.load(tmp_path)


def test_load_without_manifest_is_corrupt(tmp_path):
    with pytest.raises(IndexCorrupt, match="no index manifest"):
        VectorIndex.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt, match="unreadable"):
        read_manifest(tmp_path)


def test_failed_save_keeps_the_previous_version(tmp_path, monkeypatch):
    idx, vectors = make("flat")
    idx.save(tmp_path)
    idx.add([1], unit(1, seed=9))

    def broken(index, path):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module.faiss, "write_index", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        idx.save(tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text())["version"] == 1
    assert len(VectorIndex.load(tmp_path)) == 50
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_reader_reloads_a_newer_version(mode, tmp_path):
    writer, _ = make(mode)
    writer.save(tmp_path)
    reader = VectorIndex.load(tmp_path, expected_model="m", expected_dim=DIM)
    assert reader.reload_if_changed() is False
    writer.upsert([7], unit(1, seed=5))
    writer.save(tmp_path)
    assert reader.reload_if_changed() is True
    assert reader.version == 2 and 7 in reader and len(reader) == 51
    assert reader.reload_if_changed() is False


def test_reload_refuses_an_index_of_another_model(tmp_path):
    """It keeps serving its own copy and says why it did not take the new files (no request
    fails on it), and does not checksum the same files again on the next request."""
    make("flat")[0].save(tmp_path)
    reader = VectorIndex.load(tmp_path)
    size = len(reader)
    other = VectorIndex(DIM, model="other-model", model_checksum="c")
    other.add([1], unit(1))
    other.save(tmp_path)
    assert reader.reload_if_changed() is False
    assert len(reader) == size and "other-model" in reader.problem
    with pytest.raises(IndexMismatch):
        VectorIndex.load(tmp_path, expected_model=reader.model)
    assert reader.reload_if_changed() is False  # same files: not read again


# ---------------------------------------------------------------- properties and threads


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "upsert", "remove"]), st.lists(st.integers(0, 30), max_size=6)
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_index_agrees_with_a_dict_model(sequence):
    idx = VectorIndex(DIM, hnsw_threshold=10**9)
    model: dict[int, np.ndarray] = {}
    for step, (op, raw_ids) in enumerate(sequence):
        ids = sorted(set(raw_ids))
        vectors = unit(len(ids), seed=step + 1)
        if op == "add":
            ids = [i for i in ids if i not in model]
            vectors = vectors[: len(ids)]
            idx.add(ids, vectors)
        elif op == "upsert":
            idx.upsert(ids, vectors)
        else:
            idx.remove(ids)
            for i in ids:
                model.pop(i, None)
            continue
        model.update(zip(ids, vectors, strict=True))
    assert idx.ids().tolist() == sorted(model)
    if model:
        keys = sorted(model)
        found = idx.search(np.stack([model[i] for i in keys]), 1)[1][:, 0]
        assert found.tolist() == keys


def test_concurrent_searches_during_upserts_stay_consistent(mode):
    idx, vectors = make(mode, n=200)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                _, ids = idx.search(vectors[:20], 5)
                assert ((ids >= 100) & (ids < 300) | (ids == -1)).all()
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for round_ in range(30):
        idx.upsert(np.arange(100, 120) + round_ % 5, unit(20, seed=round_))
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(idx) == 200


def test_vectors_reads_the_indexed_vectors_by_id(mode):
    idx, vectors = make(mode)
    found, got = idx.vectors([104, 999, 100])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(got[[0, 2]], vectors[[4, 0]])
    assert not got[1].any()
    # After a change the rows follow: a replaced vector, a removed id, a new one.
    idx.upsert([104], vectors[9:10])
    idx.remove([100])
    idx.add([500], vectors[3:4])
    found, got = idx.vectors([104, 100, 500, 149])
    assert found.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(got[[0, 2, 3]], vectors[[9, 3, 49]])
    got[0] = 0  # a copy: the index keeps its own
    np.testing.assert_array_equal(idx.vectors([104])[1][0], vectors[9])


def test_vectors_of_a_loaded_index_and_of_nothing(mode, tmp_path):
    idx, vectors = make(mode)
    idx.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    np.testing.assert_array_equal(loaded.vectors([120])[1][0], vectors[20])
    found, got = VectorIndex(DIM).vectors([1, 2])
    assert not found.any() and got.shape == (2, DIM)
    assert loaded.vectors([])[1].shape == (0, DIM)
