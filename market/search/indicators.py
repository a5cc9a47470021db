"""Quantified indicators (量化指标) in Chinese demand and outcome texts.

``parse_indicators("续航时间不低于30 min，精度达到±0.05毫米")`` finds each number with its unit,
the operator words around it and the indicator name before it. Units are pint's: Chinese
spellings are mapped to pint unit names, pint knows how they convert, so 30分钟 and 0.75小时
compare directly. ``compare`` and ``match_indicators`` then say whether an outcome meets a
demand's targets; ``indicator_from_row`` turns a row entered in a form into the same shape.

What is not an indicator: a quantity that only describes the site ("一座200MW风电场",
"单站2.5MWh储能"), a year ("2025年"), a network generation ("5G"), a baseline ("由20%提高到70%"
keeps 70%). A quantity counts when an operator or change word frames it (≥, 不低于, 以内, 降低…)
or when the words before it name something measurable (精度, 续航, 成本, …率, …时间).
Ranges ("-20~60℃", "2～3次") keep both ends.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from market.search.tokenize import _jieba
from models.enums import INDICATOR_OPS

logger = logging.getLogger(__name__)

Status = Literal["met", "not_met", "unknown"]
Direction = Literal["higher", "lower", "unknown"]

# -- units ----------------------------------------------------------------------------------

# Spellings pint does not know, mapped to pint expressions. The conversion itself is pint's.
# fmt: off
_SPELLINGS: dict[str, str] = {
    "纳米": "nm", "微米": "um", "丝": "si", "毫米": "mm", "厘米": "cm", "米": "m", "公里": "km",
    "千米": "km", "英寸": "inch",
    "微秒": "us", "毫秒": "ms", "秒": "s", "秒钟": "s", "分钟": "min", "小时": "h", "个小时": "h",
    "天": "day", "周": "week", "个月": "month", "年": "year",
    "毫克": "mg", "克": "g", "斤": "jin", "公斤": "kg", "千克": "kg", "吨": "t",
    "毫瓦": "mW", "瓦": "W", "千瓦": "kW", "兆瓦": "MW", "焦": "J", "焦耳": "J", "千焦": "kJ",
    "千瓦时": "kWh", "兆瓦时": "MWh",
    "毫伏": "mV", "伏": "V", "伏特": "V", "千伏": "kV", "毫安": "mA", "安": "A", "安培": "A",
    "毫安时": "mAh", "安时": "Ah",
    "°C": "degC", "摄氏度": "degC",
    "%": "percent", "个百分点": "percent", "百分点": "percent", "‰": "permille",
    "平方米": "m**2", "平米": "m**2", "亩": "mu_area", "公顷": "hectare", "平方公里": "km**2",
    "立方米": "m**3", "毫升": "mL", "升": "L",
    "帕": "Pa", "千帕": "kPa", "兆帕": "MPa",
    "米/秒": "m/s", "米每秒": "m/s", "公里/小时": "km/h", "千米/小时": "km/h", "公里每小时": "km/h",
    "赫兹": "Hz", "分贝": "dB",
    # capitalised as people type them; pint would read KW as kelvin-watts
    "KW": "kW", "KWH": "kWh", "KWh": "kWh", "Kwh": "kWh", "KG": "kg", "Kg": "kg", "MM": "mm",
    "CM": "cm", "KM": "km", "Km": "km", "MIN": "min", "Min": "min", "KV": "kV", "HZ": "Hz",
    "KHz": "kHz", "KHZ": "kHz", "MHZ": "MHz", "KPa": "kPa", "KPA": "kPa", "Kpa": "kPa",
    "MPA": "MPa", "Mpa": "MPa", "MAH": "mAh", "Mah": "mAh", "MWH": "MWh", "Mwh": "MWh",
    "元": "cny", "人民币": "cny", "次": "occurrence", "倍": "fold",
}
# Classifiers: counts of things, compared only with the same word ("日产能≥2000只").
_COUNTERS = ("只", "个", "件", "台", "套", "颗", "粒", "片", "株", "头", "床", "人", "户", "座")
# ASCII units written as one letter collide with everyday abbreviations (5G, 4K, 2H pencils,
# 3D): only these are read as units.
_ONE_LETTER_UNITS = frozenset("mgshtAVWJNL")
# fmt: on
# Display unit per dimension; a dimension without one shows pint's base units.
# fmt: off
_DISPLAY = ("s", "m", "kg", "W", "J", "m/s", "degC", "percent", "cny", "m**2", "m**3", "Pa",
            "Hz", "V", "A", "mAh", "Wh/kg", "m**3/h", "t/h", "mg/L", "occurrence", "fold")
_DISPLAY_LABELS = {"degC": "°C", "percent": "%", "cny": "元", "m**2": "m²", "m**3": "m³",
                   "m**3/h": "m³/h", "occurrence": "次", "fold": "倍"}
# fmt: on


@cache
def _registry():
    """pint's unit registry with the few units Chinese texts add (loaded once, ~0.4 s)."""
    import pint

    ureg = pint.UnitRegistry()
    for definition in (
        "cny = [currency]",
        "occurrence = [occurrence]",
        "fold = [fold]",
        "mu_area = 2000 / 3 * meter ** 2",  # 亩
        "jin = 0.5 * kilogram",  # 斤
        "si = 10 * micrometer",  # 丝, the machinist's 0.01 mm
    ):
        ureg.define(definition)
    return ureg


