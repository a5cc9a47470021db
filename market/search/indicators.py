"""Quantified indicators (量化指标) in Chinese demand and outcome texts.

``parse_indicators("续航时间不低于30 min，精度达到±0.05毫米")`` finds each number that carries a
unit, the operator words around it and the indicator name before it, and converts the value
to the unit table's base unit so 30分钟 and 0.75小时 compare directly. ``compare`` and
``match_indicators`` then say whether an outcome meets a demand's targets.

Ranges such as "20~30℃" are kept as one approximate value (their midpoint) — good enough to
pair indicators, not to check an operating window.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from market.search.tokenize import _jieba
from models.enums import INDICATOR_OPS

logger = logging.getLogger(__name__)

Status = Literal["met", "not_met", "unknown"]
Direction = Literal["higher", "lower", "unknown"]

# fmt: off
# unit -> (dimension, factor to the base unit, base unit). Longest spellings are tried first.
_BASE = {
    "length": "m",
    "time": "s",
    "mass": "kg",
    "power": "W",
    "energy": "J",
    "percentage": "%",
    "speed": "m/s",
    "temperature": "°C",
    "currency": "元",
    "frequency": "Hz",
    "voltage": "V",
    "current": "A",
    "charge": "mAh",
    "energy_density": "Wh/kg",
    "ratio": "倍",
    "count": "次",
    "area": "m2",
}
_UNIT_GROUPS: dict[str, dict[str, float]] = {
    "length": {"nm": 1e-9, "纳米": 1e-9, "μm": 1e-6, "um": 1e-6, "微米": 1e-6, "丝": 1e-5,
               "mm": 1e-3, "毫米": 1e-3, "cm": 1e-2, "厘米": 1e-2, "m": 1.0, "米": 1.0,
               "km": 1e3, "公里": 1e3, "千米": 1e3},
    "time": {"μs": 1e-6, "us": 1e-6, "微秒": 1e-6, "ms": 1e-3, "毫秒": 1e-3, "s": 1.0,
             "秒": 1.0, "秒钟": 1.0, "min": 60.0, "分钟": 60.0, "h": 3600.0, "小时": 3600.0,
             "天": 86400.0, "个月": 2.6298e6, "年": 3.15576e7},
    "mass": {"mg": 1e-6, "毫克": 1e-6, "g": 1e-3, "克": 1e-3, "斤": 0.5, "kg": 1.0,
             "千克": 1.0, "公斤": 1.0, "t": 1e3, "吨": 1e3},
    "power": {"mW": 1e-3, "毫瓦": 1e-3, "W": 1.0, "瓦": 1.0, "kW": 1e3, "千瓦": 1e3,
              "MW": 1e6, "兆瓦": 1e6},
    "energy": {"J": 1.0, "焦": 1.0, "焦耳": 1.0, "kJ": 1e3, "千焦": 1e3, "Wh": 3600.0,
               "kWh": 3.6e6, "千瓦时": 3.6e6, "MWh": 3.6e9},
    "percentage": {"%": 1.0, "％": 1.0, "个百分点": 1.0, "百分点": 1.0},
    "speed": {"m/s": 1.0, "米/秒": 1.0, "米每秒": 1.0, "km/h": 1 / 3.6, "公里/小时": 1 / 3.6,
              "千米/小时": 1 / 3.6, "公里每小时": 1 / 3.6},
    "temperature": {"℃": 1.0, "°C": 1.0, "摄氏度": 1.0},
    "currency": {"元": 1.0, "人民币": 1.0},
    "frequency": {"Hz": 1.0, "赫兹": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9},
    "voltage": {"mV": 1e-3, "V": 1.0, "伏": 1.0, "伏特": 1.0, "kV": 1e3, "千伏": 1e3},
    "current": {"mA": 1e-3, "毫安": 1e-3, "A": 1.0, "安": 1.0, "安培": 1.0},
    "charge": {"mAh": 1.0, "毫安时": 1.0, "Ah": 1e3, "安时": 1e3},
    "energy_density": {"Wh/kg": 1.0},
    "ratio": {"倍": 1.0},
    "count": {"次": 1.0},
    "area": {"m2": 1.0, "m²": 1.0, "平方米": 1.0, "平米": 1.0, "亩": 666.667,
             "公顷": 1e4, "km2": 1e6, "km²": 1e6, "平方公里": 1e6},
}
# fmt: on
# Keys are NFKC-folded like the text they are matched against (℃ -> °C, m² -> m2).
UNITS: dict[str, tuple[str, float]] = {
    unicodedata.normalize("NFKC", unit): (dim, factor)
    for dim, units in _UNIT_GROUPS.items()
    for unit, factor in units.items()
}
# Case-insensitive fallback ("KW", "MM"), minus spellings whose case changes the meaning (mW/MW)
# and one-letter units, so "5G" stays a network generation rather than five grams.
_UNITS_LOWER: dict[str, str] = {}
for _u in UNITS:
    _UNITS_LOWER.setdefault(_u.lower(), _u)
for _u in ("mw", "mwh", "ma", "mv", *(u.lower() for u in UNITS if len(u) == 1)):
    _UNITS_LOWER.pop(_u, None)

_MULTIPLIERS = {"千": 1e3, "万": 1e4, "亿": 1e8}

_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_QUANTITY_RE = re.compile(
    rf"(?P<sign>\+/-|±|[-+])?\s*(?P<num>[0-9]+(?:,[0-9]{{3}})*(?:\.[0-9]+)?)\s*"
    # The multiplier is lazy so "千瓦时"/"千克" are read as units before "千" as a multiplier.
    rf"(?:(?P<mult>[千万亿])\s*)??(?P<unit>{_UNIT_ALT})(?![A-Za-z/²])",
    re.IGNORECASE,
)
_RANGE_RE = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?)\s*(?:-|~|至|到)\s*$")
_CLAUSE_BREAK_RE = re.compile(r"[，。；;,!?！？\n、（）()【】]")

# fmt: off
# Operator phrases at the end of the text before a number, longest first.
_PREFIX_OPS: dict[str, str] = {
    "大于或等于": ">=", "大于等于": ">=", "不低于": ">=", "不少于": ">=", "不小于": ">=",
    "不短于": ">=", "不弱于": ">=", "至少": ">=", "最低": ">=", "≥": ">=", ">=": ">=",
    "⩾": ">=",
    "小于或等于": "<=", "小于等于": "<=", "不高于": "<=", "不超过": "<=", "不大于": "<=",
    "不多于": "<=", "不超出": "<=", "不长于": "<=", "最多": "<=", "至多": "<=", "最高": "<=",
    "控制在": "<=", "≤": "<=", "<=": "<=", "⩽": "<=",
    "大于": ">", "高于": ">", "超过": ">", "多于": ">", "长于": ">", ">": ">", "＞": ">",
    "小于": "<", "低于": "<", "少于": "<", "短于": "<", "<": "<", "＜": "<",
    "约为": "~", "大约": "~", "约": "~", "左右": "~", "≈": "~", "~": "~",
    "优于": "better",
}
_SUFFIX_OPS: dict[str, str] = {
    "及以上": ">=", "以上": ">=", "或以上": ">=", "及以下": "<=", "以下": "<=", "以内": "<=",
    "或以下": "<=", "之内": "<=", "左右": "~", "上下": "~",
}
CHANGE_WORDS: dict[str, str] = {
    "提升": "increase", "提高": "increase", "增加": "increase", "增长": "increase",
    "增大": "increase", "上升": "increase", "加快": "increase",
    "降低": "decrease", "减少": "decrease", "下降": "decrease", "减小": "decrease",
    "缩短": "decrease", "节省": "decrease", "节约": "decrease", "减轻": "decrease",
    "降": "decrease", "减": "decrease",
}
# Words between the name and the number that carry no meaning of their own.
_LINK_WORDS = ("达到了", "达到", "可达", "高达", "仅为", "仅", "只有", "为", "是", "达", "在",
               "了", "：", ":", "=", "＝", "等于")
# Whole jieba words (never characters: 能 starts 能耗 and 使 starts 使用寿命).
_LEADING_FILLERS = frozenset(
    ("要求", "需要", "需求", "目标", "希望", "实现", "保证", "确保", "能够", "能", "可以", "可使",
     "使得", "使", "可", "将", "把", "其", "且", "并", "和", "及", "与", "该", "本", "其中",
     "整体", "满足", "并且", "同时", "以及", "或", "达到", "提供", "具有", "拥有")
)
_MAX_NAME = 8

# Direction hints: which way is better for an indicator of this name.
_LOWER_BETTER = ("误差", "偏差", "响应时间", "延迟", "时延", "延时", "能耗", "功耗", "耗电", "成本",
                 "价格", "费用", "噪声", "噪音", "损耗", "损失", "故障率", "误报率", "漏检率",
                 "不良率", "废品率", "排放", "耗时", "周期", "温升", "振动", "重量", "自重",
                 "体积", "漏率", "缺陷率", "电耗", "水耗", "油耗", "含水率", "杂质")
_HIGHER_BETTER = ("续航", "效率", "寿命", "准确率", "识别率", "精确率", "召回率", "良率", "合格率",
                  "转化率", "产量", "产能", "速度", "强度", "容量", "载重", "载荷", "负载", "承重",
                  "距离", "里程", "纯度", "带宽", "吞吐", "回收率", "覆盖率", "灵敏度", "收率",
                       "产率", "利用率", "成活率", "治愈率", "有效率", "去除率", "能量密度", "功率",
                  "扭矩", "推力", "亩产", "保质期", "稳定性")
_ACCURACY_WORDS = ("精度", "分辨率", "准确度")

# Names that mean the same indicator; mapped to one canonical spelling before comparing.
_SYNONYMS: dict[str, str] = {
    "续航时间": "续航", "续航能力": "续航", "航时": "续航", "工作时间": "续航",
    "定位精度": "精度", "测量精度": "精度", "加工精度": "精度", "控制精度": "精度",
    "误差": "精度", "偏差": "精度",
    "时延": "响应时间", "延迟": "响应时间", "延时": "响应时间", "响应速度": "响应时间",
    "载荷": "载重", "负载": "载重", "承重": "载重", "有效载荷": "载重", "载重量": "载重",
    "功耗": "能耗", "耗电量": "能耗", "电耗": "能耗",
    "费用": "成本", "造价": "成本",
    "识别准确率": "准确率", "识别率": "准确率", "正确率": "准确率",
}
# fmt: on


@dataclass(frozen=True)
class Indicator:
    """One quantified indicator; ``value`` is in ``unit``, the base unit of ``dimension``."""

    name: str
    op: str
    value: float
    unit: str
    dimension: str
    direction: Direction = "unknown"
    change: str | None = None  # "increase"/"decrease" for relative changes such as 成本降低20%
    raw: str = ""
    span: tuple[int, int] = (0, 0)

    @property
    def label(self) -> str:
        """Chinese rendering in the author's own unit, e.g. "续航时间≥30分钟"."""
        verb = {"increase": "提升", "decrease": "降低"}.get(self.change or "", "")
        implied = self.op == "=" or self.raw.startswith(("±", "+/-"))
        op = "" if implied else INDICATOR_OPS.get(self.op, self.op)
        quantity = self.raw.strip() or f"{_fmt(self.value)}{self.unit}"
        return f"{self.name}{verb}{op}{quantity}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _normalize(text: str) -> str:
    # NFKC maps full-width digits/letters/％ to ASCII; the string length stays the same for
    # the characters we care about, but spans are reported against this normalised text.
    return unicodedata.normalize("NFKC", text or "")


