"""The term-sheet page: every term with value, unit and source; edit, history, simulator, exports."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from market.licensing import ENUM_LABELS, FIELD_LABELS
from models import Conflict, TermSheet, ValidationError, db

from ..i18n import error_text
from ..policy import can, require
from ..services import terms
from ..ui.change_log import (
    change_rows,
    field_label,
    payment_text,
    sheet_sections,
    source_text,
    term_text,
    unit_text,
    violation_text,
)
from .common import signed_in
from .forms import (
    SimulateForm,
    current_rows,
    editable_fields,
    engine_value,
    fen,
    form_value,
    list_rows,
    row_form_data,
    terms_form_class,
)

log = logging.getLogger(__name__)

bp = Blueprint("terms", __name__, url_prefix="/terms")
bp.before_request(signed_in)

WAN = Decimal(10000)


@bp.route("/<int:sheet_id>")
def view(sheet_id: int):
    row = db.get_or_404(TermSheet, sheet_id)
    require(current_user, "termsheet.view", row)
    return _render(row, _filled_form(row))


@bp.route("/<int:sheet_id>", methods=["POST"])
def edit(sheet_id: int):
    row = db.get_or_404(TermSheet, sheet_id)
    require(current_user, "termsheet.edit", row)
    form = terms_form_class()()
    if not form.validate():
        # The fields that could be read still go through the policy rules, so one save shows
        # every problem at once, not the form's and then, on the next save, the rules'.
        _attach_violations(form, terms.check_edit(row, _changes(form, row), current_user))
        return _render(row, form, 422)
    try:
        terms.edit_terms(row, _changes(form, row), current_user, form.expected_version())
        db.session.commit()
    except Conflict as e:
        db.session.rollback()
        form.form_errors.append(error_text(e))
        return _render(db.get_or_404(TermSheet, sheet_id), form, 409)
    except terms.TermsRefused as e:
        db.session.rollback()
        _attach_violations(form, e.violations)
        return _render(db.get_or_404(TermSheet, sheet_id), form, 422)
    except ValidationError as e:
        db.session.rollback()
        form.form_errors.append(error_text(e))
        return _render(db.get_or_404(TermSheet, sheet_id), form, 422)
    flash(_("条款已保存为新版本"), "success")
    return redirect(url_for("terms.view", sheet_id=sheet_id))


LIST_FIELDS = ("milestones", "deferred_schedule")
ROW_NUMBER = re.compile(r"第(\d+)(?:个|期)")


def _changes(form, row: TermSheet) -> dict:
    """{term: engine value} for the terms the form changed; fields the form refused are left out."""
    current = {name: term["value"] for name, term in row.data["terms"].items()}
    changes = {
        name: value
        for name in _field_names(form)
        if not form[name].errors
        and (value := engine_value(name, form[name].data)) != current.get(name)
    }
    if "rows_sent" in request.form:
        for name in LIST_FIELDS:
            if any(_row_has_errors(entry.form) for entry in form[name]):
                continue
            rows = list_rows(form, name)
            if rows != current_rows(row.data, name):
                changes[name] = rows
    return changes


def _row_has_errors(row_form) -> bool:
    return any(field.errors for field in row_form)


def error_summary(form) -> list[tuple[str, str, str]]:
    """Every problem of one save as (what it concerns, message, id to jump to), in form order."""
    found = [("", message, "edit-h") for message in form.form_errors]
    for name in _field_names(form):
        found.extend((form[name].label.text, e, form[name].id) for e in form[name].errors)
    for name in LIST_FIELDS:
        if name not in form:
            continue
        table = _(FIELD_LABELS[name])
        found.extend((table, e, f"{name}-rows") for e in form.list_errors.get(name, []))
        for number, entry in enumerate(form[name], start=1):
            where = _("%(table)s第%(n)s行", table=table, n=number)
            for sub in entry.form:
                found.extend((f"{where} {sub.label.text}", e, sub.id) for e in sub.errors)
            found.extend((where, e, entry.id) for e in entry.form.row_errors)
    return found


def _field_names(form) -> list[str]:
    """The scalar terms on the form (the row tables are read separately)."""
    return [name for name in editable_fields() if name in form]


def _filled_form(row: TermSheet):
    values = {n: form_value(n, t["value"]) for n, t in row.data["terms"].items()}
    form_cls = terms_form_class()
    form = form_cls(
        formdata=None,
        version=row.version_id,
        **{name: row_form_data(row.data, name) for name in LIST_FIELDS},
    )
    for name in _field_names(form):
        form[name].data = values.get(name)
    return form


def _attach_violations(form, violations) -> None:
    for v in violations:
        message = violation_text(v)  # in the reader's language, the policy quoted as written
        if v.field in LIST_FIELDS:
            _attach_to_rows(form, v.field, message, v.message)
        elif v.field in form and v.field not in ("csrf_token", "version"):
            form[v.field].errors = [*form[v.field].errors, message]
        else:
            label = _(FIELD_LABELS.get(v.field, v.field))
            shown = _("%(what)s：%(message)s", what=Markup.escape(label), message=message)
            form.form_errors.append(Markup(shown))


def _attach_to_rows(form, name: str, message: str, chinese: str) -> None:
    """Put a rule broken by one row next to that row (found in the engine's Chinese text); a
    rule about the whole table above it."""
    entries = [e for e in form[name] if not e.form.is_blank()]
    found = ROW_NUMBER.search(chinese)
    if found and 0 < int(found.group(1)) <= len(entries):
        offending = [entries[int(found.group(1)) - 1]]
    elif name == "deferred_schedule":
        offending = [e for e in entries if _outside_term(form, e.form)]
    else:
        offending = []
    for entry in offending:
        entry.form.row_errors.append(message)
    if not offending:
        form.list_errors.setdefault(name, []).append(message)


def _outside_term(form, row) -> bool:
    start, end = form["start_on"].data, form["end_on"].data
    due, amount = row.due_on.data, row.amount.data
    outside = start is not None and end is not None and due is not None and not start <= due <= end
    return outside or (amount is not None and amount <= 0)


def _render(row: TermSheet, form, status: int = 200):
    sheet = terms.sheet_of(row)
    sim_form = SimulateForm(request.args)
    simulation, chart = None, None
    if "base" in request.args and sim_form.validate():
        simulation, chart = _simulate(row, sim_form)
    return (
        render_template(
            "broker/terms.html",
            row=row,
            sheet=sheet,
            sections=sheet_sections(sheet),
            terms=[
                (n, field_label(n), term_text(n, t), unit_text(t.unit), source_text(t), t.source)
                for n, t in sheet.terms.items()
            ],
            history=change_rows(terms.changes_list(row)),
            error_summary=error_summary(form) if request.method == "POST" else [],
            versions=list(reversed(row.history or [])),
            form=form,
            may_edit=can(current_user, "termsheet.edit", row),
            sim_form=sim_form,
            simulation=simulation,
            chart=chart,
            scenario_labels=ENUM_LABELS["scenario"],
            payment_text=payment_text,
            exports=terms.EXPORTS,
        ),
        status,
    )


def _simulate(row: TermSheet, form: SimulateForm):
    given = terms.SimulationInput(
        low_fen=fen(form.low.data * WAN),
        base_fen=fen(form.base.data * WAN),
        high_fen=fen(form.high.data * WAN),
        discount_pct=form.discount.data,
    )
    try:
        return terms.simulate(row, given)
    except ValidationError as e:
        form.discount.errors = [*form.discount.errors, error_text(e)]
        return None, None


@bp.route("/<int:sheet_id>/export/<kind>")
def export(sheet_id: int, kind: str):
    row = db.get_or_404(TermSheet, sheet_id)
    require(current_user, "termsheet.export", row)
    if kind not in terms.EXPORTS:
        return redirect(url_for("terms.view", sheet_id=sheet_id))
    body = terms.export(row, kind)
    response = Response(body, content_type=terms.EXPORTS[kind][0])
    response.headers["Content-Disposition"] = content_disposition(terms.export_filename(row, kind))
    return response


def content_disposition(filename: str) -> str:
    """RFC 6266 / 5987: an ASCII fallback name plus the UTF-8 Chinese name."""
    extension = filename.rsplit(".", 1)[-1]
    return f"attachment; filename=\"termsheet.{extension}\"; filename*=UTF-8''{quote(filename)}"