@dataclass(frozen=True)
class Unit:
    """A unit spelling resolved: its dimension, the factor to the display unit, that unit."""

    dimension: str
    factor: float
    base: str


@cache
def _display_units() -> dict[str, tuple[str, Any]]:
    ureg = _registry()
    table: dict[str, tuple[str, Any]] = {}
    for name in _DISPLAY:
        units = ureg.parse_units(name)
        table.setdefault(str(units.dimensionality), (_DISPLAY_LABELS.get(name, name), units))
    return table


def _pint_name(spelled: str) -> str:
    name = _SPELLINGS.get(spelled)
    if name is not None:
        return name
    # Compound spellings ("粒/分钟", "万元/亩") are mapped part by part; NFKC turned m³ into m3.
    parts = [_SPELLINGS.get(p, p) for p in spelled.split("/")]
    return "/".join(re.sub(r"(?<=[A-Za-z])([23])$", r"**\1", p) for p in parts)


@lru_cache(maxsize=1024)
def resolve_unit(spelled: str) -> Unit | None:
    """The unit a spelling names, or None when it is not one we read as a unit.

    pint decides for everything it knows; counters (只, 台, …) and spellings pint cannot parse
    (dB/km, HV) become opaque units compared only with the same spelling.
    """
    spelled = unicodedata.normalize("NFKC", spelled).strip()
    if not spelled:
        return None
    if spelled in _COUNTERS or spelled.split("/")[0] in _COUNTERS:
        return Unit(f"[{spelled}]", 1.0, spelled)
    one_letter = len(spelled) == 1 and spelled.isascii() and spelled.isalpha()
    if one_letter and spelled not in _ONE_LETTER_UNITS:
        return None
    import pint

    ureg = _registry()
    try:
        units = ureg.parse_units(_pint_name(spelled))
        dimension = str(units.dimensionality)
    except (pint.errors.PintError, ValueError, AttributeError, TypeError, AssertionError):
        if spelled.isascii() and len(spelled) >= 2 and spelled[0].isalpha():
            return Unit(f"[{spelled}]", 1.0, spelled)
        return None
    if units == ureg.degC:
        return Unit(dimension, 1.0, "°C")  # an offset unit: values stay in degrees Celsius
    label, display = _display_units().get(dimension, (None, None))
    if display is None:
        base = ureg.Quantity(1.0, units).to_base_units()
        return Unit(dimension, float(base.magnitude), f"{base.units:~}")
    return Unit(dimension, float(ureg.Quantity(1.0, units).to(display).magnitude), label)


