"""Institution (TTO) workspace: my 科技成果 with patents, bulk import from a spreadsheet, and
揭榜挂帅: entering an outcome against a challenge and following my entries."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from models import (
    ChallengeSubmission,
    Conflict,
    Demand,
    ImportBatch,
    Outcome,
    ValidationError,
    db,
)
from models.enums import INDICATOR_OPS

from ..i18n import error_text
from ..policy import can, may_view_demand, require
from ..queries.listings import Page
from ..services import bulk_import, challenges, demand_access, listings
from ..tasks import commit_with
from ..ui.common import (
    OUTCOME_ACTIONS,
    attach_error,
    code_suggestions,
    guard,
    requested_action,
)
from ..ui.forms import AccessRequestForm, SubmissionForm
from ..urls import page_number
from . import queries
from .forms import ConfirmImportForm, OutcomeForm, PatentForm, UploadForm, WithdrawForm

log = logging.getLogger(__name__)

bp = Blueprint("institution", __name__, url_prefix="/workspace/institution")
bp.before_request(guard("workspace.institution"))

OUTCOME_ALIASES = {"asking_price_fen": "asking_price", "indicators": None}
# Errors about the challenge itself show above the 揭榜 form.
SUBMISSION_ALIASES = {"demand_id": None, "status": None, "challenge_deadline": None}
IMPORT_MAX_BYTES = 5 * 1024 * 1024
PREVIEW_VALID_ROWS = 100


@bp.route("/")
def index():
    org = current_user.organization
    query = request.args.get("q", "").strip()[:100]
    page = page_number(request.args.get("page"))
    rows, matching = queries.my_outcomes(org.id, query, page) if org else ([], 0)
    return render_template(
        "workspace/institution/index.html",
        org=org,
        outcomes=rows,
        query=query,
        listing=Page(rows, matching, page, queries.OUTCOME_PAGE),
        total=queries.count_outcomes(org.id) if org else 0,
        batches=queries.recent_batches(org.id) if org else [],
        may_post=can(current_user, "outcome.create"),
    )


# ---------------------------------------------------------------- one outcome at a time


@bp.route("/outcomes/new", methods=["GET", "POST"])
def new_outcome():
    require(current_user, "outcome.create")
    form = OutcomeForm()
    if request.method == "GET":
        form.pad_indicators()
        return _render_outcome(form, None)
    return _save_outcome(form, None)


@bp.route("/outcomes/<int:outcome_id>/edit", methods=["GET", "POST"])
def edit_outcome(outcome_id: int):
    outcome = db.get_or_404(Outcome, outcome_id)
    require(current_user, "outcome.edit", outcome)
    if request.method == "GET":
        form = OutcomeForm(obj=outcome)
        form.load(outcome)
        return _render_outcome(form, outcome)
    return _save_outcome(OutcomeForm(), outcome)  # submitted fields only, as for demands


@bp.route("/outcomes/<int:outcome_id>/patents", methods=["POST"])
def add_patent(outcome_id: int):
    outcome = db.get_or_404(Outcome, outcome_id)
    require(current_user, "outcome.edit", outcome)
    patent_form = PatentForm(prefix="patent")
    if patent_form.validate_on_submit():
        try:
            patent = listings.add_patent(outcome, patent_form.service_data(), current_user.id)
            number = patent.number  # before the commit, for the message after it
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(patent_form, e, {"ipc_codes": "ipc"})
        else:
            flash(_("已添加专利 %(n)s", n=number), "success")
            return redirect(url_for("institution.edit_outcome", outcome_id=outcome_id) + "#patents")
    form = OutcomeForm(obj=outcome, formdata=None)
    form.load(outcome)
    return _render_outcome(form, outcome, patent_form=patent_form, status=422)


@bp.route("/outcomes/<int:outcome_id>/close", methods=["POST"])
def close_outcome(outcome_id: int):
    outcome = db.get_or_404(Outcome, outcome_id)
    require(current_user, "outcome.edit", outcome)
    listings.set_status(outcome, "closed", current_user.id)
    title = outcome.title  # read before the commit: nothing after it may need the database
    commit_with(("embed_listing", "outcome", outcome_id))
    flash(_("成果“%(t)s”已下架", t=title), "info")
    return redirect(url_for("institution.index"))


def _save_outcome(form: OutcomeForm, outcome: Outcome | None):
    valid = form.validate_on_submit()
    action = requested_action(form, OUTCOME_ACTIONS)
    publish = action == "publish"
    if not valid or action is None:
        form.pad_indicators()
        return _render_outcome(form, outcome, status=422)
    try:
        data = {**form.service_data(), "status": "published" if publish else "draft"}
        outcome = _store_outcome(outcome, data, form.ipc_list())
        db.session.flush()
        outcome_id = outcome.id
        commit_with(("embed_listing", "outcome", outcome_id))
    except ValidationError as e:
        db.session.rollback()
        attach_error(form, e, OUTCOME_ALIASES)
        form.pad_indicators()
        return _render_outcome(form, outcome, status=422)
    flash(_("成果已发布") if publish else _("已保存为草稿"), "success")
    return redirect(url_for("institution.edit_outcome", outcome_id=outcome_id))


def _store_outcome(outcome: Outcome | None, data: dict, ipc: list[str]) -> Outcome:
    if outcome is None:
        require(current_user, "outcome.create")
        return listings.post_outcome(current_user.organization, data, current_user.id, ipc)
    return listings.update_outcome(outcome, data, current_user.id, ipc)


def _render_outcome(form, outcome, patent_form=None, status: int = 200):
    return (
        render_template(
            "workspace/institution/outcome_form.html",
            form=form,
            suggestions=code_suggestions(form.title.data, form.abstract.data),
            outcome=outcome,
            patent_form=patent_form or PatentForm(prefix="patent", formdata=None),
            ops=INDICATOR_OPS,
        ),
        status,
    )


# ---------------------------------------------------------------- bulk import


@bp.route("/import", methods=["GET", "POST"])
def upload():
    require(current_user, "outcome.import")
    form = UploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        limit = _limit()
        data = upload_file.read(limit + 1)
        try:
            if len(data) > limit:
                raise bulk_import.UploadRejected(
                    _("文件超过%(n)sMB，请拆分后分批上传", n=round(limit / 1024 / 1024, 1))
                )
            batch = bulk_import.preview(
                current_user.organization, current_user, upload_file.filename or "", data
            )
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
        else:
            return redirect(url_for("institution.batch", batch_id=batch.id))
    status = 422 if form.errors else 200
    return render_template("workspace/institution/import_upload.html", form=form), status


@bp.route("/import/template.<ext>")
def template(ext: str):
    if ext == "csv":
        body = bulk_import.template_csv().encode("utf-8")
        mimetype = "text/csv; charset=utf-8"
    elif ext == "xlsx":
        body = bulk_import.template_xlsx()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        return Response(status=404)
    return _download(body, mimetype, f"outcome-import-template.{ext}")


@bp.route("/import/<int:batch_id>")
def batch(batch_id: int):
    item = _batch(batch_id)
    results = sorted(item.results, key=lambda r: (r["status"] != "invalid", r["row"]))
    shown = [r for r in results if r["status"] != "valid"]
    shown += [r for r in results if r["status"] == "valid"][:PREVIEW_VALID_ROWS]
    return render_template(
        "workspace/institution/import_batch.html",
        batch=item,
        job=item.job,
        results=shown,
        hidden_valid=max(0, item.valid_rows - PREVIEW_VALID_ROWS)
        if item.status == "previewed"
        else 0,
        errors=[r for r in results if r["errors"]],
        form=ConfirmImportForm(),
        labels=bulk_import.RESULT_LABELS,
    )


@bp.route("/import/<int:batch_id>/confirm", methods=["POST"])
def confirm(batch_id: int):
    item = _batch(batch_id)
    require(current_user, "outcome.import")
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        return redirect(url_for("institution.batch", batch_id=item.id))
    bulk_import.confirm(item, current_user, publish=form.publish.data)
    # Eager mode runs the import here; a failure is recorded on the job, not raised.
    commit_with(("import_outcomes", batch_id))
    return redirect(url_for("institution.batch", batch_id=batch_id))


@bp.route("/import/<int:batch_id>/progress")
def progress(batch_id: int):
    item = _batch(batch_id)
    job = item.job
    if job is None:
        return {"status": item.status, "done": 0, "total": 0, "percent": 0, "finished": False}
    return {
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "percent": 100 if job.status == "done" else job.percent,
        "message": job.message or "",
        "finished": job.status in ("done", "failed"),
        "report_url": url_for("institution.report", batch_id=item.id),
    }


@bp.route("/import/<int:batch_id>/report.csv")
def report(batch_id: int):
    item = _batch(batch_id)
    body = bulk_import.report_csv(item).encode("utf-8")
    return _download(body, "text/csv; charset=utf-8", f"import-report-{item.id}.csv")


def _batch(batch_id: int) -> ImportBatch:
    item = db.get_or_404(ImportBatch, batch_id)
    require(current_user, "import.view", item)
    return item


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _limit() -> int:
    """Spreadsheets get a tighter cap than the app-wide MAX_CONTENT_LENGTH."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES))


