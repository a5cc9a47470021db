"""Policy profiles: the numbers a district sets, loaded from TOML, each rule with its citation.

A profile file has `key`, `name`, optional `extends` (another profile's key, found beside it),
`[rules.<id>]` tables (binding policy) and `[defaults.<id>]` tables overriding the platform's
practice defaults (market/licensing/practice_defaults.toml). See seed_data/policies/.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from functools import lru_cache
from pathlib import Path
from typing import Any

from market.licensing.errors import ProfileError
from market.licensing.sheet import DERIVED_UNITS, ENUM_VALUES, FIELD_UNITS, MILESTONE_EVENTS
from models.enums import COOPERATION_MODES, MATURITY, ORG_KINDS

logger = logging.getLogger(__name__)

PRACTICE_DEFAULTS_PATH = Path(__file__).with_name("practice_defaults.toml")
BUILTIN_KEY = "builtin"

# "scope": a rule that applies to some owners / licensees only; outside it the draft is still
# made but carries a visible warning (e.g. 珠海 措施7 covers 高校院所 patents licensed to SMEs).
CHECKS = ("bounds", "bounds_of_price", "one_of", "equals", "default", "param", "info", "scope")
FIELD_CHECKS = ("bounds", "bounds_of_price", "one_of", "equals")
UNITS = (
    "fen", "bps", "bps_of_price", "months", "years", "days", "count", "bool", "enum", "text", "plan",
)  # fmt: skip
INT_UNITS = frozenset({"fen", "bps", "bps_of_price", "months", "years", "days", "count"})
CONDITIONS = (
    "ownership_shared",
    "fiscal_funded",
    "has_granted_patent",
    "sme_licensee",
    "has_royalty",
    "royalty_base:net_sales",
    "royalty_base:profit",
    "has_conversion",
    "has_risk_instrument",
    "fee_form:milestone_royalty",
    "fee_form:deferred",
    "fee_form:royalty",
    "fee_form:lump_sum",
)
_TOP_KEYS = {"key", "name", "region", "summary", "extends", "documents", "rules", "defaults"}
_RULE_KEYS = {
    "label", "check", "field", "unit", "value", "bounds", "modes", "owner_kinds", "when",
    "by_maturity", "by_mode", "by_field", "note", "citation",
}  # fmt: skip
_OVERRIDE_KEYS = {
    "value",
    "bounds",
    "by_maturity",
    "by_mode",
    "by_field",
    "note",
    "citation",
    "label",
}


@dataclass(frozen=True)
class Citation:
    document: str
    article: str
    excerpt: str = ""

    def __str__(self) -> str:
        return f"{self.document} {self.article}".strip()

    def to_dict(self) -> dict[str, str]:
        return {"document": self.document, "article": self.article, "excerpt": self.excerpt}


@dataclass(frozen=True)
class Rule:
    """One rule or practice default: value, unit, bounds and the citation the UI shows."""

    id: str
    profile_key: str
    kind: str  # "policy" (from [rules]) or "practice" (a default, editable per profile)
    check: str
    label: str
    unit: str
    citation: Citation
    field: str | None = None
    value: Any = None
    bounds: tuple[int | None, int | None] | None = None
    modes: tuple[str, ...] = ()
    owner_kinds: tuple[str, ...] = ()
    when: tuple[str, ...] = ()
    by_maturity: Mapping[str, Any] = dc_field(default_factory=dict)
    by_mode: Mapping[str, Any] = dc_field(default_factory=dict)
    by_field: Mapping[str, Any] = dc_field(default_factory=dict)
    note: str = ""

    @property
    def source(self) -> str:
        prefix = "rule" if self.kind == "policy" else "default"
        return f"{prefix}:{self.profile_key}/{self.id}"

    def value_for(self, mode: str, maturity: str, field_code: str = "") -> Any:
        """The rule's value specialised by mode, then field (longest code prefix), then maturity."""
        if mode in self.by_mode:
            return self.by_mode[mode]
        prefixes = [p for p in self.by_field if field_code.upper().startswith(p.upper())]
        if prefixes:
            return self.by_field[max(prefixes, key=len)]
        return self.by_maturity.get(maturity, self.value)

    def to_dict(self) -> dict[str, Any]:
        """Everything the UI shows about the rule."""
        return {
            "id": self.id,
            "profile_key": self.profile_key,
            "kind": self.kind,
            "check": self.check,
            "label": self.label,
            "field": self.field,
            "unit": self.unit,
            "value": self.value,
            "bounds": {"min": self.bounds[0], "max": self.bounds[1]} if self.bounds else None,
            "modes": list(self.modes),
            "owner_kinds": list(self.owner_kinds),
            "when": list(self.when),
            "by_maturity": dict(self.by_maturity),
            "by_mode": dict(self.by_mode),
            "by_field": dict(self.by_field),
            "note": self.note,
            "citation": self.citation.to_dict(),
            "source": self.source,
        }


