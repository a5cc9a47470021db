"""到期即转 (珠海 措施8): fiscal-funded 应用技术类 outcomes whose patents were granted at least N
years ago (N from the outcome's own regional policy profile) and never implemented enter the
先用后转 pool once their owner consents; the owner may decline with a reason (正当理由), which a
broker reviews. The profile's scope rule names the owners: 高校, 科研院所, 医疗卫生机构 and
国有企业 (an enterprise with ``state_owned``), not private enterprises. Flushes only; ``today`` is
passed in."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import exists, func, select

from market import licensing
from market.licensing.dates import add_years
from market.policy import require
from models import (
    AuditLog,
    Outcome,
    Patent,
    UseFirstReview,
    User,
    ValidationError,
    db,
    utcnow,
)
from models.enums import N_

from . import audit, terms

log = logging.getLogger(__name__)

POOL_RULE = "use_first_pool_after_years"
MODE = "use_first"
NATIONWIDE = "全国"
SWEEP_ACTION = "use_first.sweep"
REVIEW_STATES = {"pending": "待经纪人审核", "upheld": "理由成立", "rejected": "理由不成立"}


def _candidates(cutoff: date):
    """Outcomes the sweep must look at: fiscal-funded, unimplemented, never reviewed, with a
    patent granted on or before the cutoff (the engine then checks the details)."""
    old_patent = exists().where(
        Patent.outcome_id == Outcome.id,
        Patent.granted_on.is_not(None),
        Patent.granted_on <= cutoff,
    )
    reviewed = exists().where(UseFirstReview.outcome_id == Outcome.id)
    return (
        select(Outcome)
        .where(
            Outcome.fiscal_funded.is_(True),
            Outcome.implemented.is_(False),
            Outcome.use_first_state.is_(None),
            old_patent,
            ~reviewed,
        )
        .order_by(Outcome.id)
        .execution_options(yield_per=500)
    )


def sweep_use_first(
    today: date, profile_key: str | None = None, actor_id: int | None = None
) -> dict[str, int]:
    """Mark every due outcome "pending_consent" with a consent task; safe to run twice. Each
    outcome is judged under its owner's regional profile unless `profile_key` names one. The
    run itself is audited (``use_first.sweep``: who ran it, the day, counts and the outcomes
    found) so the admin page can show what each sweep found."""
    fixed = terms.get_profile(profile_key) if profile_key else None
    pool = [fixed] if fixed else list(terms.profiles().values())
    shortest = min(int(p.rule(POOL_RULE).value) for p in pool)
    found = {"checked": 0, "due": 0}
    due_ids = []
    for outcome in db.session.scalars(_candidates(add_years(today, -shortest))).all():
        found["checked"] += 1
        profile = fixed or profile_for(outcome)
        decision = licensing.due_for_use_first(terms.outcome_facts(outcome), profile, today)
        if decision:
            _mark_due(outcome, decision, today)
            found["due"] += 1
            due_ids.append(outcome.id)
    audit.record(
        actor_id,
        SWEEP_ACTION,
        None,
        after={"today": today, "profile": profile_key, **found, "outcomes": due_ids},
    )
    db.session.flush()
    log.info("use-first sweep on %s under %s: %s", today, profile_key or "regional profiles", found)
    return found


def profile_for(outcome: Outcome) -> licensing.Profile:
    """The profile of the owner's own region: the longest profile region its address starts
    with (广东省珠海市 → 珠海, 广东省 → 广东), else the national one, else the default."""
    org = outcome.organization
    place = f"{org.province or ''}{org.city if org.city != org.province else ''}"
    every = list(terms.profiles().values())
    local = [p for p in every if p.region and p.region != NATIONWIDE and place.startswith(p.region)]
    if local:
        return max(local, key=lambda p: len(p.region))
    national = [p for p in every if p.region == NATIONWIDE]
    return national[0] if national else terms.get_profile()


def _mark_due(outcome: Outcome, decision: licensing.Decision, today: date) -> None:
    outcome.use_first_state = "pending_consent"
    db.session.add(
        UseFirstReview(
            outcome_id=outcome.id,
            state="pending_consent",
            found_on=today,
            reason=decision.reason[:400],
            rule_source=decision.source[:400],
        )
    )
    audit.record(
        None,
        "use_first.due",
        outcome,
        before={"use_first_state": None},
        after={"use_first_state": "pending_consent", "reason": decision.reason},
    )


def recent_sweeps(limit: int = 10) -> list:
    """The latest sweeps, newest first (audit entries of ``SWEEP_ACTION``)."""
    stmt = (
        select(AuditLog)
        .where(AuditLog.action == SWEEP_ACTION)
        .order_by(AuditLog.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def all_reviews(state: str = "", page: int = 1, per_page: int = 50) -> tuple[list, int]:
    """Every 到期即转 case the sweeps found (for admins), newest first, optionally one state."""
    where = [UseFirstReview.state == state] if state else []
    total = db.session.scalar(select(func.count(UseFirstReview.id)).where(*where)) or 0
    stmt = (
        select(UseFirstReview)
        .where(*where)
        .order_by(UseFirstReview.found_on.desc(), UseFirstReview.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(db.session.scalars(stmt)), total


def pending_consents(org_id: int) -> list[UseFirstReview]:
    """Consent tasks waiting for an institution (for its workspace)."""
    stmt = (
        select(UseFirstReview)
        .join(UseFirstReview.outcome)
        .where(Outcome.organization_id == org_id, UseFirstReview.state == "pending_consent")
        .order_by(UseFirstReview.found_on, UseFirstReview.id)
    )
    return list(db.session.scalars(stmt))


def reviews_for(org_id: int) -> list[UseFirstReview]:
    stmt = (
        select(UseFirstReview)
        .join(UseFirstReview.outcome)
        .where(Outcome.organization_id == org_id)
        .order_by(UseFirstReview.state != "pending_consent", UseFirstReview.id.desc())
    )
    return list(db.session.scalars(stmt))


def _decide(review: UseFirstReview, user: User, state: str) -> Outcome:
    outcome = review.outcome
    require(user, "outcome.consent_use_first", outcome)
    if review.state != "pending_consent":
        raise ValidationError(
            N_("该事项已处理：%(state_label)s"), "reason", state_label=review.state_label
        )
    review.state, review.decided_by, review.decided_at = state, user.id, utcnow()
    outcome.use_first_state = state
    return outcome


def consent(review: UseFirstReview, user: User) -> Outcome:
    """The owner agrees: the outcome joins the pool and is offered 先用后转."""
    outcome = _decide(review, user, "pooled")
    outcome.use_first_eligible = True
    if MODE not in (outcome.transfer_modes or []):
        outcome.transfer_modes = [*(outcome.transfer_modes or []), MODE]
    db.session.flush()
    audit.record(user.id, "use_first.consent", outcome, after={"use_first_state": "pooled"})
    return outcome


def decline(review: UseFirstReview, user: User, reason: str) -> Outcome:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError(N_("请说明不同意的理由（至少5个字）"), "reason")
    if len(reason) > 2000:
        raise ValidationError(N_("理由不能超过2000个字"), "reason")
    outcome = _decide(review, user, "declined")
    review.decline_reason = reason
    review.review_state, review.review_note, review.reviewed_at = "pending", None, None
    db.session.flush()
    audit.record(
        user.id,
        "use_first.decline",
        outcome,
        after={"use_first_state": "declined", "reason": reason, "review": "pending"},
    )
    return outcome


def reasons_to_review() -> list[UseFirstReview]:
    """Owners' reasons for keeping an outcome out of the pool, waiting for a broker."""
    stmt = select(UseFirstReview).where(UseFirstReview.review_state == "pending")
    return list(db.session.scalars(stmt.order_by(UseFirstReview.decided_at, UseFirstReview.id)))


def review_reason(review: UseFirstReview, user: User, upheld: bool, note: str) -> Outcome:
    """A broker judges the owner's 正当理由: upheld, the outcome stays out of the pool; not
    upheld, the consent task opens again with the broker's note for the owner."""
    require(user, "broker.cockpit")
    if review.review_state != "pending":
        raise ValidationError(N_("该理由不在待审核状态"), "note")
    note = (note or "").strip()
    if len(note) < 5:
        raise ValidationError(N_("请写明审核意见（至少5个字）"), "note")
    if len(note) > 2000:
        raise ValidationError(N_("审核意见不能超过2000个字"), "note")
    outcome = review.outcome
    review.review_state = "upheld" if upheld else "rejected"
    review.review_note, review.reviewed_at = note, utcnow()
    if not upheld:
        review.state = outcome.use_first_state = "pending_consent"
        review.decided_by, review.decided_at = None, None
    db.session.flush()
    audit.record(
        user.id,
        "use_first.review_reason",
        outcome,
        after={"review": review.review_state, "note": note, "use_first_state": review.state},
    )
    return outcome
