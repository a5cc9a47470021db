"""The whole-catalogue IPC index: add, replace, remove, rank by profile, persist."""

import pytest

from market.search.ipc_index import LEAD_SUBCLASSES, TOP_SUBCLASSES, IpcIndex

DRONE = {"B64C": 0.8, "B64U": 0.6}
BATTERY = {"H01M": 0.9, "G01R": 0.43}
BOTH = {"B64U": 0.7, "H01M": 0.7}


def built() -> IpcIndex:
    index = IpcIndex()
    index.add([1, 2, 3], [DRONE, BATTERY, BOTH])
    return index


def test_listings_rank_by_dot_product_over_shared_subclasses():
    index = built()
    hits = index.top({"B64U": 1.0}, 10)
    assert [i for i, _ in hits] == [3, 1]  # 0.7 before 0.6; the battery shares nothing
    assert hits[0][1] == pytest.approx(0.7) and hits[1][1] == pytest.approx(0.6)
    two = index.top({"B64C": 0.6, "B64U": 0.8}, 10)
    assert two[0] == (1, pytest.approx(0.8 * 0.6 + 0.6 * 0.8))
    assert index.top({"A01B": 1.0}, 10) == [] and index.top({}, 10) == []


def test_k_exclude_and_ties_by_id():
    index = IpcIndex()
    index.add([9, 4, 7], [{"B64U": 1.0}] * 3)
    assert [i for i, _ in index.top({"B64U": 1.0}, 2)] == [4, 7]
    assert [i for i, _ in index.top({"B64U": 1.0}, 2, exclude={4})] == [7, 9]
    assert index.top({"B64U": 1.0}, 0) == []


def test_replace_and_remove_take_effect_before_the_next_query():
    index = built()
    assert [i for i, _ in index.top({"H01M": 1.0}, 5)] == [2, 3]
    index.add([2], [DRONE])  # its text changed: now a drone
    index.remove([3, 99])  # closed; an unknown id is ignored
    assert [i for i, _ in index.top({"H01M": 1.0}, 5)] == []
    assert [i for i, _ in index.top({"B64C": 1.0}, 5)] == [1, 2]
    assert sorted(index.ids) == [1, 2] and len(index) == 2
    index.add([3], [BOTH])  # re-published
    assert sorted(index.ids) == [1, 2, 3]


def test_a_listing_without_a_profile_still_counts_as_indexed():
    index = IpcIndex()
    index.add([5], [{}])
    assert index.ids == [5] and index.top({"B64U": 1.0}, 5) == []


def test_only_the_heaviest_subclasses_are_kept():
    profile = {f"A{n:02d}B": 1.0 - n / 100 for n in range(TOP_SUBCLASSES + 5)}
    index = IpcIndex()
    index.add([1], [profile])
    assert index.similarity({f"A{TOP_SUBCLASSES - 1:02d}B": 1.0}, [1])[1] > 0
    assert index.similarity({f"A{TOP_SUBCLASSES:02d}B": 1.0}, [1]) == {1: 0.0}


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 ids but 1 profiles"):
        IpcIndex().add([1, 2], [DRONE])


def test_save_and_load_round_trip_keep_the_ranking(tmp_path):
    index = built()
    index.remove([2])
    index.save(tmp_path)
    index.add([8], [{"G06F": 1.0}])  # new codes after a save get new columns
    index.save(tmp_path)
    loaded = IpcIndex.load(tmp_path)
    assert sorted(loaded.ids) == [1, 3, 8]
    for query in (DRONE, BOTH, {"G06F": 1.0}):
        assert loaded.top(query, 5) == index.top(query, 5)
        assert loaded.similarity(query, [1, 3, 8]) == index.similarity(query, [1, 3, 8])
    versions = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(versions) == 2  # the current one and the one before it


def test_load_refuses_an_unknown_format(tmp_path):
    import json

    from market.search.versions import current_dir

    built().save(tmp_path)
    manifest = current_dir(tmp_path) / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": 99}))
    with pytest.raises(ValueError, match="unsupported IPC index format 99"):
        IpcIndex.load(tmp_path)


def test_similarity_reads_the_pools_rows():
    index = IpcIndex()
    index.add([30, 10, 20], [DRONE, BATTERY, BOTH])  # rows end up sorted by id
    query = {"B64U": 1.0, "H01M": 0.5}
    assert index.similarity(query, [20, 30, 10, 99]) == {
        20: pytest.approx(0.7 + 0.35),
        30: pytest.approx(0.6),
        10: pytest.approx(0.45),
    }  # 99 is not indexed: left out
    assert index.similarity(query, []) == {} and IpcIndex().similarity(query, [1]) == {}


def test_the_catalogue_search_reads_leading_subclasses_the_similarity_all():
    tail = {f"A{n:02d}B": 0.1 for n in range(LEAD_SUBCLASSES)}
    index = IpcIndex()
    index.add([1], [{**tail, "G06F": 0.05}])  # G06F is its lightest subclass
    assert index.top({"G06F": 1.0}, 5) == []
    assert index.similarity({"G06F": 1.0}, [1]) == {1: pytest.approx(0.05)}
    assert index.top({"A00B": 1.0}, 5) == [(1, pytest.approx(0.1))]


def test_the_catalogue_search_uses_the_querys_leading_subclasses():
    index = IpcIndex()
    index.add([1], [{"G06F": 1.0}])
    lead = {f"A{n:02d}B": 1.0 for n in range(LEAD_SUBCLASSES)}
    assert index.top({**lead, "G06F": 0.5}, 5) == []  # G06F is the query's sixth subclass
    assert index.top({**lead, "G06F": 2.0}, 5) == [(1, pytest.approx(2.0))]