@dataclass(frozen=True)
class Profile:
    key: str
    name: str
    rules: Mapping[str, Rule]
    region: str = ""
    summary: str = ""
    extends: str | None = None
    documents: tuple[Mapping[str, str], ...] = ()
    path: str = ""

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError as e:
            raise ProfileError(self.path or self.key, f"rules.{rule_id}", "规则缺失") from e

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def policy_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "policy"]

    def practice_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "practice"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "region": self.region,
            "summary": self.summary,
            "extends": self.extends,
            "documents": [dict(d) for d in self.documents],
            "rules": [r.to_dict() for r in self.rules.values()],
        }


def load_profile(path: str | Path, _chain: tuple[str, ...] = ()) -> Profile:
    """Load one profile file, resolving `extends` from sibling files and the practice defaults."""
    path = Path(path)
    data = _read_toml(path)
    where = str(path)
    _check_top(data, where)
    key = data["key"]
    if key in _chain:
        raise ProfileError(where, "extends", f"循环继承：{' → '.join((*_chain, key))}")
    parent = _parent_rules(data, path, (*_chain, key))
    rules = dict(parent)
    for rule_id, raw in data.get("defaults", {}).items():
        rules[rule_id] = _override_default(rules, rule_id, raw, key, where)
    for rule_id, raw in data.get("rules", {}).items():
        if rule_id in rules and rules[rule_id].kind == "practice":
            raise ProfileError(
                where, f"rules.{rule_id}", "与实践默认值同名，请在 [defaults] 中覆盖"
            )
        rules[rule_id] = _parse_rule(rule_id, raw, key, "policy", f"{where}: rules.{rule_id}")
    logger.debug("loaded policy profile %s from %s (%d rules)", key, path, len(rules))
    return Profile(
        key=key,
        name=data["name"],
        rules=rules,
        region=data.get("region", ""),
        summary=data.get("summary", ""),
        extends=data.get("extends"),
        documents=tuple(data.get("documents", ())),
        path=where,
    )


def load_profiles(directory: str | Path) -> dict[str, Profile]:
    """Every *.toml profile in a directory, keyed by profile key."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ProfileError(str(directory), "-", "目录不存在")
    profiles = {}
    for path in sorted(directory.glob("*.toml")):
        profile = load_profile(path)
        if profile.key in profiles:
            raise ProfileError(str(path), "key", f"档案键 {profile.key!r} 重复")
        profiles[profile.key] = profile
    return profiles


@lru_cache(maxsize=1)
def practice_defaults() -> Mapping[str, Rule]:
    """The platform's practice defaults, shared by every profile unless overridden."""
    where = str(PRACTICE_DEFAULTS_PATH)
    data = _read_toml(PRACTICE_DEFAULTS_PATH)
    return {
        rule_id: _parse_rule(rule_id, raw, BUILTIN_KEY, "practice", f"{where}: defaults.{rule_id}")
        for rule_id, raw in data.get("defaults", {}).items()
    }


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as e:
        raise ProfileError(str(path), "-", "文件不存在") from e
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(str(path), "-", f"TOML 语法错误：{e}") from e