# Every spelling a text may put after a number: never a highlight between two texts.
UNIT_WORDS: frozenset[str] = frozenset(
    [*_SPELLINGS, *_COUNTERS, "min", "mm", "cm", "km", "kg", "kw", "kwh", "mwh", "ms", "mah"]
)

_MULTIPLIERS = {"千": 1e3, "万": 1e4, "亿": 1e8}
_CJK_UNIT = "|".join(
    re.escape(u) for u in sorted([*_SPELLINGS, *_COUNTERS], key=len, reverse=True) if u
)
_ASCII_UNIT = r"[A-Za-zμΩ°‰%][A-Za-z0-9μΩ°*/·^.]*?(?=[^A-Za-z0-9μΩ°*/·^]|\.(?![A-Za-z0-9])|$)"
_UNIT = rf"(?:{_CJK_UNIT})(?:/(?:{_CJK_UNIT}|[A-Za-z]+))?|{_ASCII_UNIT}"
_NUMBER = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
_QUANTITY_RE = re.compile(
    rf"(?P<sign>\+/-|±|[-+])?\s*(?P<num>{_NUMBER})\s*"
    # A unit is tried whole before 千/万/亿 as a multiplier, so 千瓦时 and 千克 stay units.
    rf"(?:(?P<unit>{_UNIT})|(?P<mult>[千万亿])\s*(?P<munit>{_UNIT})?)?"
)
_RANGE_MARK = r"\s*(?:-|~|至|到)\s*"
_RANGE_LOW_RE = re.compile(
    rf"(?P<sign>-)?(?P<num>{_NUMBER})\s*(?P<mult>[千万亿])?\s*(?P<unit>{_UNIT})?{_RANGE_MARK}$"
)
_RANGE_NEXT_RE = re.compile(rf"{_RANGE_MARK}[-+]?[0-9]")
_CLAUSE_BREAK_RE = re.compile(r"[，。；;,!?！？\n、（）()【】]|[0-9][)）]")

# fmt: off
# Operator phrases at the end of the text before a number, longest first.
_PREFIX_OPS: dict[str, str] = {
    "大于或等于": ">=", "大于等于": ">=", "不低于": ">=", "不少于": ">=", "不小于": ">=",
    "不短于": ">=", "不弱于": ">=", "不劣于": ">=", "至少": ">=", "最低": ">=", "≥": ">=",
    ">=": ">=", "⩾": ">=",
    "小于或等于": "<=", "小于等于": "<=", "不高于": "<=", "不超过": "<=", "不大于": "<=",
    "不多于": "<=", "不超出": "<=", "不长于": "<=", "最多": "<=", "至多": "<=", "最高": "<=",
    "控制在": "<=", "≤": "<=", "<=": "<=", "⩽": "<=",
    "大于": ">", "高于": ">", "超过": ">", "多于": ">", "长于": ">", ">": ">",
    "小于": "<", "低于": "<", "少于": "<", "短于": "<", "<": "<",
    "约为": "~", "大约": "~", "约": "~", "≈": "~", "~": "~",
    "优于": "better",
}
_SUFFIX_OPS: dict[str, str] = {
    "及以上": ">=", "以上": ">=", "或以上": ">=", "及以下": "<=", "以下": "<=", "以内": "<=",
    "或以下": "<=", "之内": "<=", "内": "<=", "左右": "~", "上下": "~",
}
CHANGE_WORDS: dict[str, str] = {
    "提升": "increase", "提高": "increase", "增加": "increase", "增长": "increase",
    "增大": "increase", "上升": "increase", "加快": "increase",
    "降低": "decrease", "减少": "decrease", "下降": "decrease", "减小": "decrease",
    "延长": "increase", "缩短": "decrease", "节省": "decrease", "节约": "decrease", "减轻": "decrease",
    "收窄": "decrease", "降": "decrease", "减": "decrease",
}
# Words between the name and the number that carry no meaning of their own.
_LINK_WORDS = ("达到了", "达到", "稳定在", "保持在", "维持在", "可达", "高达", "仅为", "仅", "只有",
               "为", "是", "达", "在", "以", "了", ":", "=", "等于")