def parse_indicators(text: str) -> list[Indicator]:
    """All quantified indicators in ``text`` (spans refer to its NFKC-normalised form)."""
    norm = _normalize(text)
    found: list[Indicator] = []
    for match in _QUANTITY_RE.finditer(norm):
        indicator = _indicator_from_match(norm, match)
        if indicator is not None:
            found.append(indicator)
    return found


def _canonical_unit(spelled: str) -> str | None:
    if spelled in UNITS:
        return spelled
    return _UNITS_LOWER.get(spelled.lower())


def _indicator_from_match(text: str, match: re.Match[str]) -> Indicator | None:
    unit = _canonical_unit(match.group("unit"))
    if unit is None:
        return None
    start = match.start()
    if match.group("sign") == "-" and start > 0 and text[start - 1].isdigit():
        start += 1  # "20-30%": the dash is a range mark, not a minus sign
    prefix = text[_clause_start(text, start) : start]
    if _looks_like_year(match, unit):
        return None
    dimension, factor = UNITS[unit]
    value = _number(match) * _MULTIPLIERS.get(match.group("mult") or "", 1.0) * factor
    prefix, range_low = _strip_range(prefix)
    if range_low is not None:
        value = (range_low * _MULTIPLIERS.get(match.group("mult") or "", 1.0) * factor + value) / 2
    name, op, change = _parse_prefix(prefix)
    op = _SUFFIX_OPS.get(_suffix_word(text, match.end()), op) if range_low is None else "~"
    plus_minus = match.group("sign") in ("±", "+/-")
    direction = _direction(name, dimension, op, change, plus_minus)
    op = _resolve_op(op, direction, plus_minus)
    return Indicator(
        name=name,
        op=op,
        value=abs(value) if plus_minus else value,
        unit=_BASE[dimension],
        dimension=dimension,
        direction=direction,
        change=change,
        raw=text[start : match.end()],
        span=(start, match.end()),
    )