def _check_top(data: Mapping[str, Any], where: str) -> None:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(where, sorted(unknown)[0], "未知的顶层键")
    for name in ("key", "name"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ProfileError(where, name, "必填字符串")
    stem = Path(where).stem
    if data["key"] != stem:
        raise ProfileError(where, "key", f"须与文件名一致（{stem!r}）")
    for name in ("rules", "defaults"):
        if not isinstance(data.get(name, {}), dict):
            raise ProfileError(where, name, "须为表")


def _parent_rules(data: Mapping[str, Any], path: Path, chain: tuple[str, ...]) -> dict[str, Rule]:
    parent_key = data.get("extends")
    if parent_key is None:
        return dict(practice_defaults())
    if not isinstance(parent_key, str):
        raise ProfileError(str(path), "extends", "须为档案键字符串")
    parent_path = path.with_name(f"{parent_key}.toml")
    if not parent_path.exists():
        raise ProfileError(str(path), "extends", f"找不到被继承的档案 {parent_path.name}")
    return dict(load_profile(parent_path, chain).rules)


def _override_default(
    rules: Mapping[str, Rule], rule_id: str, raw: Any, key: str, where: str
) -> Rule:
    at = f"defaults.{rule_id}"
    base = rules.get(rule_id)
    if base is None or base.kind != "practice":
        raise ProfileError(where, at, "不是已知的实践默认值")
    if not isinstance(raw, dict):
        raise ProfileError(where, at, "须为表")
    unknown = set(raw) - _OVERRIDE_KEYS
    if unknown:
        raise ProfileError(where, f"{at}.{sorted(unknown)[0]}", "此键不可在 [defaults] 中覆盖")
    merged = {**_rule_as_raw(base), **raw}
    return replace(_parse_rule(rule_id, merged, key, "practice", f"{where}: {at}"), profile_key=key)


def _rule_as_raw(rule: Rule) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "label": rule.label,
        "check": rule.check,
        "unit": rule.unit,
        "citation": rule.citation.to_dict(),
        "note": rule.note,
        "modes": list(rule.modes),
        "owner_kinds": list(rule.owner_kinds),
        "when": list(rule.when),
        "by_maturity": dict(rule.by_maturity),
        "by_mode": dict(rule.by_mode),
        "by_field": dict(rule.by_field),
    }
    if rule.field is not None:
        raw["field"] = rule.field
    if rule.value is not None:
        raw["value"] = rule.value
    if rule.bounds is not None:
        raw["bounds"] = {
            k: v for k, v in zip(("min", "max"), rule.bounds, strict=True) if v is not None
        }
    return raw


def _parse_rule(rule_id: str, raw: Any, key: str, kind: str, where: str) -> Rule:
    """Validate one rule table; `where` is "<file>: <table path>" for error messages."""
    path, _, at = where.partition(": ")
    if not isinstance(raw, dict):
        raise ProfileError(path, at, "须为表")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ProfileError(path, f"{at}.{sorted(unknown)[0]}", "未知的键")
    check = _choice(raw, "check", CHECKS, path, at)
    unit = _choice(raw, "unit", UNITS, path, at)
    if not isinstance(raw.get("label"), str) or not raw["label"]:
        raise ProfileError(path, f"{at}.label", "必填字符串")
    rule_field = _rule_field(raw, check, unit, path, at)
    value = raw.get("value")
    if value is None and check not in ("info", "scope", "bounds", "bounds_of_price"):
        raise ProfileError(path, f"{at}.value", "必填")
    if value is not None:
        _check_value(value, check, unit, rule_field, path, f"{at}.value")
    tables = {
        name: _value_table(raw, name, allowed, check, unit, rule_field, path, at)
        for name, allowed in (
            ("by_maturity", tuple(MATURITY)),
            ("by_mode", tuple(COOPERATION_MODES)),
            ("by_field", None),
        )
    }
    return Rule(
        id=rule_id,
        profile_key=key,
        kind=kind,
        check=check,
        label=raw["label"],
        unit=unit,
        citation=_citation(raw.get("citation"), path, f"{at}.citation"),
        field=rule_field,
        value=value,
        bounds=_bounds(raw, check, path, at),
        modes=_code_list(raw, "modes", tuple(COOPERATION_MODES), path, at),
        owner_kinds=_code_list(raw, "owner_kinds", tuple(ORG_KINDS), path, at),
        when=_code_list(raw, "when", CONDITIONS, path, at),
        note=str(raw.get("note", "")),
        **tables,
    )


def _choice(raw: Mapping[str, Any], name: str, allowed: tuple[str, ...], path: str, at: str) -> str:
    value = raw.get(name)
    if value not in allowed:
        raise ProfileError(path, f"{at}.{name}", f"取值 {value!r} 无效，应为 {', '.join(allowed)}")
    return value


