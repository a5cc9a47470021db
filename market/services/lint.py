"""A listing linter: flags vague 场景需求 before they are published, with a suggestion for each.

Vague needs ("希望提升效率") get no useful matches and no replies; numbers, a baseline, a budget and
a deadline are what let a matcher and an institution judge fit. Warnings never block publishing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

MIN_DESCRIPTION = 80
BASELINE_WORDS = ("现状", "目前", "当前", "基线", "现有", "现阶段", "现为")
# "现在…为3小时", "目前约8%": a word for now followed, within a few characters, by a number.
CURRENT_VALUE = re.compile(r"(现在|现|目前|当前)[^。；;\n]{0,12}?\d")
DIGIT = re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万]+(?:个|台|人|次|天|小时|分钟|米|吨|%)")


@dataclass(frozen=True)
class LintWarning:
    code: str
    field: str
    message: str
    suggestion: str


def _warn(code: str, field: str, message, suggestion) -> LintWarning:
    return LintWarning(code, field, str(message), str(suggestion))


def has_baseline(text: str) -> bool:
    return any(word in text for word in BASELINE_WORDS) or bool(CURRENT_VALUE.search(text))


def lint_demand(data: dict) -> list[LintWarning]:
    """Warnings for a demand's fields (the same keys as ``services.listings.post_demand``)."""
    description = (data.get("description") or "").strip()
    warnings: list[LintWarning] = []
    if len(description) < MIN_DESCRIPTION:
        warnings.append(
            _warn(
                "short_description",
                "description",
                _l("需求描述较短（%(n)s字）", n=len(description)),
                _l(
                    "建议写清楚应用场景、要解决的问题、现有做法和期望效果，至少%(m)s字。",
                    m=MIN_DESCRIPTION,
                ),
            )
        )
    if not DIGIT.search(description):
        warnings.append(
            _warn(
                "no_numbers",
                "description",
                _l("需求描述里没有任何数字"),
                _l(
                    "加入规模、频次、精度、成本等具体数字，例如“每天处理约2万件”“误差不超过0.5毫米”。"
                ),
            )
        )
    if not has_baseline(description):
        warnings.append(
            _warn(
                "no_baseline",
                "description",
                _l("没有说明现状"),
                _l(
                    "写出目前的做法和现有水平，例如“目前人工巡检每台约3小时，漏检率约8%”，对方才能判断改进幅度。"
                ),
            )
        )
    if data.get("budget_min_fen") is None and data.get("budget_max_fen") is None:
        warnings.append(
            _warn(
                "no_budget",
                "budget_min",
                _l("没有填写预算"),
                _l("给出一个预算范围（万元），即使是大致范围，也能让成果方判断能否合作。"),
            )
        )
    if not data.get("indicators"):
        warnings.append(
            _warn(
                "no_indicators",
                "indicators",
                _l("没有量化指标"),
                _l("至少填写一项可验收的指标，例如“识别准确率 ≥ 95 %”。"),
            )
        )
    if data.get("deadline") is None:
        warnings.append(
            _warn(
                "no_deadline",
                "deadline",
                _l("没有截止日期"),
                _l("设定一个截止日期，对方才知道何时需要回应；长期有效的需求也建议半年复查一次。"),
            )
        )
    return warnings