def _looks_like_year(match: re.Match[str], unit: str) -> bool:
    # "2025年" is a date, not a duration of two thousand years.
    num = match.group("num")
    return unit == "年" and num.isdigit() and 1900 <= int(num) <= 2100


def _number(match: re.Match[str]) -> float:
    value = float(match.group("num").replace(",", ""))
    return -value if match.group("sign") == "-" else value


def _clause_start(text: str, end: int) -> int:
    window_start = max(0, end - 24)
    breaks = [m.end() for m in _CLAUSE_BREAK_RE.finditer(text, window_start, end)]
    return breaks[-1] if breaks else window_start


def _strip_range(prefix: str) -> tuple[str, float | None]:
    match = _RANGE_RE.search(prefix)
    if match is None:
        return prefix, None
    return prefix[: match.start()], float(match.group(1))


def _suffix_word(text: str, end: int) -> str:
    tail = text[end : end + 3].lstrip()
    return next((w for w in sorted(_SUFFIX_OPS, key=len, reverse=True) if tail.startswith(w)), "")


def _pop_suffix(text: str, words: Sequence[str]) -> tuple[str, str | None]:
    stripped = text.rstrip()
    for word in sorted(words, key=len, reverse=True):
        if word and stripped.endswith(word):
            return stripped[: -len(word)], word
    return stripped, None