# ---------------------------------------------------------------- 揭榜挂帅


@bp.route("/challenges")
def challenges_index():
    org = current_user.organization
    entries = challenges.for_organization(org.id) if org else []
    return render_template(
        "workspace/institution/challenges.html",
        entries=entries,
        forms={e.id: WithdrawForm(formdata=None, version=e.version_id) for e in entries},
    )


@bp.route("/challenges/<int:demand_id>/enter", methods=["GET", "POST"])
def enter_challenge(demand_id: int):
    demand = db.get_or_404(Demand, demand_id)
    if demand.status != "published" or demand.confidentiality == "broker_only":
        abort(404)
    require(current_user, "challenge.submit")
    form = SubmissionForm()
    picker = challenges.eligible_outcomes(
        current_user.organization_id,
        demand,
        request.args.get("q", ""),
        page_number(request.args.get("page")),
    )
    outcome = db.session.get(Outcome, form.outcome_ref()) if form.outcome_ref() else None
    mine = outcome if outcome and outcome.organization_id == current_user.organization_id else None
    form.set_outcomes(picker.items, chosen=mine)
    if request.method == "GET" or not form.validate_on_submit():
        return _render_entry(demand, form, picker, 200 if request.method == "GET" else 422)
    try:
        challenges.submit(demand, outcome, current_user, form.pitch.data)
        db.session.commit()
    except ValidationError as e:
        db.session.rollback()
        attach_error(form, e, SUBMISSION_ALIASES)
        return _render_entry(demand, form, picker, 422)
    flash(_("已揭榜“%(t)s”，可在“我的揭榜”中查看进展。", t=demand.title), "success")
    return redirect(url_for("institution.challenges_index"))


