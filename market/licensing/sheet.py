"""The term sheet: every number is a Term that remembers which rule, default or edit produced it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from market.licensing.dates import whole_months_between

TermValue = int | bool | str | date | None

# Unit of every scalar term; the unit decides parsing, JSON form and display.
FIELD_UNITS: dict[str, str] = {
    "base_price": "fen",
    "fee_form": "enum",
    "entry_fee": "fen",
    "free_window_months": "months",
    "free_window_max_months": "months",
    "free_window_until_first_revenue": "bool",
    "royalty_base": "enum",
    "royalty_rate": "bps",
    "annual_minimum": "fen",
    "annual_cap": "fen",
    "conversion_price": "fen",
    "conversion_opens_on": "date",
    "conversion_closes_on": "date",
    "conversion_credit_paid_fees": "bool",
    "exclusivity": "enum",
    "territory": "text",
    "start_on": "date",
    "end_on": "date",
    "risk_instrument": "enum",
    "risk_coverage": "fen",
    "risk_provider": "text",
    "exit_free_in_window": "bool",
    "termination_notice_days": "days",
    "cure_days": "days",
    "team_income_share": "bps",
    "broker_reward_share": "bps",
    "notice_required": "bool",
    "notice_days": "days",
    "pricing_method": "enum",
    "equity_value": "fen",
    "equity_share_bps": "bps",
}
DERIVED_UNITS: dict[str, str] = {
    "milestone_total": "fen",
    "deferred_total": "fen",
    "fixed_fee_total": "fen",
    "contract_amount": "fen",
    "term_months": "months",
    "conversion_window_months": "months",
    "instalment_count": "count",
    "licensee_is_sme": "bool",
}
# Terms that may be absent (None): no cap, no 后转 option.
NULLABLE_FIELDS = frozenset(
    {
        "annual_cap",
        "conversion_price",
        "conversion_opens_on",
        "conversion_closes_on",
        "equity_value",
        "equity_share_bps",
    }
)
# base_price comes from the outcome's facts; editing it would move every price-relative bound.
READ_ONLY_FIELDS = frozenset({"base_price"})
LIST_FIELDS = frozenset({"milestones", "deferred_schedule"})
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "fee_form": ("milestone_royalty", "deferred", "royalty", "lump_sum", "equity"),
    "royalty_base": ("net_sales", "profit", "none"),
    "exclusivity": ("ordinary", "sole", "exclusive"),
    "risk_instrument": ("guarantee", "insurance", "none"),
    "pricing_method": ("negotiated", "listed", "auction"),
}
# In the order they can happen: a plan lists them in this order.
MILESTONE_EVENTS = ("pilot_done", "first_unit", "first_revenue", "revenue_at_least")
# Events that happen before the licensee's first sale, i.e. inside a free window that runs
# "until first revenue".
PRE_REVENUE_EVENTS = ("pilot_done", "first_unit")
# Terms added after sheets were first stored: older sheets read back with these values.
LEGACY_TERMS: dict[str, tuple[TermValue, str]] = {
    "pricing_method": ("negotiated", "core:legacy_sheet"),
    "equity_value": (None, "core:legacy_sheet"),
    "equity_share_bps": (None, "core:legacy_sheet"),
}


def value_to_json(value: TermValue) -> int | bool | str | None:
    return value.isoformat() if isinstance(value, date) else value


def value_from_json(value: Any, unit: str) -> TermValue:
    if unit == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


@dataclass(frozen=True)
class Term:
    """One negotiated quantity. `source` is "rule:<profile>/<id>", "default:<profile>/<id>",
    "fact:<name>", "core:<id>" or "edit:<user>"; `citation` is the text the UI shows."""

    value: TermValue
    unit: str
    source: str
    citation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": value_to_json(self.value),
            "unit": self.unit,
            "source": self.source,
            "citation": self.citation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Term:
        unit = data["unit"]
        return cls(
            value_from_json(data["value"], unit), unit, data["source"], data.get("citation", "")
        )


@dataclass(frozen=True)
class Milestone:
    """A fee due when `event` happens (中试完成 / 首台套 / 首笔销售收入 / 累计收入 ≥ threshold)."""

    event: str
    amount: Term
    threshold: Term | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "amount": self.amount.to_dict(),
            "threshold": self.threshold.to_dict() if self.threshold else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Milestone:
        threshold = data.get("threshold")
        return cls(
            data["event"],
            Term.from_dict(data["amount"]),
            Term.from_dict(threshold) if threshold else None,
        )


@dataclass(frozen=True)
class Instalment:
    """One 延期支付 instalment."""

    due_on: Term
    amount: Term

    def to_dict(self) -> dict[str, Any]:
        return {"due_on": self.due_on.to_dict(), "amount": self.amount.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instalment:
        return cls(Term.from_dict(data["due_on"]), Term.from_dict(data["amount"]))


@dataclass(frozen=True)
class Change:
    """One field changed by one edit; old/new are JSON-safe."""

    version: int
    field: str
    old: Any
    new: Any
    editor: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "editor": self.editor,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            data["version"],
            data["field"],
            data["old"],
            data["new"],
            data["editor"],
            datetime.fromisoformat(data["at"]),
        )


@dataclass(frozen=True)
class TermSheet:
    """A versioned 先用后转 / licence / transfer term sheet. Persist `to_dict()` as JSON."""

    profile_key: str
    mode: str
    drafted_on: date
    terms: Mapping[str, Term]
    milestones: tuple[Milestone, ...] = ()
    deferred_schedule: tuple[Instalment, ...] = ()
    licensee_is_sme: bool = True
    licensee_region: str = ""
    outcome_ref: str | None = None
    version: int = 1
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    history: tuple[Change, ...] = ()

    def term(self, name: str) -> Term:
        return self.terms[name]

    def value(self, name: str) -> Any:
        """A scalar term's value or a derived quantity (milestone_total, term_months …)."""
        if name in DERIVED_UNITS:
            return _DERIVED[name](self)
        return self.terms[name].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "profile_key": self.profile_key,
            "mode": self.mode,
            "drafted_on": self.drafted_on.isoformat(),
            "outcome_ref": self.outcome_ref,
            "licensee": {"is_sme": self.licensee_is_sme, "region": self.licensee_region},
            "terms": {name: term.to_dict() for name, term in self.terms.items()},
            "milestones": [m.to_dict() for m in self.milestones],
            "deferred_schedule": [i.to_dict() for i in self.deferred_schedule],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "history": [c.to_dict() for c in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TermSheet:
        licensee = data.get("licensee", {})
        return cls(
            profile_key=data["profile_key"],
            mode=data["mode"],
            drafted_on=date.fromisoformat(data["drafted_on"]),
            terms=_with_legacy_terms({k: Term.from_dict(v) for k, v in data["terms"].items()}),
            milestones=tuple(Milestone.from_dict(m) for m in data.get("milestones", [])),
            deferred_schedule=tuple(
                Instalment.from_dict(i) for i in data.get("deferred_schedule", [])
            ),
            licensee_is_sme=licensee.get("is_sme", True),
            licensee_region=licensee.get("region", ""),
            outcome_ref=data.get("outcome_ref"),
            version=data.get("version", 1),
            notes=tuple(data.get("notes", [])),
            warnings=tuple(data.get("warnings", [])),
            history=tuple(Change.from_dict(c) for c in data.get("history", [])),
        )


def _with_legacy_terms(terms: dict[str, Term]) -> dict[str, Term]:
    for name, (value, source) in LEGACY_TERMS.items():
        terms.setdefault(name, Term(value, FIELD_UNITS[name], source))
    return terms


def _milestone_total(sheet: TermSheet) -> int:
    return sum(int(m.amount.value or 0) for m in sheet.milestones)


def _deferred_total(sheet: TermSheet) -> int:
    return sum(int(i.amount.value or 0) for i in sheet.deferred_schedule)


def _fixed_fee_total(sheet: TermSheet) -> int:
    entry = int(sheet.terms["entry_fee"].value or 0)
    return entry + _milestone_total(sheet) + _deferred_total(sheet)


def _contract_amount(sheet: TermSheet) -> int:
    """合同成交额: every fixed sum the contract names (entry fee, milestones, instalments, the 后转
    price, the 作价 of an equity contribution); royalties are stated separately. Also the price a
    公示 publishes."""
    conversion = sheet.terms["conversion_price"].value
    equity = sheet.terms["equity_value"].value
    return _fixed_fee_total(sheet) + int(conversion or 0) + int(equity or 0)


def _term_months(sheet: TermSheet) -> int:
    return whole_months_between(sheet.terms["start_on"].value, sheet.terms["end_on"].value)


def _conversion_window_months(sheet: TermSheet) -> int | None:
    opens, closes = (
        sheet.terms["conversion_opens_on"].value,
        sheet.terms["conversion_closes_on"].value,
    )
    if opens is None or closes is None:
        return None
    return whole_months_between(opens, closes)


_DERIVED = {
    "milestone_total": _milestone_total,
    "deferred_total": _deferred_total,
    "fixed_fee_total": _fixed_fee_total,
    "contract_amount": _contract_amount,
    "term_months": _term_months,
    "conversion_window_months": _conversion_window_months,
    "instalment_count": lambda sheet: len(sheet.deferred_schedule),
    "licensee_is_sme": lambda sheet: sheet.licensee_is_sme,
}
