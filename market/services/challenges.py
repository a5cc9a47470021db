"""揭榜挂帅 (open challenge): institutions enter an outcome (揭榜) against a challenge demand, the
enterprise that posted it shortlists entries and picks one winner (选定揭榜方). Flushes only.

Entries stay open while the challenge is: the demand is published, its 揭榜截止日期 has not
passed and no winner has been picked. Picking the winner marks every other live entry
not_selected and proposes the winning pair to brokers as a Match, so the usual broker review
carries it on to a deal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from market.policy import require
from models import (
    ChallengeSubmission,
    Conflict,
    Demand,
    Forbidden,
    Match,
    Outcome,
    User,
    ValidationError,
    db,
    local_today,
    utcnow,
)
from models.challenges import NOTE_LIMIT, PITCH_LIMIT
from models.enums import N_
from models.listings import clean_text

from ..queries.listings import Page, like_pattern
from . import audit
from .matching import CHALLENGE_VERSION

log = logging.getLogger(__name__)

STALE = "该揭榜记录已被他人更新，请刷新后重试"
DECIDED = "该榜单已选定揭榜方，不能再更改"
LIVE = ("submitted", "shortlisted")
STATE_ORDER = {"winner": 0, "shortlisted": 1, "submitted": 2, "not_selected": 3, "withdrawn": 4}
AUDITED = ["state", "decided_by", "decision_note"]
MATCH_VERSION = CHALLENGE_VERSION

WINNER_SENTENCE = N_("揭榜挂帅：需求方已选定“%(title)s”为揭榜方。")


@dataclass(frozen=True)
class ChallengeStatus:
    """What a challenge page shows: open or why not, days left, how many entries."""

    state: str  # open | expired | decided | closed
    days_left: int | None
    entries: int

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def today() -> date:
    return local_today()


def winner_of(demand: Demand) -> ChallengeSubmission | None:
    stmt = select(ChallengeSubmission).where(
        ChallengeSubmission.demand_id == demand.id, ChallengeSubmission.state == "winner"
    )
    return db.session.scalar(stmt)


def count_entries(demand: Demand) -> int:
    """Entries that were made and not withdrawn (decided ones included)."""
    stmt = select(func.count(ChallengeSubmission.id)).where(
        ChallengeSubmission.demand_id == demand.id, ChallengeSubmission.state != "withdrawn"
    )
    return db.session.scalar(stmt) or 0


def status(demand: Demand, on: date | None = None) -> ChallengeStatus:
    on = on or today()
    deadline = demand.challenge_deadline
    days_left = (deadline - on).days if deadline else None
    if winner_of(demand) is not None:
        state = "decided"
    elif demand.status != "published":
        state = "closed"
    elif days_left is not None and days_left < 0:
        state = "expired"
    else:
        state = "open"
    return ChallengeStatus(state, days_left, count_entries(demand))


def _check_open(demand: Demand, on: date) -> None:
    if not demand.is_challenge:
        raise ValidationError(N_("该需求不是揭榜挂帅榜单，不能揭榜"), "demand_id")
    if demand.confidentiality == "broker_only":
        raise ValidationError(N_("该榜单仅经纪人可见，请联系平台经纪人代为对接"), "demand_id")
    state = status(demand, on).state
    if state == "decided":
        raise ValidationError(N_("该榜单已选定揭榜方，不再接受揭榜"), "demand_id")
    if state == "closed":
        raise ValidationError(N_("该需求未发布或已关闭，不能揭榜"), "status")
    if state == "expired":
        raise ValidationError(
            N_("揭榜已于%(value)s截止，不能再揭榜"),
            "challenge_deadline",
            value=demand.challenge_deadline.isoformat(),
        )


def _check_outcome(outcome: Outcome | None, user: User) -> Outcome:
    if outcome is None:
        raise ValidationError(N_("请选择用于揭榜的成果"), "outcome_id")
    if outcome.organization_id != user.organization_id:
        raise Forbidden(N_("只能用本机构登记的成果揭榜"), "outcome_id")
    if outcome.status != "published":
        raise ValidationError(N_("只能用已发布的成果揭榜，请先发布该成果"), "outcome_id")
    return outcome


# -- entering and withdrawing --------------------------------------------------------------------


def submit(
    demand: Demand,
    outcome: Outcome | None,
    user: User,
    pitch: str,
    *,
    on: date | None = None,
    now: datetime | None = None,
) -> ChallengeSubmission:
    """揭榜: enter one of the user's institution's published outcomes against an open challenge.
    ``now`` is the moment of entry (its Beijing date is ``on`` unless given)."""
    require(user, "challenge.submit")
    outcome = _check_outcome(outcome, user)
    _check_open(demand, on or (local_today(now) if now else today()))
    now = now or utcnow()
    entry = db.session.scalar(
        select(ChallengeSubmission).where(
            ChallengeSubmission.demand_id == demand.id,
            ChallengeSubmission.outcome_id == outcome.id,
        )
    )
    if entry is not None and entry.state != "withdrawn":
        raise ValidationError(N_("该成果已经揭榜此榜单，请勿重复提交"), "outcome_id")
    pitch = clean_text(pitch, "pitch", "揭榜说明", PITCH_LIMIT)
    before = audit.snapshot(entry, AUDITED) if entry else None
    if entry is None:
        entry = ChallengeSubmission(
            demand_id=demand.id, outcome_id=outcome.id, pitch=pitch, created_at=now
        )
        db.session.add(entry)
    # A withdrawn entry may come back with a new pitch: one row per pair keeps the history.
    entry.organization_id, entry.submitted_by, entry.pitch = outcome.organization_id, user.id, pitch
    entry.state, entry.decided_by, entry.decided_at = "submitted", None, None
    entry.decision_note = None
    _flush("该成果已经揭榜此榜单，请勿重复提交")
    audit.record(
        user.id,
        "challenge.submit",
        entry,
        before=before,
        after={"state": "submitted", "demand": demand.id, "outcome": outcome.id},
    )
    return entry


def withdraw(
    entry: ChallengeSubmission, user: User, expected_version: int | None = None
) -> ChallengeSubmission:
    """The submitting institution takes its entry back while the challenge is undecided."""
    require(user, "challenge.withdraw", entry)
    _check_version(entry, expected_version)
    if entry.state not in LIVE:
        raise ValidationError(
            N_("当前状态为“%(state_label)s”，不能撤回"), "state", state_label=entry.state_label
        )
    return _move(entry, "withdrawn", user, None, "challenge.withdraw")


# -- the enterprise's decisions ------------------------------------------------------------------


def shortlist(
    entry: ChallengeSubmission,
    user: User,
    note: str = "",
    expected_version: int | None = None,
    *,
    now: datetime | None = None,
) -> ChallengeSubmission:
    """入围: the enterprise marks an entry for a closer look."""
    require(user, "challenge.decide", entry.demand)
    note = _clean_note(note)
    _check_version(entry, expected_version)
    _check_undecided(entry)
    if entry.state != "submitted":
        raise ValidationError(
            N_("当前状态为“%(state_label)s”，不能入围"), "state", state_label=entry.state_label
        )
    return _move(entry, "shortlisted", user, note, "challenge.shortlist", now=now)


def pick_winner(
    entry: ChallengeSubmission,
    user: User,
    note: str = "",
    expected_version: int | None = None,
    *,
    now: datetime | None = None,
) -> ChallengeSubmission:
    """选定揭榜方: exactly one winner; every other live entry becomes not_selected."""
    require(user, "challenge.decide", entry.demand)
    note = _clean_note(note)
    _check_version(entry, expected_version)
    _check_undecided(entry)
    if entry.state not in LIVE:
        raise ValidationError(
            N_("当前状态为“%(state_label)s”，不能选定为揭榜方"),
            "state",
            state_label=entry.state_label,
        )
    others = db.session.scalars(
        select(ChallengeSubmission).where(
            ChallengeSubmission.demand_id == entry.demand_id,
            ChallengeSubmission.id != entry.id,
            ChallengeSubmission.state.in_(LIVE),
        )
    ).all()
    now = now or utcnow()
    for other in others:
        _move(other, "not_selected", user, None, "challenge.not_selected", now=now)
    _move(entry, "winner", user, note, "challenge.winner", now=now)
    entry.match = propose_winner(entry, user, now=now)
    _flush(DECIDED)
    return entry


def propose_winner(entry: ChallengeSubmission, user: User, *, now: datetime | None = None) -> Match:
    """The winning pair goes to the brokers' review queue as a proposal (reused if it exists)."""
    match = db.session.scalar(
        select(Match).where(
            Match.demand_id == entry.demand_id, Match.outcome_id == entry.outcome_id
        )
    )
    params = {"title": entry.outcome.title}
    # The template and its values are stored beside the text, so pages can translate it.
    explanation = {
        "sentence": WINNER_SENTENCE % params,
        "sentence_template": WINNER_SENTENCE,
        "sentence_params": params,
        "challenge_submission": entry.id,
    }
    if match is None:
        match = Match(
            demand_id=entry.demand_id,
            outcome_id=entry.outcome_id,
            score=1.0,
            components={"challenge": 1.0},
            explanation=explanation,
            complexity=0.0,
            stage="proposed",
            model_version=MATCH_VERSION,
            created_at=now or utcnow(),
        )
        db.session.add(match)
    elif match.stage == "withdrawn":
        match.stage = "proposed"
    # A broker's earlier accept or reject stands; the winner shows on the challenge page.
    _flush(DECIDED)
    audit.record(user.id, "challenge.propose", match, after={"submission": entry.id})
    return match