def _parse_prefix(prefix: str) -> tuple[str, str, str | None]:
    """Peel operator, link and change words off the end of ``prefix``; the rest names it."""
    op, change, absolute_target = "=", None, False
    rest = prefix
    for _ in range(6):  # a handful of stacked words at most ("降低了不少于约")
        rest, word = _pop_suffix(rest, [*_PREFIX_OPS, "±", "+/-"])
        if word is not None:
            op = _PREFIX_OPS.get(word, op)
            continue
        rest, word = _pop_suffix(rest, ("至", "到"))
        if word is not None:
            absolute_target = True
            continue
        rest, word = _pop_suffix(rest, _LINK_WORDS)
        if word is not None:
            continue
        rest, word = _pop_suffix(rest, CHANGE_WORDS)
        if word is not None:
            change = CHANGE_WORDS[word]
            continue
        break
    if change and absolute_target:
        # "降低至200ms" sets a ceiling, "提高到90%" a floor: absolute targets, not changes.
        op = {"decrease": "<=", "increase": ">="}[change] if op == "=" else op
        change = None
    return _name_from(rest), op, change


def _name_from(rest: str) -> str:
    rest = rest.rstrip().rsplit("的", 1)[-1]
    rest = re.split(r"[\s0-9.]+", rest)[-1].strip(" :=")
    if not rest:
        return ""
    words = _jieba().lcut(rest)
    # Keep the last words up to the length cap, then drop leading filler words.
    kept: list[str] = []
    for word in reversed(words):
        if kept and sum(map(len, kept)) + len(word) > _MAX_NAME:
            break
        kept.insert(0, word)
    while len(kept) > 1 and kept[0] in _LEADING_FILLERS:
        kept.pop(0)
    return "".join(kept)


def _direction(
    name: str, dimension: str, op: str, change: str | None, plus_minus: bool
) -> Direction:
    if change is not None:
        return "higher"  # a bigger improvement is better, whichever way the quantity moves
    if plus_minus or any(w in name for w in _LOWER_BETTER):
        return "lower"
    if any(w in name for w in _ACCURACY_WORDS):
        # 精度 99% is a hit rate; 精度 0.1 mm is an error band.
        return "higher" if dimension == "percentage" else "lower"
    if any(w in name for w in _HIGHER_BETTER):
        return "higher"
    if op in (">=", ">"):
        return "higher"
    if op in ("<=", "<"):
        return "lower"
    return "unknown"


def _resolve_op(op: str, direction: Direction, plus_minus: bool) -> str:
    if op == "better":
        return {"higher": ">", "lower": "<"}.get(direction, "=")
    if plus_minus and op == "=":
        return "<="
    return op