@bp.route("/demands/<int:demand_id>/access", methods=["POST"])
def request_access(demand_id: int):
    """分级保密: ask the owner of a 脱敏 demand to see who posted it (form on the demand page)."""
    demand = db.get_or_404(Demand, demand_id)
    if not may_view_demand(current_user, demand):
        abort(404)
    require(current_user, "demand.request_access", demand)
    form = AccessRequestForm()
    if form.validate_on_submit():
        try:
            demand_access.ask(demand, current_user, form.purpose.data, form.nda.data)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
        else:
            flash(_("已提交申请，发布方同意后即可在需求页看到完整信息。"), "success")
            return redirect(url_for("public.demand", demand_id=demand.id))
    from ..ui.demand_page import render_demand

    return render_demand(demand, access_form=form, status=422)


@bp.route("/submissions/<int:submission_id>/withdraw", methods=["POST"])
def withdraw_entry(submission_id: int):
    entry = db.get_or_404(ChallengeSubmission, submission_id)
    require(current_user, "challenge.withdraw", entry)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            challenges.withdraw(entry, current_user, form.expected_version())
            db.session.commit()
        except (ValidationError, Conflict) as e:
            db.session.rollback()
            flash(error_text(e), "danger")
        else:
            flash(_("已撤回对“%(t)s”的揭榜。", t=entry.demand.title), "info")
    return redirect(url_for("institution.challenges_index"))


def _render_entry(demand: Demand, form: SubmissionForm, picker, status: int):
    return (
        render_template(
            "workspace/institution/challenge_enter.html",
            demand=demand,
            form=form,
            picker=picker,
            query=request.args.get("q", "").strip()[:100],
            challenge=challenges.status(demand),
            mine=challenges.for_organization(current_user.organization_id or 0, demand.id),
        ),
        status,
    )
