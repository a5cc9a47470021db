"""请经纪人牵线对接: a party asks the brokers to introduce the two sides of a proposal, a broker
accepts (and will contact both) or declines with a reason, and everyone concerned is notified.
Flushes, never commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from market.policy import can, may_see_demand_organization, require
from models import Conflict, IntroRequest, Match, User, ValidationError, db, utcnow
from models.enums import N_

from . import audit, notifications

log = logging.getLogger(__name__)

OPEN_STAGES = ("proposed", "accepted")
MESSAGE_MAX = 1000
ALREADY_ASKED = "已请求经纪人牵线，请等待经纪人答复"
ALREADY_ANSWERED = "该牵线请求已由经纪人答复（{state}）"


def intro_of(match: Match) -> IntroRequest | None:
    return db.session.scalar(select(IntroRequest).where(IntroRequest.match_id == match.id))


def intros_for(matches: Iterable[Match]) -> dict[int, IntroRequest]:
    """The intro requests of several proposals, by match id (for a queue page)."""
    ids = [m.id for m in matches]
    if not ids:
        return {}
    rows = db.session.scalars(select(IntroRequest).where(IntroRequest.match_id.in_(ids)))
    return {r.match_id: r for r in rows}


def may_request(user: User, match: Match, intro: IntroRequest | None) -> bool:
    """Whether ``user`` may ask now: a party, an open proposal, no request waiting or answered
    yes (a refusal may be followed by a new request)."""
    return (
        can(user, "match.request_intro", match)
        and match.stage in OPEN_STAGES
        and (intro is None or intro.state == "declined")
    )


def request_introduction(match: Match, user: User, message: str = "") -> IntroRequest:
    """Store ``user``'s request for an introduction and notify the brokers and the other side.

    Asking again while a request waits is a Conflict; after a refusal it reopens the request."""
    require(user, "match.request_intro", match)
    if match.stage not in OPEN_STAGES:
        raise ValidationError(N_("该推荐已不在对接流程中，无法请求牵线"))
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationError(
            N_("留言不能超过%(message_max)s个字"), "message", message_max=MESSAGE_MAX
        )
    intro = intro_of(match)
    if intro is not None and intro.state != "declined":
        raise Conflict(ALREADY_ASKED if intro.pending else _answered(intro))
    if intro is None:
        intro = IntroRequest(match_id=match.id)
        db.session.add(intro)
    intro.requested_by, intro.organization_id = user.id, user.organization_id
    intro.message, intro.requested_at, intro.state = message or None, utcnow(), "requested"
    intro.answered_by = intro.answered_at = intro.answer_note = None
    db.session.flush()
    audit.record(
        user.id,
        "match.request_intro",
        match,
        after={"organization_id": user.organization_id, "message": intro.message},
    )
    _notify(intro, "intro_requested", _brokers())
    _notify(intro, "intro_requested", _other_side(intro))
    return intro


def answer_introduction(intro: IntroRequest, user: User, accept: bool, note: str = "") -> None:
    """A broker's answer: accepted (will contact both sides) or declined with a reason."""
    require(user, "match.answer_intro", intro.match)
    if not intro.pending:
        raise Conflict(_answered(intro))
    note = (note or "").strip()
    if not accept and not note:
        raise ValidationError(N_("婉拒时请说明原因，对方会看到这段说明"), "note")
    if len(note) > MESSAGE_MAX:
        raise ValidationError(
            N_("说明不能超过%(message_max)s个字"), "note", message_max=MESSAGE_MAX
        )
    intro.state = "accepted" if accept else "declined"
    intro.answered_by, intro.answered_at, intro.answer_note = user.id, utcnow(), note or None
    db.session.flush()
    audit.record(
        user.id, "match.answer_intro", intro.match, after={"state": intro.state, "note": note}
    )
    kind = f"intro_{intro.state}"
    _notify(intro, kind, _requesting_side(intro))
    if accept:
        _notify(intro, kind, _other_side(intro))


def _answered(intro: IntroRequest) -> str:
    return ALREADY_ANSWERED.format(state=intro.state_label)


def _notify(intro: IntroRequest, kind: str, users: list[User]) -> None:
    """Each recipient's sentence names only what that recipient may see of the proposal."""
    match = intro.match
    for user in users:
        data = {
            "demand": match.demand.title,
            "outcome": match.outcome.title,
            "note": intro.answer_note or intro.message or "",
        }
        if may_see_requester(user, intro):
            data["org"] = intro.organization.name
        notifications.notify([user], kind, match, data)


def may_see_requester(user: User, intro: IntroRequest) -> bool:
    """Whether ``user`` is told which organisation asked (a 脱敏 demand's poster stays hidden)."""
    demand = intro.match.demand
    if intro.organization_id != demand.organization_id:
        return True  # the outcome's owner asked: institutions are named on every page
    return may_see_demand_organization(user, demand)


def _brokers() -> list[User]:
    stmt = select(User).where(User.role == "broker", User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(stmt))


def _members(organization_id: int | None) -> list[User]:
    if organization_id is None:
        return []
    stmt = select(User).where(User.organization_id == organization_id, User.active.is_(True))
    return list(db.session.scalars(stmt.order_by(User.id)))


def _requesting_side(intro: IntroRequest) -> list[User]:
    return _members(intro.organization_id)


def _other_side(intro: IntroRequest) -> list[User]:
    """The other party's users who may see the proposal (a 仅经纪人可见 demand stays hidden)."""
    match = intro.match
    sides = {match.demand.organization_id, match.outcome.organization_id}
    other = next((org for org in sides if org != intro.organization_id), None)
    return [u for u in _members(other) if can(u, "match.view", match)]