# Whole jieba words (never characters: 能 starts 能耗 and 使 starts 使用寿命).
_LEADING_FILLERS = frozenset(
    ("要求", "需要", "需求", "目标", "希望", "实现", "保证", "确保", "能够", "能", "可以", "可使",
     "使得", "使", "可", "将", "把", "其", "且", "并", "和", "及", "与", "该", "本", "其中",
     "整体", "满足", "并且", "同时", "以及", "或", "达到", "提供", "具有", "拥有", "在", "下",
     "前提", "前提下", "时", "后", "且", "力争", "争取", "预计", "经测试", "实测")
)
# Adverbs between a name and its number: "耗氧量稳定≤4.8", "含硫长期在0.3%".
_TRAILING_FILLERS = frozenset(("稳定", "长期", "一般", "目前", "通常", "始终", "均", "都", "需", "应"))
_MAX_NAME = 12
# A name that says something is measured: framed by no operator, a quantity still counts when
# its name ends in one of these characters or holds one of these words.
_METRIC_ENDINGS = frozenset("率度量值数期耗费价重压差力距长宽高深厚速积径比重温")
_METRIC_WORDS = ("时间", "时长", "寿命", "成本", "投资", "投入", "预算", "造价", "功率", "容量",
                 "能力", "效率", "提前", "续航", "航时", "精度", "误差", "偏差", "能耗", "功耗",
                 "产能", "产量", "周期", "衰减", "噪声", "噪音", "载重", "载荷", "里程", "距离",
                 "带宽", "延迟", "时延", "延时", "响应", "分辨率", "尺寸", "面积", "体积", "规模",
                 "费用", "收益", "损失", "电压", "电流", "频率", "温度", "湿度", "浓度", "含量",
                 "良率", "价格", "报价", "电费", "工期", "回收期", "覆盖期", "保质期", "加速")

# Direction hints: which way is better for an indicator of this name.
_LOWER_BETTER = ("误差", "偏差", "响应时间", "延迟", "时延", "延时", "能耗", "功耗", "耗电", "成本",
                 "价格", "费用", "噪声", "噪音", "损耗", "损失", "故障率", "误报", "漏检",
                 "不良率", "废品率", "排放", "耗时", "周期", "温升", "振动", "重量", "自重",
                 "体积", "漏率", "缺陷率", "电耗", "水耗", "油耗", "气耗", "单耗", "含水率", "杂质",
                 "造价", "投入", "投资", "预算", "回收期", "酸耗", "返工率", "波动", "泵压",
                 "摩擦系数", "检测时间", "干燥时间", "停机")
_HIGHER_BETTER = ("续航", "效率", "寿命", "准确率", "识别率", "精确率", "召回率", "良率", "合格率",
                  "转化率", "产量", "产能", "速度", "强度", "容量", "载重", "载荷", "负载", "承重",
                  "距离", "里程", "纯度", "带宽", "吞吐", "回收率", "覆盖率", "灵敏度", "收率",
                  "产率", "利用率", "成活率", "治愈率", "有效率", "去除率", "能量密度", "功率",
                  "扭矩", "推力", "亩产", "保质期", "稳定性", "提前", "选择性", "消纳率", "蓄满率",
                  "回灌率", "品位", "硬度", "附着力")
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
    "提前量": "提前量", "提前时间": "提前量", "预警时间": "提前量", "提前": "提前量",
}
# fmt: on