def _clean_note(note: str | None) -> str | None:
    return clean_text(note, "note", "决定说明", NOTE_LIMIT, required=False)


def _check_version(entry: ChallengeSubmission, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != entry.version_id:
        raise Conflict(STALE)


def _check_undecided(entry: ChallengeSubmission) -> None:
    if winner_of(entry.demand) is not None:
        raise Conflict(DECIDED)


def _move(
    entry: ChallengeSubmission,
    state: str,
    user: User,
    note: str | None,
    action: str,
    now: datetime | None = None,
) -> ChallengeSubmission:
    before = audit.snapshot(entry, AUDITED)
    entry.state, entry.decided_by, entry.decided_at = state, user.id, now or utcnow()
    if state != "not_selected":
        entry.decision_note = note
    _flush(STALE)
    audit.record(user.id, action, entry, before=before, after=audit.snapshot(entry, AUDITED))
    return entry


def _flush(message: str) -> None:
    try:
        db.session.flush()
    except StaleDataError as e:
        raise Conflict(STALE) from e
    except IntegrityError as e:
        raise Conflict(message) from e


# -- lists ---------------------------------------------------------------------------------------


def _ordered(stmt) -> list[ChallengeSubmission]:
    rows = db.session.scalars(
        stmt.options(
            joinedload(ChallengeSubmission.outcome), joinedload(ChallengeSubmission.organization)
        ).order_by(ChallengeSubmission.created_at, ChallengeSubmission.id)
    ).all()
    return sorted(rows, key=lambda s: STATE_ORDER[s.state])


def for_demand(demand: Demand, user: User) -> list[ChallengeSubmission]:
    """All entries of a challenge: winner, shortlist, the rest; for its owner and staff."""
    require(user, "challenge.view_submissions", demand)
    return _ordered(select(ChallengeSubmission).where(ChallengeSubmission.demand_id == demand.id))


def for_organization(org_id: int, demand_id: int | None = None) -> list[ChallengeSubmission]:
    """An institution's own entries (optionally on one challenge), newest first."""
    stmt = select(ChallengeSubmission).where(ChallengeSubmission.organization_id == org_id)
    if demand_id is not None:
        stmt = stmt.where(ChallengeSubmission.demand_id == demand_id)
    stmt = stmt.options(
        joinedload(ChallengeSubmission.demand), joinedload(ChallengeSubmission.outcome)
    )
    return list(
        db.session.scalars(
            stmt.order_by(ChallengeSubmission.created_at.desc(), ChallengeSubmission.id.desc())
        )
    )


PICKER_SIZE = 50  # outcomes a 揭榜 picker shows at once; more are found by searching or paging


def eligible_outcomes(
    org_id: int, demand: Demand, query: str = "", page: int = 1, per_page: int = PICKER_SIZE
) -> Page:
    """The institution's published outcomes not already entered (live) on this challenge,
    those the matcher proposed for this demand first (best first), then by title; ``query``
    narrows them by title."""
    entered = select(ChallengeSubmission.outcome_id).where(
        ChallengeSubmission.demand_id == demand.id, ChallengeSubmission.state != "withdrawn"
    )
    where = [
        Outcome.organization_id == org_id,
        Outcome.status == "published",
        Outcome.id.not_in(entered),
    ]
    query = (query or "").strip()[:100]
    if query:
        where.append(Outcome.title.like(like_pattern(query), escape="\\"))
    total = db.session.scalar(select(func.count(Outcome.id)).where(*where)) or 0
    page = max(1, min(page, -(-total // per_page) or 1))
    proposed = (
        select(Match.outcome_id, func.max(Match.score).label("score"))
        .where(Match.demand_id == demand.id)
        .group_by(Match.outcome_id)
        .subquery()
    )
    stmt = (
        select(Outcome)
        .outerjoin(proposed, proposed.c.outcome_id == Outcome.id)
        .where(*where)
        .order_by(proposed.c.score.is_(None), proposed.c.score.desc(), Outcome.title, Outcome.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(db.session.scalars(stmt)), total, page, per_page)
