"""到期即转 (珠海 措施8): fiscal-funded outcomes whose patents were granted at least N years ago
(N from the policy profile) and never implemented enter the 先用后转 pool once their owner
consents; the owner may decline with a reason. Flushes only; ``today`` is passed in."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import exists, select

from market import licensing
from market.licensing.dates import add_years
from market.policy import require
from models import Outcome, Patent, UseFirstReview, User, ValidationError, db, utcnow

from . import audit, terms

log = logging.getLogger(__name__)

POOL_RULE = "use_first_pool_after_years"
MODE = "use_first"


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


def sweep_use_first(today: date, profile_key: str | None = None) -> dict[str, int]:
    """Mark every due outcome "pending_consent" with a consent task; safe to run twice."""
    profile = terms.get_profile(profile_key)
    years = int(profile.rule(POOL_RULE).value)
    found = {"checked": 0, "due": 0}
    for outcome in db.session.scalars(_candidates(add_years(today, -years))).all():
        found["checked"] += 1
        decision = licensing.due_for_use_first(terms.outcome_facts(outcome), profile, today)
        if decision:
            _mark_due(outcome, decision, today)
            found["due"] += 1
    db.session.flush()
    log.info("use-first sweep on %s under %s: %s", today, profile.key, found)
    return found


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
        raise ValidationError(f"该事项已处理：{review.state_label}", "reason")
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
        raise ValidationError("请说明不同意的理由（至少5个字）", "reason")
    if len(reason) > 2000:
        raise ValidationError("理由不能超过2000个字", "reason")
    outcome = _decide(review, user, "declined")
    review.decline_reason = reason
    db.session.flush()
    audit.record(
        user.id,
        "use_first.decline",
        outcome,
        after={"use_first_state": "declined", "reason": reason},
    )
    return outcome
