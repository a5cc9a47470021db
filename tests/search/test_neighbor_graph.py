"""NeighborGraph: the in-memory neighbour lists and expanded vectors, saved and reloaded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from market.search.neighbors import NONE, NeighborGraph

DIM = 4


def vectors(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_lists_come_back_best_first_and_unknown_ids_are_left_out():
    graph = NeighborGraph(width=3)
    graph.set({7: [3, 9, 1], 2: [7], 5: []}, vectors(3))
    assert len(graph) == 3 and graph.ids == [2, 5, 7]
    assert graph.lists([7, 2, 5, 404]) == {7: [3, 9, 1], 2: [7], 5: []}
    found, table = graph.table([404, 2])
    assert found.tolist() == [False, True]
    assert table.tolist() == [[NONE] * 3, [7, NONE, NONE]]


def test_expanded_vectors_come_back_by_id_in_half_precision():
    graph = NeighborGraph(width=2)
    given = vectors(3)
    graph.set({30: [10], 10: [30], 20: []}, given)
    found, got = graph.expanded([20, 404, 30])
    assert found.tolist() == [True, False, True] and got.dtype == np.float32
    np.testing.assert_allclose(got[[0, 2]], given[[2, 0]], atol=1e-3)
    assert not got[1].any()
    with pytest.raises(ValueError, match="expanded"):
        graph.set({1: [2]}, vectors(2))


def test_set_replaces_and_remove_forgets():
    graph = NeighborGraph(width=2)
    graph.set({1: [2, 3], 2: [1, 3], 3: [1, 2]}, vectors(3))
    graph.remove([3, 99])
    graph.set({1: [2]}, vectors(1, seed=5))
    assert graph.lists([1, 2, 3]) == {1: [2], 2: [1, 3]}  # a list may name a listing gone since
    np.testing.assert_allclose(graph.expanded([1])[1][0], vectors(1, seed=5)[0], atol=1e-3)
    graph.set({3: [1]}, vectors(1))  # back again after a removal
    assert graph.ids == [1, 2, 3]
    graph.remove([3])
    graph.set({3: [2]}, vectors(1))  # removed then set in one batch: the set wins
    assert graph.lists([3]) == {3: [2]}


def test_a_longer_list_widens_the_table():
    graph = NeighborGraph(width=2)
    graph.set({1: [2, 3]}, vectors(1))
    graph.set({2: [1, 3, 4, 5]}, vectors(1))
    assert graph.width == 4
    assert graph.lists([1, 2]) == {1: [2, 3], 2: [1, 3, 4, 5]}


def test_empty_graph_answers_nothing():
    graph = NeighborGraph()
    assert graph.lists([1, 2]) == {} and len(graph) == 0
    found, table = graph.table([])
    assert found.shape == (0,) and table.shape == (0, graph.width)
    assert not graph.expanded([1])[0].any()


def test_save_and_load_round_trip(tmp_path):
    graph = NeighborGraph(width=3)
    lists = {int(i): [int(n) for n in np.arange(i + 1, i + 1 + i % 4)] for i in range(1, 200)}
    given = vectors(len(lists))
    graph.set(lists, given)
    graph.save(tmp_path)
    again = NeighborGraph.load(tmp_path)
    assert again.width == 3
    assert again.lists(list(lists)) == lists
    np.testing.assert_array_equal(again.expanded(list(lists))[1], graph.expanded(list(lists))[1])
    graph.remove([5])
    graph.save(tmp_path)
    assert 5 not in NeighborGraph.load(tmp_path).ids


def test_load_refuses_another_format_or_a_short_file(tmp_path):
    graph = NeighborGraph(width=2)
    graph.set({1: [2], 2: [1]}, vectors(2))
    version = graph.save(tmp_path)
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "count": 3}))
    with pytest.raises(ValueError, match="manifest"):
        NeighborGraph.load(tmp_path)
    (version / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(ValueError, match="format"):
        NeighborGraph.load(tmp_path)


def test_vectors_of_another_dimension_replace_the_whole_graph():
    """A model change re-indexes everything: lists made with the old model's vectors go."""
    graph = NeighborGraph(width=2)
    graph.set({1: [2], 2: [1]}, vectors(2))
    graph.set({3: [1]}, np.ones((1, DIM * 2), np.float32))
    assert graph.ids == [3] and graph.expanded([3])[1].shape == (1, DIM * 2)
