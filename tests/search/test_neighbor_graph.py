"""NeighborGraph: the in-memory nearest-listing lists the matcher walks, saved and reloaded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from market.search.neighbors import NONE, NeighborGraph


def test_lists_come_back_best_first_and_unknown_ids_are_left_out():
    graph = NeighborGraph(width=3)
    graph.set({7: [3, 9, 1], 2: [7], 5: []})
    assert len(graph) == 3 and graph.ids == [2, 5, 7]
    assert graph.lists([7, 2, 5, 404]) == {7: [3, 9, 1], 2: [7], 5: []}
    found, table = graph.table([404, 2])
    assert found.tolist() == [False, True]
    assert table.tolist() == [[NONE] * 3, [7, NONE, NONE]]


def test_set_replaces_and_remove_forgets():
    graph = NeighborGraph(width=2)
    graph.set({1: [2, 3], 2: [1, 3], 3: [1, 2]})
    graph.remove([3, 99])
    graph.set({1: [2]})
    assert graph.lists([1, 2, 3]) == {1: [2], 2: [1, 3]}  # a list may name a listing gone since
    graph.set({3: [1]})  # back again after a removal
    assert graph.ids == [1, 2, 3]
    graph.remove([3])
    graph.set({3: [2]})  # removed then set in one batch: the set wins
    assert graph.lists([3]) == {3: [2]}


def test_a_longer_list_widens_the_table():
    graph = NeighborGraph(width=2)
    graph.set({1: [2, 3]})
    graph.set({2: [1, 3, 4, 5]})
    assert graph.width == 4
    assert graph.lists([1, 2]) == {1: [2, 3], 2: [1, 3, 4, 5]}


def test_empty_graph_answers_nothing():
    graph = NeighborGraph()
    assert graph.lists([1, 2]) == {} and len(graph) == 0
    found, table = graph.table([])
    assert found.shape == (0,) and table.shape == (0, graph.width)


def test_save_and_load_round_trip(tmp_path):
    graph = NeighborGraph(width=3)
    lists = {int(i): [int(n) for n in np.arange(i + 1, i + 1 + i % 4)] for i in range(1, 200)}
    graph.set(lists)
    graph.save(tmp_path)
    again = NeighborGraph.load(tmp_path)
    assert again.width == 3
    assert again.lists(list(lists)) == lists
    graph.remove([5])
    graph.save(tmp_path)
    assert 5 not in NeighborGraph.load(tmp_path).ids


def test_load_refuses_another_format_or_a_short_file(tmp_path):
    graph = NeighborGraph(width=2)
    graph.set({1: [2], 2: [1]})
    version = graph.save(tmp_path)
    manifest = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**manifest, "count": 3}))
    with pytest.raises(ValueError, match="manifest"):
        NeighborGraph.load(tmp_path)
    (version / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(ValueError, match="format"):
        NeighborGraph.load(tmp_path)
