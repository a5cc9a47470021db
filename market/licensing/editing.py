"""Edits by brokers and parties: parsed, re-validated against the profile, and versioned."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from market.licensing.errors import TermsViolation
from market.licensing.facts import OutcomeFacts
from market.licensing.profiles import Profile
from market.licensing.sheet import (
    ENUM_VALUES,
    FIELD_UNITS,
    LIST_FIELDS,
    MILESTONE_EVENTS,
    NULLABLE_FIELDS,
    READ_ONLY_FIELDS,
    Change,
    Instalment,
    Milestone,
    Term,
    TermSheet,
    TermValue,
    value_to_json,
)
from market.licensing.validation import (
    CORE_CITATION,
    NOTICE_DAYS_CITATION,
    Violation,
    notice_obligation,
    validate,
)

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = frozenset(FIELD_UNITS) - READ_ONLY_FIELDS | LIST_FIELDS


class _BadValue(ValueError):
    """One edited value cannot be read in its field's unit."""


def apply_edit(
    sheet: TermSheet,
    changes: Mapping[str, Any],
    profile: Profile,
    outcome: OutcomeFacts,
    editor: str,
    *,
    now: datetime | None = None,
) -> TermSheet:
    """A new version of `sheet` with `changes` ({field: value}) applied by `editor`.

    Raises TermsViolation naming every broken rule and every unreadable value at once (the
    values that could be read are still checked against the profile); returns `sheet` itself
    when nothing changes.
    """
    if not editor:
        raise TermsViolation([_edit_violation("editor", "修改人不能为空")])
    at = now or datetime.now(UTC)
    source = f"edit:{editor}"
    terms, milestones, schedule = dict(sheet.terms), sheet.milestones, sheet.deferred_schedule
    problems, history = [], []
    for field, raw in changes.items():
        try:
            old, new = _apply_one(field, raw, source, terms, milestones, schedule)
        except _BadValue as e:
            problems.append(_edit_violation(field, str(e)))
            continue
        if old == new:
            continue
        if field == "milestones":
            milestones = tuple(Milestone.from_dict(m) for m in new)
        elif field == "deferred_schedule":
            schedule = tuple(Instalment.from_dict(i) for i in new)
        history.append((field, _plain(old), _plain(new)))
    if not history:
        if problems:
            raise TermsViolation(problems)
        return sheet
    version = sheet.version + 1
    edited = replace(
        sheet,
        terms=terms,
        milestones=milestones,
        deferred_schedule=schedule,
        version=version,
        history=sheet.history
        + tuple(Change(version, f, old, new, editor, at) for f, old, new in history),
    )
    violations = validate(edited, profile, outcome) + _lowered_notice(sheet, edited, outcome)
    violations = problems + [v for v in violations if v not in problems]
    if violations:
        logger.info("edit by %s refused: %s", editor, [v.rule_id for v in violations])
        raise TermsViolation(violations)
    return edited


def _apply_one(
    field: str,
    raw: Any,
    source: str,
    terms: dict[str, Term],
    milestones: tuple[Milestone, ...],
    schedule: tuple[Instalment, ...],
) -> tuple[Any, Any]:
    """Parse one change and return (old, new) in JSON form; scalar terms are updated in place."""
    if field not in EDITABLE_FIELDS:
        raise _BadValue("该条款不可修改" if field in READ_ONLY_FIELDS else "未知条款")
    if field in LIST_FIELDS:
        old_items = [x.to_dict() for x in (milestones if field == "milestones" else schedule)]
        parse = _parse_milestones if field == "milestones" else _parse_schedule
        new_items = parse(raw, source)
        # Re-submitting the same amounts and dates is no change, whoever set them first.
        if _without_sources(new_items) == _without_sources(old_items):
            return old_items, old_items
        return old_items, new_items
    unit = FIELD_UNITS[field]
    value = _parse_value(raw, unit, nullable=field in NULLABLE_FIELDS)
    if unit == "enum" and value not in ENUM_VALUES[field]:
        # Refused here rather than by validate(), whose rule checks stop at a mistyped sheet.
        raise _BadValue(f"{value!r} 不是可选项（可选：{'、'.join(ENUM_VALUES[field])}）")
    old = terms[field]
    if value == old.value:
        return old.value, value
    terms[field] = Term(value, unit, source)
    return old.value, value


def _parse_value(raw: Any, unit: str, nullable: bool = False) -> TermValue:
    if raw is None or raw == "":
        if nullable:
            return None
        raise _BadValue("不能为空")
    if unit in ("fen", "bps", "months", "days"):
        return _parse_int(raw)
    if unit == "bool":
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        raise _BadValue(f"{raw!r} 不是是/否")
    if unit == "date":
        return _parse_date(raw)
    if not isinstance(raw, str):
        raise _BadValue(f"{raw!r} 不是文本")
    return raw


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _BadValue(f"{raw!r} 不是整数")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    raise _BadValue(f"{raw!r} 不是整数（金额以分计，比例以基点计）")


def _parse_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        raise _BadValue("须为日期而非时间")
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError as e:
        raise _BadValue(f"{raw!r} 不是 YYYY-MM-DD 日期") from e


def _parse_milestones(raw: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise _BadValue("里程碑须为列表")
    parsed = []
    for item in raw:
        if not isinstance(item, Mapping) or item.get("event") not in MILESTONE_EVENTS:
            raise _BadValue(f"里程碑事件限于 {', '.join(MILESTONE_EVENTS)}")
        amount = Term(_parse_int(item.get("amount")), "fen", source)
        threshold = item.get("threshold")
        limit = None if threshold is None else Term(_parse_int(threshold), "fen", source)
        parsed.append(Milestone(item["event"], amount, limit).to_dict())
    return parsed


def _parse_schedule(raw: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise _BadValue("延期支付计划须为列表")
    parsed = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise _BadValue("每期须含 due_on 与 amount")
        due = Term(_parse_date(item.get("due_on")), "date", source)
        amount = Term(_parse_int(item.get("amount")), "fen", source)
        parsed.append(Instalment(due, amount).to_dict())
    return parsed


def _without_sources(items: list[dict[str, Any]]) -> list[Any]:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("source", "citation")}
        return node

    return [strip(item) for item in items]


def _plain(value: Any) -> Any:
    """JSON-safe copy for the history (dates as ISO)."""
    return value_to_json(value) if isinstance(value, date) else value


def _lowered_notice(before: TermSheet, after: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    """A 公示 the law requires may be lengthened by an edit, never shortened."""
    old, new = before.value("notice_days"), after.value("notice_days")
    if new >= old or not notice_obligation(after, outcome):
        return []
    message = f"公示期只能延长，不能从{old}日缩短为{new}日"
    return [
        Violation(
            "core/notice_days_raise_only",
            "core:notice_days_raise_only",
            NOTICE_DAYS_CITATION,
            "notice_days",
            message,
        )
    ]


def _edit_violation(field: str, message: str) -> Violation:
    return Violation("core/field_types", "core:field_types", CORE_CITATION, field, message)
