"""The term-sheet page: every term with value, unit and source; edit, history, simulator, exports."""

from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from market.licensing import ENUM_LABELS, FIELD_LABELS, UNIT_LABELS
from market.licensing.exports import display, section_rows, source_label
from models import Conflict, TermSheet, ValidationError, db

from ..policy import can, require
from ..services import terms
from .common import signed_in
from .forms import SimulateForm, engine_value, fen, form_value, terms_form_class

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
        return _render(row, form, 422)
    current = {name: term["value"] for name, term in row.data["terms"].items()}
    changes = {
        name: value
        for name in _field_names(form)
        if (value := engine_value(name, form[name].data)) != current.get(name)
    }
    try:
        terms.edit_terms(row, changes, current_user, form.expected_version())
        db.session.commit()
    except Conflict as e:
        db.session.rollback()
        form.form_errors.append(e.message)
        return _render(db.get_or_404(TermSheet, sheet_id), form, 409)
    except terms.TermsRefused as e:
        db.session.rollback()
        _attach_violations(form, e)
        return _render(db.get_or_404(TermSheet, sheet_id), form, 422)
    except ValidationError as e:
        db.session.rollback()
        form.form_errors.append(e.message)
        return _render(db.get_or_404(TermSheet, sheet_id), form, 422)
    flash(_("条款已保存为新版本"), "success")
    return redirect(url_for("terms.view", sheet_id=sheet_id))


def _field_names(form) -> list[str]:
    return [f.name for f in form if f.name not in ("csrf_token", "version")]


def _filled_form(row: TermSheet):
    values = {n: form_value(n, t["value"]) for n, t in row.data["terms"].items()}
    form_cls = terms_form_class()
    form = form_cls(formdata=None, version=row.version_id)
    for name in _field_names(form):
        form[name].data = values.get(name)
    return form


def _attach_violations(form, error: terms.TermsRefused) -> None:
    for v in error.violations:
        message = f"{v.message}（依据：{v.citation}；规则 {v.rule_id}）"
        if v.field in form and v.field not in ("csrf_token", "version"):
            form[v.field].errors = [*form[v.field].errors, message]
        else:
            label = FIELD_LABELS.get(v.field, v.field)
            form.form_errors.append(f"{label}：{message}")


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
            sections=section_rows(sheet),
            terms=[
                (
                    n,
                    FIELD_LABELS.get(n, n),
                    display(n, t),
                    UNIT_LABELS.get(t.unit, t.unit),
                    source_label(t),
                    t.source,
                )
                for n, t in sheet.terms.items()
            ],
            history=terms.changes_list(row),
            versions=list(reversed(row.history or [])),
            form=form,
            may_edit=can(current_user, "termsheet.edit", row),
            sim_form=sim_form,
            simulation=simulation,
            chart=chart,
            scenario_labels=ENUM_LABELS["scenario"],
            exports=terms.EXPORTS,
            field_labels=FIELD_LABELS,
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
        form.discount.errors = [*form.discount.errors, e.message]
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