@dataclass(frozen=True)
class Indicator:
    """One quantified indicator; ``value`` (and ``high``) are in ``unit``, the display unit of
    ``dimension``. ``op`` is a key of INDICATOR_OPS, "better", or "range" for [value, high]."""

    name: str
    op: str
    value: float
    unit: str
    dimension: str
    direction: Direction = "unknown"
    change: str | None = None  # "increase"/"decrease" for relative changes such as 成本降低20%
    raw: str = ""
    span: tuple[int, int] = (0, 0)
    high: float | None = None
    declared: bool = False  # entered as a structured row, not read from the text

    @property
    def label(self) -> str:
        """Chinese rendering in the author's own unit, e.g. "续航时间≥30分钟"."""
        verb = {"increase": "提升", "decrease": "降低"}.get(self.change or "", "")
        implied = self.op in ("=", "range") or self.raw.startswith(("±", "+/-"))
        op = "" if implied else INDICATOR_OPS.get(self.op, self.op)
        quantity = self.raw.strip() or f"{_fmt(self.value)}{self.unit}"
        return f"{self.name}{verb}{op}{quantity}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _normalize(text: str) -> str:
    # NFKC maps full-width digits, letters, ％ and ～ to ASCII and ℃ to °C; spans are reported
    # against this normalised text.
    return unicodedata.normalize("NFKC", text or "")


# -- parsing --------------------------------------------------------------------------------


def parse_indicators(text: str) -> list[Indicator]:
    """All quantified indicators in ``text`` (spans refer to its NFKC-normalised form)."""
    norm = _normalize(text)
    found: list[Indicator] = []
    for match in _QUANTITY_RE.finditer(norm):
        indicator = _indicator_from_match(norm, match)
        if indicator is not None:
            found.append(indicator)
    return found


def _spelled_unit(match: re.Match[str]) -> str | None:
    return match.group("unit") or match.group("munit")


def _unit_of(match: re.Match[str]) -> Unit | None:
    spelled = _spelled_unit(match)
    return resolve_unit(spelled) if spelled else None


def _indicator_from_match(text: str, match: re.Match[str]) -> Indicator | None:
    start, end = match.start(), match.end()
    before = text[start - 1] if start > 0 else ""
    if match.group("sign") == "-" and (before.isdigit() or before in "°%"):
        start += 1  # "20-30%": the dash is a range mark, not a minus sign
        before = text[start - 1]
    if _RANGE_NEXT_RE.match(text, end):
        return None  # the low end of a range: read with its high end
    if (before.isascii() and before.isalpha()) or before in "._":
        return None  # part of a code or a model number: NCM811, G.652, Q235, P5
    unit = _unit_of(match)
    if (_spelled_unit(match) and unit is None) or _looks_like_year(match):
        return None
    clause_start = _clause_start(text, start)
    prefix, low, low_start = _strip_range(text[clause_start:start], unit, match)
    name, op, change = _parse_prefix(prefix)
    suffix_op = _SUFFIX_OPS.get(_suffix_word(text, end))
    explicit = op not in ("=", "~") or suffix_op in ("<=", ">=")
    framed = explicit or change is not None
    if unit is None:
        if not explicit or not name:
            return None  # a bare number counts only after a comparison: "摩擦系数≤0.03"
        unit = Unit("[number]", 1.0, "")
    if _baseline(prefix):
        return None  # "由20%提高到70%": the 20% is where they stand, not where they aim
    if name.endswith("前") and not name.endswith("提前") and unit.dimension == "[time]":
        name = "提前"  # "在热失控前约20分钟发出预警": a lead time
    metric = _is_metric(name)
    if low is not None:
        if not metric and unit.base == "°C":
            name = name if explicit else "温度范围"  # "适应-30℃～50℃野外环境": a working window
        elif not metric:
            return None  # "每月打焦2～3次": how often something happens, not a target
    elif not name or not (framed or metric):
        return None  # "单站2.5MWh储能", "一座200MW风电场": a description, not a target
    value = _number(match) * _MULTIPLIERS.get(match.group("mult") or "", 1.0) * unit.factor
    high = None
    if low is not None:
        op, value, high = "range", min(low, value), max(low, value)
    elif suffix_op is not None:
        op = suffix_op
    plus_minus = match.group("sign") in ("±", "+/-")
    direction = _direction(name, unit.dimension, op, change, plus_minus)
    op = _resolve_op(op, direction, plus_minus)
    raw_start = clause_start + low_start if low is not None else start
    return Indicator(
        name=name,
        op=op,
        value=abs(value) if plus_minus else value,
        unit=unit.base,
        dimension=unit.dimension,
        direction=direction,
        change=change,
        raw=text[raw_start:end],
        span=(raw_start, end),
        high=high,
    )