def _rule_field(raw: Mapping[str, Any], check: str, unit: str, path: str, at: str) -> str | None:
    name = raw.get("field")
    if name is None:
        if check in FIELD_CHECKS:
            raise ProfileError(path, f"{at}.field", f"检查类型 {check} 必须指明条款字段")
        return None
    known = FIELD_UNITS | DERIVED_UNITS
    if name not in known:
        raise ProfileError(path, f"{at}.field", f"未知条款字段 {name!r}")
    expected = "bps_of_price" if check == "bounds_of_price" else known[name]
    if check == "bounds_of_price" and known[name] != "fen":
        raise ProfileError(path, f"{at}.field", "bounds_of_price 只能约束金额字段")
    if check in FIELD_CHECKS and unit != expected:
        raise ProfileError(path, f"{at}.unit", f"字段 {name} 的单位应为 {expected}")
    return name


def _check_value(
    value: Any, check: str, unit: str, rule_field: str | None, path: str, at: str
) -> None:
    if check == "one_of":
        allowed = ENUM_VALUES.get(rule_field or "", ())
        if not isinstance(value, list) or not value or any(v not in allowed for v in value):
            raise ProfileError(path, at, f"须为非空列表，取值限于 {', '.join(allowed)}")
        return
    if unit == "plan":
        _check_plan(value, path, at)
        return
    if unit in INT_UNITS and (not isinstance(value, int) or isinstance(value, bool)):
        raise ProfileError(path, at, f"单位 {unit} 须为整数")
    if unit == "bool" and not isinstance(value, bool):
        raise ProfileError(path, at, "须为 true/false")
    if unit in ("enum", "text") and not isinstance(value, str):
        raise ProfileError(path, at, "须为字符串")
    if unit == "enum" and rule_field in ENUM_VALUES and value not in ENUM_VALUES[rule_field]:
        raise ProfileError(path, at, f"取值限于 {', '.join(ENUM_VALUES[rule_field])}")


def _check_plan(value: Any, path: str, at: str) -> None:
    if not isinstance(value, list):
        raise ProfileError(path, at, "里程碑计划须为表的列表")
    for i, step in enumerate(value):
        if not isinstance(step, dict) or step.get("event") not in MILESTONE_EVENTS:
            raise ProfileError(path, f"{at}[{i}].event", f"事件限于 {', '.join(MILESTONE_EVENTS)}")
        bps = step.get("bps")
        if not isinstance(bps, int) or isinstance(bps, bool) or bps < 0:
            raise ProfileError(path, f"{at}[{i}].bps", "须为非负整数（基点）")


def _value_table(
    raw: Mapping[str, Any],
    name: str,
    allowed: tuple[str, ...] | None,
    check: str,
    unit: str,
    rule_field: str | None,
    path: str,
    at: str,
) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ProfileError(path, f"{at}.{name}", "须为表")
    for code, value in table.items():
        if allowed is not None and code not in allowed:
            raise ProfileError(path, f"{at}.{name}.{code}", f"未知代码，应为 {', '.join(allowed)}")
        _check_value(value, check, unit, rule_field, path, f"{at}.{name}.{code}")
    return dict(table)


def _bounds(
    raw: Mapping[str, Any], check: str, path: str, at: str
) -> tuple[int | None, int | None] | None:
    table = raw.get("bounds")
    if table is None:
        if check in ("bounds", "bounds_of_price"):
            raise ProfileError(path, f"{at}.bounds", "此检查类型必须给出 bounds = { min, max }")
        return None
    if not isinstance(table, dict) or not set(table) <= {"min", "max"} or not table:
        raise ProfileError(path, f"{at}.bounds", "须为 { min = …, max = … }")
    for name, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProfileError(path, f"{at}.bounds.{name}", "须为整数")
    low, high = table.get("min"), table.get("max")
    if low is not None and high is not None and low > high:
        raise ProfileError(path, f"{at}.bounds", f"下限 {low} 大于上限 {high}")
    return low, high


def _code_list(
    raw: Mapping[str, Any], name: str, allowed: tuple[str, ...], path: str, at: str
) -> tuple[str, ...]:
    codes = raw.get(name, [])
    if not isinstance(codes, list) or any(c not in allowed for c in codes):
        raise ProfileError(path, f"{at}.{name}", f"须为列表，取值限于 {', '.join(allowed)}")
    return tuple(codes)


def _citation(raw: Any, path: str, at: str) -> Citation:
    if not isinstance(raw, dict):
        raise ProfileError(path, at, "必须给出 citation = { document, article }")
    for name in ("document", "article"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise ProfileError(path, f"{at}.{name}", "必填字符串")
    return Citation(raw["document"], raw["article"], str(raw.get("excerpt", "")))
