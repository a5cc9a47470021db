"""The term sheet as people read it on the site, in the reader's language: every value in its unit
and with its label (元 amounts, 个月, %, option labels, dates) in the sheet's sections, the
proposal page's preview and the change log; and the simulator's payments named the same way.

The PDF/DOCX exports are the Chinese contract text and keep using market.licensing.exports. The
policy citations a term rests on are quoted as written (Chinese), marked lang="zh-CN"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup

from market.i18n import verbatim, zh
from market.licensing import ENUM_LABELS, FIELD_LABELS, UNIT_LABELS
from market.licensing.exports import SECTIONS, hidden_fields
from market.licensing.formatting import percent, yuan_number
from market.licensing.labels import SOURCE_KIND_LABELS
from market.licensing.sheet import FIELD_UNITS, Term, TermSheet
from market.licensing.simulator import Payment

SUMMARY_FIELDS = (
    "fee_form",
    "entry_fee",
    "free_window_months",
    "royalty_rate",
    "conversion_price",
    "risk_instrument",
    "notice_days",
)


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
    if unit in ("bps", "bps_of_price") and isinstance(value, int):
        return percent(value)
    if unit == "months":
        return _("%(n)s个月", n=value)
    if unit == "days":
        return _("%(n)s日", n=value)
    if unit == "years":
        return _("%(n)s年", n=value)
    if unit == "count":
        return _("%(n)s期", n=value)
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


def term_text(name: str, term: Term) -> str | Markup:
    """A term's value on the sheet page."""
    if term.value == "":
        return _("（待定）")
    if term.unit == "text":  # contract wording (e.g. the territory), shown as written
        return verbatim(term.value)
    return value_text(name, term.value)


def source_text(term: Term) -> Markup:
    """Who set a term: the kind of source in the reader's language, then the citation as written."""
    kind, _sep, rest = term.source.partition(":")
    if kind == "edit":
        return Markup(_("人工修改（%(editor)s）", editor=Markup.escape(rest)))
    if kind == "core" and term.citation.startswith("《"):
        what = _("法律规定")
    else:
        what = _(SOURCE_KIND_LABELS[kind]) if kind in SOURCE_KIND_LABELS else term.source
    if not term.citation:
        return Markup.escape(what)
    return Markup("{}{}{}").format(what, _("："), zh(term.citation))


def unit_text(unit: str) -> str:
    label = UNIT_LABELS.get(unit)
    return _(label) if label else unit


def sheet_sections(sheet: TermSheet) -> list[tuple[str, list[tuple[str, str, Markup]]]]:
    """[(heading, [(label, value, basis), …]), …] in contract order, as on the exports."""
    sections = []
    hidden = hidden_fields(sheet)
    for number, (heading, names) in enumerate(SECTIONS):
        rows = [
            (field_label(n), term_text(n, sheet.term(n)), source_text(sheet.term(n)))
            for n in names
            if n not in hidden
        ]
        if not rows:
            continue
        if number == 0:
            rows.extend(_payment_rows(sheet))
        sections.append((_(heading), rows))
    return sections


def _payment_rows(sheet: TermSheet) -> list[tuple[str, str, Markup]]:
    rows = []
    for m in sheet.milestones:
        label = ENUM_LABELS["milestone_event"][m.event]
        event = _(label)
        if m.threshold is not None:
            event = _("%(event)s（%(threshold)s）", event=event, threshold=money(m.threshold.value))
        what = _("里程碑：%(event)s", event=event)
        rows.append((what, money(m.amount.value), source_text(m.amount)))
    for i, inst in enumerate(sheet.deferred_schedule, start=1):
        what = _("延期支付第%(n)s期（%(day)s）", n=i, day=day(inst.due_on.value))
        rows.append((what, money(inst.amount.value), source_text(inst.amount)))
    return rows


def summary_rows(sheet: TermSheet) -> list[tuple[str, str, Markup]]:
    """(label, value, basis) of the key terms the proposal page previews."""
    return [
        (field_label(n), term_text(n, sheet.term(n)), source_text(sheet.term(n)))
        for n in SUMMARY_FIELDS
        if n in sheet.terms
    ]


# -- what a broken rule says -------------------------------------------------------------------


def violation_text(violation, mark: bool = True) -> str:
    """A rule a term sheet breaks, in the reader's language, with its basis: the engine's
    template filled with labels and values shown as the sheet shows them. A profile rule's name
    and the citation are the policy profile's own Chinese, quoted (marked lang="zh-CN" when
    ``mark``); a message the engine wrote without a template is quoted the same way."""
    quote = zh if mark else str
    if violation.template:
        params = {
            name: _param(name, value, quote) for name, value in (violation.params or {}).items()
        }
        if mark:  # every value escaped before it meets the (trusted) template
            params = {k: Markup.escape(v) if isinstance(v, str) else v for k, v in params.items()}
        said = _(violation.template, **params)
    else:
        said = quote(violation.message)
    basis = _(
        "（依据：%(citation)s；规则 %(rule)s）",
        citation=quote(violation.citation),
        rule=violation.rule_id,
    )
    return Markup(said) + Markup(basis) if mark else f"{said}{basis}"


def _param(name: str, value: Any, quote) -> Any:
    if name == "field":
        return field_label(value)
    if name == "rule":
        return quote(value)
    if name == "bounds":
        return _bounds(value)
    if name.endswith("_values"):
        return _(", ").join(_unit_value(v) for v in value)
    if name.endswith("_value"):
        return _unit_value(value)
    return value


# A term of each unit, so a value given with its unit is shown exactly as the sheet shows it.
_FIELD_OF_UNIT = {unit: field for field, unit in reversed(FIELD_UNITS.items())}


def _unit_value(item: dict[str, Any]) -> str:
    value, unit, enum = item.get("value"), item.get("unit"), item.get("enum")
    field = enum if unit == "enum" and enum else _FIELD_OF_UNIT.get(unit)
    if field is not None:
        return value_text(field, value)
    if unit == "bps_of_price" and isinstance(value, int):
        return percent(value)
    return _("无") if value is None else str(value)


def _bounds(bounds: dict[str, Any]) -> str:
    unit = bounds.get("unit")
    low, high = bounds.get("low"), bounds.get("high")
    shown = {k: _unit_value({"value": v, "unit": unit}) for k, v in (("low", low), ("high", high))}
    if low is not None and high is not None:
        if low == high:
            return _("须为%(value)s", value=shown["low"])
        return _("%(low)s至%(high)s", **shown)
    if low is not None:
        return _("不低于%(low)s", low=shown["low"])
    return _("不高于%(high)s", high=shown["high"])
