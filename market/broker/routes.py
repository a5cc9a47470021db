"""Broker cockpit: review queue, proposal review, deal board and the deal page."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import (
    BenchmarkCase,
    Conflict,
    Deal,
    DealSubsidy,
    Match,
    MatchBundle,
    Objection,
    TermSheet,
    UseFirstReview,
    User,
    ValidationError,
    db,
    utcnow,
)
from models.enums import CONFIDENTIALITY, COOPERATION_MODES, DEAL_STAGES, MATCH_STAGES

from ..i18n import error_text
from ..services import bundles, deals, introductions, notices, terms, use_first
from ..ui.bundle_page import render_bundle
from ..ui.change_log import summary_rows
from ..ui.common import attach_error, guard
from ..ui.forms import BundleAcceptForm, BundleRejectForm
from ..ui.highlight import highlight
from .forms import (
    AcceptForm,
    DraftTermsForm,
    IntroAnswerForm,
    MoveForm,
    NoticeForm,
    ReasonReviewForm,
    RejectForm,
    ResolveForm,
    RewardForm,
    SubsidyForm,
    fen,
    options,
    profile_options,
)

log = logging.getLogger(__name__)

bp = Blueprint("broker", __name__, url_prefix="/broker")
bp.before_request(guard("broker.cockpit"))


# -- review queue ------------------------------------------------------------------------------


@bp.route("/")
def queue():
    flt = deals.QueueFilter.from_args(request.args, current_app.config["PAGE_SIZE"])
    page = deals.review_queue(flt)
    pending_bundles, bundle_total = bundles.awaiting_review()
    return render_template(
        "broker/queue.html",
        page=page,
        pending_bundles=pending_bundles,
        bundle_total=bundle_total,
        intros=introductions.intros_for(page.items),
        flt=flt,
        fields=deals.queue_fields(),
        regions=deals.queue_regions(),
        sorts=deals.QUEUE_SORTS,
        bands=deals.COMPLEXITY_BANDS,
    )


@bp.route("/proposals/<int:match_id>")
def proposal(match_id: int):
    match = db.get_or_404(Match, match_id)
    return _render_proposal(
        match, AcceptForm(version=match.version_id), RejectForm(version=match.version_id)
    )


def _render_proposal(match: Match, accept_form, reject_form, status: int = 200, intro_form=None):
    explanation = match.explanation or {}
    spans = explanation.get("highlight") or {}
    preview, preview_error = terms.preview_for_match(match)
    deal = db.session.scalar(select(Deal).where(Deal.match_id == match.id))
    return (
        render_template(
            "broker/proposal.html",
            match=match,
            deal=deal,
            ex=explanation,
            demand_text=highlight(match.demand.embedding_text(), spans.get("demand_spans", [])),
            outcome_text=highlight(match.outcome.embedding_text(), spans.get("outcome_spans", [])),
            preview=summary_rows(preview) if preview else None,
            preview_profile=preview.profile_key if preview else None,
            preview_error=preview_error,
            accept_form=accept_form,
            reject_form=reject_form,
            intro=introductions.intro_of(match),
            intro_form=intro_form or IntroAnswerForm(formdata=None),
            in_bundles=bundles.containing(match),
            stages=MATCH_STAGES,
            confidentiality=CONFIDENTIALITY,
            modes=COOPERATION_MODES,
        ),
        status,
    )


@bp.route("/proposals/<int:match_id>/accept", methods=["POST"])
def accept(match_id: int):
    match = db.get_or_404(Match, match_id)
    form = AcceptForm()
    if not form.validate():
        return _render_proposal(match, form, RejectForm(version=match.version_id), 422)
    try:
        deal = deals.accept_match(match, current_user, form.expected_version(), form.comment.data)
        db.session.commit()
    except Conflict as e:
        return _conflict(match_id, e)
    flash(_("已接受推荐，项目已进入看板"), "success")
    return redirect(url_for("broker.deal", deal_id=deal.id))


@bp.route("/proposals/<int:match_id>/reject", methods=["POST"])
def reject(match_id: int):
    match = db.get_or_404(Match, match_id)
    form = RejectForm()
    if form.validate():
        try:
            deals.reject_match(
                match, current_user, form.reason.data, form.comment.data, form.expected_version()
            )
            db.session.commit()
            flash(_("已拒绝该推荐，原因已记录"), "success")
            return redirect(url_for("broker.queue"))
        except Conflict as e:
            return _conflict(match_id, e)
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    return _render_proposal(
        db.get_or_404(Match, match_id), AcceptForm(version=match.version_id), form, 422
    )


@bp.route("/proposals/<int:match_id>/introduction", methods=["POST"])
def answer_introduction(match_id: int):
    match = db.get_or_404(Match, match_id)
    intro = introductions.intro_of(match)
    if intro is None:
        flash(_("该推荐没有牵线请求"), "warning")
        return redirect(url_for("broker.proposal", match_id=match_id))
    form = IntroAnswerForm()
    if form.validate():
        accepted = form.decision.data == "accepted"
        try:
            introductions.answer_introduction(intro, current_user, accepted, form.note.data or "")
            db.session.commit()
            flash(_("答复已发送给请求方") if accepted else _("已婉拒，原因已告知请求方"), "success")
            return redirect(url_for("broker.proposal", match_id=match_id))
        except Conflict as e:
            db.session.rollback()
            form.form_errors.append(error_text(e))
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    match = db.get_or_404(Match, match_id)
    versions = {"version": match.version_id}
    return _render_proposal(
        match,
        AcceptForm(formdata=None, **versions),
        RejectForm(formdata=None, **versions),
        422,
        intro_form=form,
    )


def _conflict(match_id: int, error: Conflict):
    db.session.rollback()
    match = db.get_or_404(Match, match_id)
    accept_form = AcceptForm(formdata=None, version=match.version_id)
    accept_form.form_errors.append(error.message)
    return _render_proposal(
        match, accept_form, RejectForm(formdata=None, version=match.version_id), 409
    )


# -- 组合方案 decisions (the page itself is parties.bundle, shared with the parties) ------------


@bp.route("/bundles/<int:bundle_id>/accept", methods=["POST"])
def accept_bundle(bundle_id: int):
    item = db.get_or_404(MatchBundle, bundle_id)
    form = BundleAcceptForm()
    if form.validate():
        try:
            bundles.accept_bundle(item, current_user, form.expected_version(), form.comment.data)
            db.session.commit()
            flash(_("已接受该组合方案，并为每项成果建立了项目"), "success")
            return redirect(url_for("parties.bundle", bundle_id=bundle_id))
        except Conflict as e:
            db.session.rollback()
            form.form_errors.append(error_text(e))
            return render_bundle(
                db.get_or_404(MatchBundle, bundle_id), accept_form=form, status=409
            )
    return render_bundle(item, accept_form=form, status=422)


@bp.route("/bundles/<int:bundle_id>/reject", methods=["POST"])
def reject_bundle(bundle_id: int):
    item = db.get_or_404(MatchBundle, bundle_id)
    form = BundleRejectForm()
    if form.validate():
        try:
            bundles.reject_bundle(
                item, current_user, form.reason.data, form.comment.data, form.expected_version()
            )
            db.session.commit()
            flash(_("已拒绝该组合方案，原因已记录"), "success")
            return redirect(url_for("parties.bundle", bundle_id=bundle_id))
        except Conflict as e:
            db.session.rollback()
            form.form_errors.append(error_text(e))
            return render_bundle(
                db.get_or_404(MatchBundle, bundle_id), reject_form=form, status=409
            )
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    return render_bundle(db.get_or_404(MatchBundle, bundle_id), reject_form=form, status=422)


# -- deal board and deal page ------------------------------------------------------------------


@bp.route("/deals")
def board():
    return render_template(
        "broker/board.html", board=deals.deal_board(), stages=DEAL_STAGES, limits=deals.sla_days()
    )


@bp.route("/deals/<int:deal_id>")
def deal(deal_id: int):
    item = db.get_or_404(Deal, deal_id)
    return _render_deal(item)


def _forms(item: Deal, **given) -> dict:
    move = given.get("move") or MoveForm(formdata=None, version=item.version_id)
    move.to_stage.choices = options((s, DEAL_STAGES[s]) for s in deals.allowed_moves(item))
    draft = given.get("draft") or DraftTermsForm(formdata=None)
    draft.profile_key.choices = profile_options()
    if not draft.profile_key.data:
        draft.profile_key.data = terms.get_profile().key
    reward = given.get("reward") or RewardForm(formdata=None)
    reward.recipient.choices = options(_staff_choices())
    return {
        "move_form": move,
        "draft_form": draft,
        "notice_form": given.get("notice") or NoticeForm(formdata=None),
        "subsidy_form": given.get("subsidy") or SubsidyForm(formdata=None),
        "reward_form": reward,
    }


def _staff_choices() -> list[tuple[int, str]]:
    stmt = select(User).where(User.role.in_(("broker", "admin")), User.active.is_(True))
    return [(u.id, f"{u.name}（{u.email}）") for u in db.session.scalars(stmt.order_by(User.name))]


def _render_deal(item: Deal, status: int = 200, **given):
    notice = notices.current_notice(item)
    subsidy = db.session.get(DealSubsidy, item.id)
    rule = deals.reward_rule(item)
    users = {u.id: u for u in db.session.scalars(select(User))}
    return (
        render_template(
            "broker/deal.html",
            deal=item,
            match=item.match,
            sla=deals.sla(item),
            sheet=deals.current_sheet(item),
            notice=notice,
            countdown=notices.countdown(notice) if notice else None,
            objections=notices.objections_of(notice) if notice else [],
            resolve_forms=_resolve_forms(notice, given.get("resolve"), given.get("resolve_target")),
            sign=notices.signing_decision(item, utcnow()),
            subsidy=subsidy,
            rewards=deals.rewards(item),
            rewards_total=deals.rewards_total(item),
            reward_rule=rule,
            cap=(subsidy.amount_fen * rule.bounds[1] // 10000) if (subsidy and rule) else None,
            case=db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == item.id)),
            users=users,
            stages=DEAL_STAGES,
            methods=notices.METHODS,
            objection_states=notices.OBJECTION_STATES,
            **_forms(item, **given),
        ),
        status,
    )


def _resolve_forms(notice, posted, target) -> dict[int, ResolveForm]:
    if notice is None:
        return {}
    return {
        o.id: posted if (posted is not None and o.id == target) else _resolve_form(o.id, None)
        for o in notices.objections_of(notice)
    }


def _resolve_form(objection_id: int, formdata=None) -> ResolveForm:
    if formdata is None:
        return ResolveForm(formdata=None, prefix=f"o{objection_id}")
    return ResolveForm(prefix=f"o{objection_id}")


def _deal_action(deal_id: int, form, form_key: str, action, success: str, aliases=None):
    """Validate ``form``, run ``action(deal, form)``, commit; errors go back next to fields."""
    item = db.get_or_404(Deal, deal_id)
    if form_key == "move":
        form.to_stage.choices = options((s, DEAL_STAGES[s]) for s in deals.allowed_moves(item))
    if form_key == "draft":
        form.profile_key.choices = profile_options()
    if form_key == "reward":
        form.recipient.choices = options(_staff_choices())
    if form.validate():
        try:
            action(item, form)
            db.session.commit()
            flash(success, "success")
            return redirect(url_for("broker.deal", deal_id=deal_id))
        except Conflict as e:
            db.session.rollback()
            form.form_errors.append(error_text(e))
            return _render_deal(db.get_or_404(Deal, deal_id), 409, **{form_key: form})
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e, aliases)
    return _render_deal(db.get_or_404(Deal, deal_id), 422, **{form_key: form})


@bp.route("/deals/<int:deal_id>/move", methods=["POST"])
def move(deal_id: int):
    def run(item, form):
        deals.move_deal(
            item,
            form.to_stage.data,
            current_user,
            form.note.data or "",
            registration_no=form.registration_no.data or "",
            expected_version=form.expected_version(),
        )

    return _deal_action(deal_id, MoveForm(), "move", run, _("阶段已更新"))


@bp.route("/deals/<int:deal_id>/terms", methods=["POST"])
def draft_terms(deal_id: int):
    def run(item, form):
        terms.draft_for_deal(item, form.profile_key.data, form.mode.data, current_user)

    return _deal_action(deal_id, DraftTermsForm(), "draft", run, _("条款书已生成"))


@bp.route("/deals/<int:deal_id>/notice", methods=["POST"])
def open_notice(deal_id: int):
    def run(item, form):
        price = fen(form.price.data) if form.price.data is not None else None
        notices.open_notice(
            item,
            price,
            form.method.data,
            current_user,
            office=form.office.data or "",
            contact=form.contact.data or "",
        )

    return _deal_action(deal_id, NoticeForm(), "notice", run, _("已发起公示"))


@bp.route("/deals/<int:deal_id>/subsidy", methods=["POST"])
def subsidy(deal_id: int):
    def run(item, form):
        deals.set_subsidy(item, fen(form.amount.data), current_user)

    return _deal_action(deal_id, SubsidyForm(), "subsidy", run, _("服务补助金额已保存"))


@bp.route("/deals/<int:deal_id>/rewards", methods=["POST"])
def add_reward(deal_id: int):
    def run(item, form):
        recipient = db.session.get(User, form.recipient.data)
        if recipient is None:
            raise ValidationError(_("奖励对象不存在"), "recipient")
        deals.add_reward(item, recipient, fen(form.amount.data), form.note.data or "", current_user)

    return _deal_action(deal_id, RewardForm(), "reward", run, _("奖励已记入台账"))


@bp.route("/objections/<int:objection_id>/resolve", methods=["POST"])
def resolve(objection_id: int):
    objection = db.get_or_404(Objection, objection_id)
    deal_id = objection.notice.deal_id
    form = _resolve_form(objection_id, request.form)
    if form.validate():
        try:
            notices.resolve_objection(objection, form.decision.data, form.note.data, current_user)
            db.session.commit()
            flash(_("异议处理结果已记录"), "success")
            return redirect(url_for("broker.deal", deal_id=deal_id))
        except (Conflict, ValidationError) as e:
            db.session.rollback()
            attach_error(form, e)
    item = db.get_or_404(Deal, deal_id)
    return _render_deal(item, 422, resolve=form, resolve_target=objection_id)


@bp.app_template_filter("sheet_link")
def sheet_link(row: TermSheet | None) -> str:
    return url_for("terms.view", sheet_id=row.id) if row else ""


@bp.context_processor
def _clock() -> dict:
    return {"now_utc": utcnow}


# -- 到期即转: owners' reasons for staying out of the pool, reviewed by a broker ----------------


def _reason_forms(posted: ReasonReviewForm | None = None, target: int | None = None):
    reviews = use_first.reasons_to_review()
    forms = {
        r.id: posted
        if (posted is not None and r.id == target)
        else ReasonReviewForm(formdata=None, prefix=f"u{r.id}")
        for r in reviews
    }
    return reviews, forms


def _render_reasons(posted: ReasonReviewForm | None = None, target: int | None = None):
    reviews, forms = _reason_forms(posted, target)
    status = 422 if posted is not None else 200
    page = render_template(
        "broker/use_first_reasons.html", reviews=reviews, forms=forms, active="reasons"
    )
    return page, status


@bp.route("/use-first-reasons")
def use_first_reasons():
    return _render_reasons()


@bp.route("/use-first-reasons/<int:review_id>", methods=["POST"])
def review_use_first_reason(review_id: int):
    review = db.get_or_404(UseFirstReview, review_id)
    form = ReasonReviewForm(prefix=f"u{review_id}")
    if form.validate():
        try:
            use_first.review_reason(
                review, current_user, form.decision.data == "upheld", form.note.data
            )
            db.session.commit()
            flash(_("审核意见已记录"), "success")
            return redirect(url_for("broker.use_first_reasons"))
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    return _render_reasons(form, review_id)
