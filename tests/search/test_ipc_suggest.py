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
