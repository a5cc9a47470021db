"""分级保密, the vetted → full step: a 脱敏 demand withholds who posted it. An institution that
wants to talk to the poster asks for full access, stating why and accepting the platform's
confidentiality undertaking (NDA_TEXT, versioned); the owner grants or refuses, and may revoke a
grant at any time. Every step is audited, and so is every look at the full information.
Brokers and admins already see everything and never need to ask. Flushes only."""

from __future__ import annotations

from sqlalchemy import select

from market.policy import can, require
from models import Demand, DemandAccess, User, ValidationError, db, utcnow
from models.enums import N_
from models.listings import clean_text
from models.workflow import NDA_VERSION

from . import audit

PURPOSE_LIMIT = 500
NOTE_LIMIT = 500
NDA_TEXT = (
    "本单位承诺：仅为评估和洽谈本需求的合作使用发布方的身份和联系信息；不向第三方披露，"
    "不用于其他目的；洽谈结束或发布方撤销授权后不再使用并删除留存的信息。"
)
AUDITED = ["state", "decided_by", "decision_note"]


def request_for(demand: Demand, org_id: int | None) -> DemandAccess | None:
    """The organisation's request on this demand, whatever its state."""
    if org_id is None:
        return None
    return db.session.scalar(
        select(DemandAccess).where(
            DemandAccess.demand_id == demand.id, DemandAccess.organization_id == org_id
        )
    )


def ask(demand: Demand, user: User, purpose: str, nda_accepted: bool) -> DemandAccess:
    """An institution asks to see who posted a 脱敏 demand; asking again after a refusal or a
    revocation reopens the same record (one per organisation and demand keeps the history)."""
    require(user, "demand.request_access", demand)
    if demand.status != "published" or demand.confidentiality != "desensitized":
        raise ValidationError(N_("只有已发布的脱敏需求可以申请查看完整信息"), "demand_id")
    purpose = clean_text(purpose, "purpose", "申请理由", PURPOSE_LIMIT)
    if not nda_accepted:
        raise ValidationError(N_("请阅读并同意保密承诺后再申请"), "nda")
    access = request_for(demand, user.organization_id)
    if access is not None and access.state in ("requested", "granted"):
        raise ValidationError(
            N_("已有申请：%(state_label)s"), "demand_id", state_label=access.state_label
        )
    before = audit.snapshot(access, AUDITED) if access else None
    if access is None:
        access = DemandAccess(demand_id=demand.id, organization_id=user.organization_id)
        db.session.add(access)
    access.requested_by, access.purpose = user.id, purpose
    access.nda_version, access.nda_accepted_at = NDA_VERSION, utcnow()
    access.state, access.decided_by, access.decided_at, access.decision_note = (
        "requested",
        None,
        None,
        None,
    )
    db.session.flush()
    audit.record(
        user.id,
        "demand_access.request",
        access,
        before=before,
        after={"state": "requested", "demand": demand.id, "nda_version": NDA_VERSION},
    )
    return access


def decide(access: DemandAccess, user: User, decision: str, note: str = "") -> DemandAccess:
    """The owner answers: ``grant`` or ``refuse`` a pending request, or ``revoke`` a grant."""
    require(user, "demand.decide_access", access.demand)
    moves = {"grant": ("requested", "granted"), "refuse": ("requested", "refused")}
    moves["revoke"] = ("granted", "revoked")
    if decision not in moves:
        raise ValidationError(N_("请选择授权、拒绝或撤销"), "decision")
    source, target = moves[decision]
    if access.state != source:
        raise ValidationError(
            N_("当前状态为“%(state_label)s”，不能这样处理"),
            "decision",
            state_label=access.state_label,
        )
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise ValidationError(N_("说明不能超过%(note_limit)s个字"), "note", note_limit=NOTE_LIMIT)
    if decision == "refuse" and not note:
        raise ValidationError(N_("拒绝时请简要说明理由，申请方会看到"), "note")
    before = audit.snapshot(access, AUDITED)
    access.state, access.decided_by, access.decided_at = target, user.id, utcnow()
    access.decision_note = note or None
    db.session.flush()
    audit.record(
        user.id, f"demand_access.{decision}", access, before=before, after={"state": target}
    )
    return access


def record_view(demand: Demand, user) -> None:
    """Audit a look at the full information through a grant (owners and staff are not logged
    here: they see it by right)."""
    if can(user, "demand.view_confidential", demand):
        return
    audit.record(
        user.id, "demand_access.view", demand, after={"organization": user.organization_id}
    )


def for_owner(org_id: int) -> list[DemandAccess]:
    """Requests on the organisation's demands: pending first, then newest."""
    stmt = (
        select(DemandAccess)
        .join(DemandAccess.demand)
        .where(Demand.organization_id == org_id)
        .order_by(DemandAccess.state != "requested", DemandAccess.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def pending_count(org_id: int) -> int:
    return sum(1 for a in for_owner(org_id) if a.state == "requested")