# -- comparing ------------------------------------------------------------------------------


def canonical_name(name: str) -> str:
    name = name.strip()
    for long_name in sorted(_SYNONYMS, key=len, reverse=True):
        if long_name in name:
            return name.replace(long_name, _SYNONYMS[long_name])
    return name


def name_similarity(a: str, b: str) -> float:
    """1.0 when one canonical name contains the other, else Dice overlap of characters."""
    a, b = canonical_name(a), canonical_name(b)
    if not a or not b:
        return 0.0
    if a in b or b in a:
        return 1.0
    sa, sb = set(a), set(b)
    return 2 * len(sa & sb) / (len(sa) + len(sb))


def _interval(ind: Indicator, as_requirement: bool) -> tuple[float, float, bool, bool]:
    """(low, high, low_open, high_open) of the values ``ind`` allows or claims."""
    op = ind.op
    if op == "=" and as_requirement:
        # A bare target ("功率 1.5kW") means "at least" or "at most" once we know which way is
        # better; with no hint it is an approximate value.
        op = {"higher": ">=", "lower": "<="}.get(ind.direction, "~")
    v = ind.value
    if op == ">=":
        return v, math.inf, False, True
    if op == ">":
        return v, math.inf, True, True
    if op == "<=":
        return -math.inf, v, True, False
    if op == "<":
        return -math.inf, v, True, True
    if op == "~" and as_requirement:
        tol = abs(v) * 0.05
        return v - tol, v + tol, False, False
    return v, v, False, False


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _inside(lo: float, hi: float, lo_open: bool, hi_open: bool, x: float) -> bool:
    above = x > lo or (not lo_open and _close(x, lo))
    below = x < hi or (not hi_open and _close(x, hi))
    return above and below


def compare(demand: Indicator, outcome: Indicator) -> Status:
    """Does the outcome's claimed value satisfy the demand's target? Unit-aware."""
    if demand.dimension != outcome.dimension or demand.change != outcome.change:
        return "unknown"
    req = _interval(demand, as_requirement=True)
    claim = _interval(outcome, as_requirement=False)
    lo_ok = _inside(*req, claim[0]) if math.isfinite(claim[0]) else math.isinf(req[0])
    hi_ok = _inside(*req, claim[1]) if math.isfinite(claim[1]) else math.isinf(req[1])
    if lo_ok and hi_ok:
        return "met"
    if _disjoint(req, claim):
        return "not_met"
    return "unknown"


def _disjoint(a: tuple[float, float, bool, bool], b: tuple[float, float, bool, bool]) -> bool:
    lo = max(a[0], b[0])
    hi = min(a[1], b[1])
    if lo < hi and not _close(lo, hi):
        return False
    if _close(lo, hi):
        # Touching ends overlap only if both closed at that point.
        lo_open = a[2] if a[0] >= b[0] else b[2]
        hi_open = a[3] if a[1] <= b[1] else b[3]
        return lo_open or hi_open
    return True


@dataclass(frozen=True)
class IndicatorMatch:
    demand: Indicator
    outcome: Indicator | None
    status: Status
    similarity: float


def match_indicators(
    demand_inds: Sequence[Indicator],
    outcome: str | Sequence[Indicator],
    min_similarity: float = 0.5,
) -> list[IndicatorMatch]:
    """Pair each demand indicator with the most similar outcome indicator of the same kind."""
    outcome_inds = parse_indicators(outcome) if isinstance(outcome, str) else list(outcome)
    matches = []
    for demand in demand_inds:
        best, best_sim = None, 0.0
        for candidate in outcome_inds:
            if candidate.dimension != demand.dimension or candidate.change != demand.change:
                continue
            sim = name_similarity(demand.name, candidate.name)
            if sim > best_sim:
                best, best_sim = candidate, sim
        if best is None or best_sim < min_similarity:
            matches.append(IndicatorMatch(demand, None, "unknown", best_sim))
        else:
            matches.append(IndicatorMatch(demand, best, compare(demand, best), best_sim))
    return matches


def satisfaction(matches: Sequence[IndicatorMatch]) -> float | None:
    """Share of demand indicators met (unknown counts half); None when there are none."""
    if not matches:
        return None
    points = {"met": 1.0, "unknown": 0.5, "not_met": 0.0}
    return sum(points[m.status] for m in matches) / len(matches)
