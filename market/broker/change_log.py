"""The term-sheet change log as people read it: every value in the unit and with the label the
sheet shows (元 amounts, 个月, %, option labels, dates), in the reader's language; and the
simulator's payments named the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _

from market.licensing import ENUM_LABELS, FIELD_LABELS
from market.licensing.formatting import percent, yuan_number
from market.licensing.sheet import FIELD_UNITS
from market.licensing.simulator import Payment


@dataclass(frozen=True)
class ChangeRow:
    version: int
    label: str
    old: list[str]
    new: list[str]
    editor: str
    at: datetime | str


def change_rows(changes: list[dict[str, Any]]) -> list[ChangeRow]:
    """The stored history entries (``services.terms.changes_list``) ready for the page."""
    return [
        ChangeRow(
            version=c["version"],
            label=field_label(c["field"]),
            old=value_lines(c["field"], c["old"]),
            new=value_lines(c["field"], c["new"]),
            editor=c["editor"],
            at=c["at"],
        )
        for c in changes
    ]


def field_label(field: str) -> str:
    label = FIELD_LABELS.get(field)
    return _(label) if label else field


def value_lines(field: str, value: Any) -> list[str]:
    """One line per value; a milestone plan or 延期支付 schedule gives one line per row."""
    if field == "milestones" and isinstance(value, list):
        return [_milestone(m) for m in value] or [_("无")]
    if field == "deferred_schedule" and isinstance(value, list):
        return [_instalment(i) for i in value] or [_("无")]
    return [value_text(field, value)]


def value_text(field: str, value: Any) -> str:
    """A scalar term's stored (JSON) value as the sheet shows it."""
    if value is None:
        return _("无")
    unit = FIELD_UNITS.get(field, "text")
    if unit == "fen" and isinstance(value, int):
        return money(value)
    if unit == "bps" and isinstance(value, int):
        return percent(value)
    if unit == "months":
        return _("%(n)s个月", n=value)
    if unit == "days":
        return _("%(n)s日", n=value)
    if unit == "bool":
        return _("是") if value else _("否")
    if unit == "date":
        return day(value)
    if unit == "enum":
        label = ENUM_LABELS.get(field, {}).get(value)
        return _(label) if label else str(value)
    return str(value) if value != "" else _("（待定）")


def money(fen: int) -> str:
    return _("%(amount)s元", amount=yuan_number(fen))


def day(value: date | str) -> str:
    try:
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return format_date(parsed, "long")


def _milestone(item: dict[str, Any]) -> str:
    event = item.get("event", "")
    label = ENUM_LABELS["milestone_event"].get(event)
    name = _(label) if label else event
    amount = money(item["amount"]["value"])
    threshold = item.get("threshold")
    if threshold:
        return _(
            "%(event)s（%(threshold)s） %(amount)s",
            event=name,
            threshold=money(threshold["value"]),
            amount=amount,
        )
    return _("%(event)s %(amount)s", event=name, amount=amount)


def _instalment(item: dict[str, Any]) -> str:
    return _(
        "%(day)s %(amount)s",
        day=day(item["due_on"]["value"]),
        amount=money(item["amount"]["value"]),
    )


def payment_text(payment: Payment) -> str:
    """One of the sheet's fixed payments as the simulator lists it: what it is and how much."""
    if payment.kind == "milestone":
        label = ENUM_LABELS["milestone_event"].get(payment.ref)
        what = _("里程碑：%(event)s", event=_(label) if label else payment.ref)
    elif payment.kind == "instalment":
        what = _("延期支付（%(day)s 到期）", day=day(payment.ref))
    else:
        what = _(FIELD_LABELS["entry_fee"])
    return _("%(what)s：%(amount)s", what=what, amount=money(payment.amount))