def _looks_like_year(match: re.Match[str]) -> bool:
    # "2025年" is a date, not a duration of two thousand years.
    num = match.group("num")
    return _spelled_unit(match) == "年" and num.isdigit() and 1900 <= int(num) <= 2100


def _number(match: re.Match[str]) -> float:
    value = float(match.group("num").replace(",", ""))
    return -value if match.group("sign") == "-" else value


def _clause_start(text: str, end: int) -> int:
    window_start = max(0, end - 30)
    breaks = [m.end() for m in _CLAUSE_BREAK_RE.finditer(text, window_start, end)]
    return breaks[-1] if breaks else window_start


def _strip_range(
    prefix: str, unit: Unit | None, high: re.Match[str]
) -> tuple[str, float | None, int]:
    """(prefix without the range's low end, low end in display units or None, where it began).

    The low end may carry its own unit ("-30℃～50℃") or share the high end's ("2～3次")."""
    found = _RANGE_LOW_RE.search(prefix)
    if found is None or unit is None:
        return prefix, None, 0
    low_unit = resolve_unit(found.group("unit")) if found.group("unit") else unit
    if low_unit is None or low_unit.dimension != unit.dimension:
        return prefix, None, 0
    mult = found.group("mult") or (None if found.group("unit") else high.group("mult"))
    # "2~3万吨": the low end shares the high end's multiplier as well as its unit
    low = float(found.group("num").replace(",", "")) * _MULTIPLIERS.get(mult or "", 1.0)
    low = -low if found.group("sign") else low
    return prefix[: found.start()], low * low_unit.factor, found.start()


def _baseline(prefix: str) -> bool:
    return prefix.rstrip().endswith(("由", "从"))


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
        if word is not None and not _inside_word(rest, word):
            change = CHANGE_WORDS[word]
            continue
        rest = rest + (word or "")
        break
    if change and absolute_target:
        # "降低至200ms" sets a ceiling, "提高到90%" a floor: absolute targets, not changes.
        op = {"decrease": "<=", "increase": ">="}[change] if op == "=" else op
        change = None
    return _name_from(rest), op, change


def _inside_word(rest: str, verb: str) -> bool:
    """衰减 and 递减 end in 减 without being a change: a one-character verb must stand alone."""
    return len(verb) == 1 and bool(rest) and _jieba().get_FREQ(rest[-1] + verb) is not None


# A baseline inside the name ("综合利用率由20%提高到"): everything from 由/从 and its number on.
_FROM_RE = re.compile(rf"(?:由|从)\s*[-+]?{_NUMBER}.*$")
_UNIT_HEAD_RE = re.compile(r"^(?:[a-zA-Zμ°%/]+)(?=[\u4e00-\u9fff])")


_TESTED_RE = re.compile(r"^(?:经测试|经检测|经测定|测试表明|试验表明|实测)")


def _name_from(rest: str) -> str:
    rest = _FROM_RE.sub("", rest.rstrip())
    rest = rest.rsplit("的", 1)[-1]
    # The name is the last run of words: after the last number, space or punctuation mark.
    rest = re.split(r"[^\w]+|[0-9.]+", rest)[-1].strip()
    rest = _UNIT_HEAD_RE.sub("", rest)  # "1383nm衰减": the unit of an earlier number
    rest = _TESTED_RE.sub("", rest)
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
    while len(kept) > 1 and kept[-1] in _TRAILING_FILLERS:
        kept.pop()
    return "".join(kept)


def _is_metric(name: str) -> bool:
    return bool(name) and (name[-1] in _METRIC_ENDINGS or any(w in name for w in _METRIC_WORDS))


