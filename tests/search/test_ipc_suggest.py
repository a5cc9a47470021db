"""IPC subclass suggestion over a tiny hand-made IPC table."""

from __future__ import annotations

import pytest

from market.search.evaluation import BeirDataset
from market.search.ipc_suggest import (
    IpcSuggester,
    clean_ipc_text,
    evaluate_suggester,
    read_subclasses,
    true_subclasses,
)

TSV = """code\tlevel\tparent\ttitle_zh\tnotes_zh
A\tsection\t\t人类生活必需\t
A01\tclass\tA\t农业；林业\t
A01B\tsubclass\tA01\t农业或林业的整地（播种入A01C5/00）\t附注\\n1.手动工具(A01B1/00)
A01B1/00\tmain_group\tA01B\t手动工具\t
A01B3/00\tmain_group\tA01B\t犁\t
A01B3/02\tsubgroup\tA01B3/00\t旋耕犁\t
B64C\tsubclass\tB64\t飞机；直升机\t
B64C39/00\tmain_group\tB64C\t无人驾驶飞行器\t
H01M\tsubclass\tH01\t用于直接转变化学能为电能的方法或装置，例如电池组\t
H01M10/00\tmain_group\tH01M\t二次电池；锂离子电池的制造\t
"""


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "ipc.tsv"
    path.write_text(TSV, encoding="utf-8")
    return path


def test_clean_ipc_text_drops_cross_references_and_codes():
    cleaned = clean_ipc_text("农业或林业的整地（播种入A01C5/00）；手动工具(A01B1/00)")
    assert "A01" not in cleaned and "播种" not in cleaned
    assert "整地" in cleaned and "手动工具" in cleaned


def test_read_subclasses_gathers_groups(tsv):
    subs = read_subclasses(tsv)
    assert sorted(subs) == ["A01B", "B64C", "H01M"]
    assert "犁" in subs["A01B"].groups and "旋耕犁" in subs["A01B"].subgroups


def test_suggest_ranks_the_right_subclass_first(tsv):
    suggester = IpcSuggester.from_tsv(tsv)
    top = suggester.suggest("一种锂离子电池正极材料", k=3)
    assert top[0].code == "H01M"
    assert top[0].title.startswith("用于直接转变化学能")
    assert suggester.suggest("电力巡检无人驾驶飞行器", k=1)[0].code == "B64C"
    assert suggester.suggest("旋耕犁刀片", k=1)[0].code == "A01B"
    assert suggester.suggest("音乐节拍", k=3) == []


def test_subgroups_can_be_left_out(tsv):
    suggester = IpcSuggester.from_tsv(tsv, include_subgroups=False, include_main_groups=False)
    assert suggester.suggest("旋耕", k=3) == []


def test_evaluate_suggester_accuracy(tsv):
    suggester = IpcSuggester.from_tsv(tsv)
    data = BeirDataset(
        corpus={"p1": {"title": "锂离子电池", "text": ""}, "p2": {"title": "旋耕犁", "text": ""}},
        queries={},
        qrels={"H01M": {"p1": 2, "p2": 1}, "B64C": {"p2": 2}},
    )
    assert true_subclasses(data.qrels) == {"p1": {"H01M"}, "p2": {"B64C"}}
    result = evaluate_suggester(suggester, data, ks=(1, 3))
    assert result == {"accuracy@1": 0.5, "accuracy@3": 0.5, "patents": 2}


def test_profile_is_unit_length_led_by_the_best_subclass(tsv):
    from market.search.ipc_suggest import IpcProfile

    suggester = IpcSuggester.from_tsv(tsv)
    profile = suggester.profile("锂离子电池的制造方法")
    assert next(iter(profile.weights)) == "H01M"
    assert sum(w * w for w in profile.weights.values()) == pytest.approx(1.0)
    assert profile.similarity(profile) == pytest.approx(1.0)
    assert profile.confidence > 1.0
    assert suggester.profile("zzz qqq") == IpcProfile()  # nothing shared: empty, falsy
    assert not suggester.profile("zzz qqq")


def test_profile_scores_confidence_and_top_cut():
    from market.search.ipc_suggest import DECLARED_CONFIDENCE, IpcProfile

    clear = IpcProfile.from_scores([("B64C", 9.0), ("A01B", 3.0), ("H01M", 0.0)])
    assert clear.confidence == pytest.approx(3.0)
    assert set(clear.weights) == {"B64C", "A01B"}  # zero scores carry no information
    assert clear.weights["B64C"] > clear.weights["A01B"]
    vague = IpcProfile.from_scores([("B64C", 5.0), ("A01B", 4.9)])
    assert vague.confidence == pytest.approx(5.0 / 4.9, rel=1e-3)
    assert (
        len(
            IpcProfile.from_scores(
                [(f"X{i:02d}Y", 10.0 - i / 10) for i in range(50)], top=7
            ).weights
        )
        == 7
    )
    assert IpcProfile.from_scores([("B64C", 2.0)]).confidence == DECLARED_CONFIDENCE


def test_declared_codes_profile_and_similarity():
    from market.search.ipc_suggest import DECLARED_CONFIDENCE, IpcProfile

    declared = IpcProfile.from_codes(["b64c 39/02", "B64C", "H01M 10/0525", " "])
    assert set(declared.weights) == {"B64C", "H01M"}
    assert declared.confidence == DECLARED_CONFIDENCE
    text = IpcProfile.from_scores([("B64C", 8.0), ("G05D", 4.0)])
    other = IpcProfile.from_scores([("A01B", 8.0)])
    assert 0 < declared.similarity(text) < 1
    assert declared.similarity(other) == 0.0
    assert declared.similarity(IpcProfile()) == 0.0
    again = IpcProfile.from_json(declared.to_json())
    assert again.similarity(declared) == pytest.approx(1.0, abs=1e-4)
    assert IpcProfile.from_json(None) == IpcProfile() and not IpcProfile.from_codes([])
