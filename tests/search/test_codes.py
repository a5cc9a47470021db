"""Classification codes as people type them, and the GB/T 4754 suggester."""

from __future__ import annotations

import pytest

from market.search.codes import normalize_industry, normalize_ipc, split_codes
from market.search.industry_suggest import IndustrySuggester


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("H01M 10/48", "H01M10/48"),
        ("H01M10/48", "H01M10/48"),
        ("h01m 10/48", "H01M10/48"),
        ("Ｈ０１Ｍ　１０／４８", "H01M10/48"),
        ("H01M  10 / 48", "H01M10/48"),
        ("H01M-10/48", "H01M10/48"),
        ("H01M 10/48 (2006.01)", "H01M10/48"),
        ("H01M0010480000", "H01M10/48"),
        ("G06F0003000000", "G06F3/00"),
        ("b64c", "B64C"),
        (" G06T ", "G06T"),
        ("A01B 1/00", "A01B1/00"),
    ],
)
def test_printed_ipc_forms_are_normalised(typed, stored):
    assert normalize_ipc(typed) == stored


@pytest.mark.parametrize("typed", ["", "XX99", "Z99Z", "H01", "H01M 10", "锂电池", "H01M/48"])
def test_what_is_not_an_ipc_code(typed):
    assert normalize_ipc(typed) is None


def test_split_codes_keeps_printed_codes_whole():
    assert split_codes("H01M 10/48；G06T，B64C") == ["H01M 10/48", "G06T", "B64C"]
    assert split_codes("G06T B64C") == ["G06T", "B64C"]
    assert split_codes("ｇ０６ｔ、h01m 10/48\n") == ["G06T", "H01M 10/48"]
    assert split_codes("") == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("3841", "3841"), ("C3841", "3841"), ("c 3841", "3841"), ("Ｃ３８４１", "3841"), ("C", "C")],
)
def test_industry_codes_lose_their_section_letter(typed, stored):
    assert normalize_industry(typed) == stored


def test_what_is_not_an_industry_code():
    assert normalize_industry("电池") is None and normalize_industry("Z9") is None


ROWS = [
    {"code": "C", "level": 1, "parent": None, "name": "制造业", "remark": None},
    {"code": "38", "level": 2, "parent": "C", "name": "电气机械和器材制造业", "remark": None},
    {"code": "384", "level": 3, "parent": "38", "name": "电池制造", "remark": None},
    {
        "code": "3841",
        "level": 4,
        "parent": "384",
        "name": "锂离子电池制造",
        "remark": "指以锂离子电池为主的各种电池的制造",
    },
    {"code": "A", "level": 1, "parent": None, "name": "农、林、牧、渔业", "remark": None},
    {"code": "01", "level": 2, "parent": "A", "name": "农业", "remark": None},
    {"code": "011", "level": 3, "parent": "01", "name": "谷物种植", "remark": None},
    {"code": "0111", "level": 4, "parent": "011", "name": "稻谷种植", "remark": "稻谷的种植"},
]


def test_industry_suggester_ranks_four_digit_classes_by_their_words():
    suggester = IndustrySuggester.from_rows(ROWS)
    assert len(suggester) == 2  # only the four-digit classes are suggested
    best = suggester.suggest("储能电站锂离子电池热失控预警", k=1)
    assert [(s.code, s.name) for s in best] == [("3841", "锂离子电池制造")]
    assert suggester.suggest("稻谷病虫害识别")[0].code == "0111"
    assert suggester.suggest("") == []