def _direction(
    name: str, dimension: str, op: str, change: str | None, plus_minus: bool
) -> Direction:
    if change is not None:
        return "higher"  # a bigger improvement is better, whichever way the quantity moves
    if plus_minus or any(w in name for w in _LOWER_BETTER):
        return "lower"
    if any(w in name for w in _ACCURACY_WORDS):
        # 精度 99% is a hit rate; 精度 0.1 mm is an error band.
        return "higher" if dimension == "dimensionless" else "lower"
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


def indicator_from_row(row: Mapping[str, Any]) -> Indicator | None:
    """A structured row of a form (name / op / value / unit) as an Indicator, or None when its
    unit is not one we can compare (the row is still shown, just not checked)."""
    name = str(row.get("name") or "").strip()
    op = row.get("op") or ">="
    try:
        value = float(row.get("value"))
    except (TypeError, ValueError):
        return None
    spelled = _normalize(str(row.get("unit") or "")).strip()
    mult = spelled[0] if spelled[:1] in _MULTIPLIERS and len(spelled) > 1 else ""
    unit = resolve_unit(spelled[len(mult) :]) if spelled else Unit("[number]", 1.0, "")
    if not name or unit is None or op not in INDICATOR_OPS:
        return None
    shown = f"{_fmt(value)}{spelled}"
    direction = _direction(name, unit.dimension, op, None, False)
    return Indicator(
        name=name,
        op=op,
        value=value * _MULTIPLIERS.get(mult, 1.0) * unit.factor,
        unit=unit.base,
        dimension=unit.dimension,
        direction=direction,
        raw=shown,
        declared=True,
    )


def listing_indicators(rows: Sequence[Mapping[str, Any]], text: str) -> list[Indicator]:
    """A listing's indicators: the rows entered in its form first, then those its text adds.

    One read from the text is left out when a declared row already names the same indicator
    (the row is what the author meant; the text often restates it)."""
    declared = [i for i in (indicator_from_row(r) for r in rows or ()) if i is not None]
    read = [
        i
        for i in parse_indicators(text)
        if not any(name_similarity(i.name, d.name) >= 0.5 and i.dimension == d.dimension
                   for d in declared)
    ]  # fmt: skip
    return declared + read


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


Interval = tuple[float, float, bool, bool]


def _interval(ind: Indicator, as_requirement: bool) -> Interval:
    """(low, high, low_open, high_open) of the values ``ind`` allows or claims."""
    op = ind.op
    if op == "=" and as_requirement:
        # A bare target ("功率 1.5kW") means "at least" or "at most" once we know which way is
        # better; with no hint it is an approximate value.
        op = {"higher": ">=", "lower": "<="}.get(ind.direction, "~")
    v = ind.value
    if op == "range" and ind.high is not None:
        return v, ind.high, False, False
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


def _within(inner: Interval, outer: Interval) -> bool:
    lo_ok = _inside(*outer, inner[0]) if math.isfinite(inner[0]) else math.isinf(outer[0])
    hi_ok = _inside(*outer, inner[1]) if math.isfinite(inner[1]) else math.isinf(outer[1])
    return lo_ok and hi_ok


def compare(demand: Indicator, outcome: Indicator) -> Status:
    """Does the outcome's claimed value satisfy the demand's target? Unit-aware.

    A claimed value inside the required interval meets it. Two ranges are working windows
    ("-30~50℃" asked, "-40~70℃" claimed): the claimed one must cover the required one."""
    if demand.dimension != outcome.dimension or demand.change != outcome.change:
        return "unknown"
    if demand.dimension.startswith("[") and demand.unit != outcome.unit:
        return "unknown"  # opaque units (只, dB/km) compare only with the same spelling
    req = _interval(demand, as_requirement=True)
    claim = _interval(outcome, as_requirement=False)
    windows = demand.op == "range" and outcome.op == "range"
    if _within(req, claim) if windows else _within(claim, req):
        return "met"
    if _disjoint(req, claim):
        return "not_met"
    return "unknown"


def _disjoint(a: Interval, b: Interval) -> bool:
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
