"""Who may do what: one module answers every (role, action, resource) question.

Pages, the API and the CLI all ask ``can``/``require`` here, so a rule changes in one place.
Resources are model instances (or None for actions on a collection). Ownership means the user
belongs to the organisation that owns the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, select

from models import Demand, DemandAccess, Forbidden, db
from models.enums import N_

Rule = Callable[[Any, Any], bool]


def _role(*roles: str) -> Rule:
    return lambda user, _resource: user.role in roles


def _member_of_approved_org(*kinds: str) -> Rule:
    def check(user, _resource) -> bool:
        org = user.organization
        return org is not None and org.approved and org.kind in kinds

    return check


def _owner(user, resource) -> bool:
    org_id = getattr(resource, "organization_id", None)
    return org_id is not None and user.organization_id == org_id


def _any(*rules: Rule) -> Rule:
    return lambda user, resource: any(rule(user, resource) for rule in rules)


def _all(*rules: Rule) -> Rule:
    return lambda user, resource: all(rule(user, resource) for rule in rules)


def _not_owner(user, resource) -> bool:
    return user.organization_id is not None and user.organization_id != resource.organization_id


def _party_to_match(user, match) -> bool:
    orgs = {match.demand.organization_id, match.outcome.organization_id}
    return user.organization_id in orgs


def _sees_proposal(user, match) -> bool:
    """A party to the pair, except that a 仅经纪人可见 demand reaches the outcome's side only
    through a broker: its machine proposals stay hidden until a broker accepts one."""
    if user.organization_id == match.demand.organization_id:
        return True
    hidden = match.demand.confidentiality == "broker_only" and match.stage != "accepted"
    return not hidden and user.organization_id == match.outcome.organization_id


def _sees_bundle(user, bundle) -> bool:
    """Like a proposal: the demand's owner, and the outcomes' organisation unless the demand is
    仅经纪人可见 and no broker has accepted the bundle."""
    if user.organization_id == bundle.demand.organization_id:
        return True
    hidden = bundle.demand.confidentiality == "broker_only" and bundle.stage != "accepted"
    return not hidden and user.organization_id == bundle.organization_id


def _party_to_deal(user, deal) -> bool:
    return _party_to_match(user, deal.match)


def _party_to_sheet(user, sheet) -> bool:
    if sheet.match is not None:
        return _party_to_match(user, sheet.match)
    return user.organization_id == sheet.outcome.organization_id


def _demand_owner(user, submission) -> bool:
    return user.organization_id == submission.demand.organization_id


staff = _role("broker", "admin")
admin = _role("admin")
RESEARCH_KINDS = ("university", "institute", "hospital")

RULES: dict[str, Rule] = {
    # listings
    "demand.create": _all(_role("enterprise"), _member_of_approved_org("enterprise")),
    "demand.edit": _any(admin, _all(_role("enterprise"), _owner)),
    "demand.view_confidential": _any(staff, _owner),
    "demand.see_proposals": _any(staff, _owner),
    # 分级保密: institutions ask to see who posted a 脱敏 demand; the owner decides
    "demand.request_access": _all(_role("institution"), _not_owner),
    "demand.decide_access": _all(_role("enterprise"), _owner),
    "outcome.create": _all(_role("institution"), _member_of_approved_org(*RESEARCH_KINDS)),
    "outcome.edit": _any(admin, _all(_role("institution"), _owner)),
    "outcome.see_proposals": _any(staff, _owner),
    "outcome.view_unpublished": _any(staff, _owner),
    "outcome.import": _all(_role("institution"), _member_of_approved_org(*RESEARCH_KINDS)),
    "outcome.consent_use_first": _all(_role("institution"), _owner),
    # workspaces (the pages; posting still needs an approved organisation)
    "workspace.enterprise": _role("enterprise"),
    "workspace.institution": _role("institution"),
    "import.view": _any(admin, _all(_role("institution"), _owner)),
    # matching and deals
    "match.review": staff,
    "match.view": _any(staff, _sees_proposal),
    "match.request_intro": _sees_proposal,
    "match.answer_intro": staff,
    "bundle.view": _any(staff, _sees_bundle),
    "bundle.review": staff,
    "termsheet.create": staff,
    "termsheet.edit": _any(staff, _party_to_sheet),
    "termsheet.view": _any(staff, _party_to_sheet),
    "termsheet.export": _any(staff, _party_to_sheet),
    "broker.cockpit": staff,
    "use_first.consents": _role("institution"),
    "deal.view": _any(staff, _party_to_deal),
    "deal.move": staff,
    "deal.reward": staff,
    "notice.open": staff,
    "notice.resolve_objection": staff,
    # 揭榜挂帅: institutions enter outcomes, the posting enterprise decides, staff look on
    "challenge.submit": _all(_role("institution"), _member_of_approved_org(*RESEARCH_KINDS)),
    "challenge.withdraw": _all(_role("institution"), _owner),
    "challenge.decide": _any(admin, _all(_role("enterprise"), _owner)),
    "challenge.view_submissions": _any(staff, _owner),
    "challenge.view_submission": _any(staff, _owner, _demand_owner),
    # operations
    "org.approve": admin,
    "audit.view": admin,
    "case.publish": admin,
    "use_first.sweep": admin,
    "policy.edit": admin,
    "token.revoke_any": admin,
    "dashboard.view": staff,
}

ACTIONS = tuple(RULES)


def can(user, action: str, resource: Any = None) -> bool:
    """True when ``user`` may perform ``action`` on ``resource``; anonymous users may not."""
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"unknown action {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(rule(user, resource))


def require(user, action: str, resource: Any = None) -> None:
    if not can(user, action, resource):
        raise Forbidden(N_("您没有权限进行此操作"), None)


# ---- what a viewer sees of a demand: the confidentiality tiers -------------------------------
# A published 公开 or 脱敏 demand is open to everyone, anonymous visitors included, but a 脱敏 one
# withholds the posting organisation. The rest — 仅经纪人可见 demands, drafts, closed ones and a
# 脱敏 demand's organisation — needs ``demand.view_confidential``: the owner and staff. Asked of
# the collection (no demand) that action is staff only: they also find 仅经纪人可见 demands in the
# public lists and search, where owners do not (theirs are in the workspace). A tier missing
# from these tuples is hidden: new tiers fail closed.
OPEN_TIERS = ("public", "desensitized")
NAMED_TIERS = ("public",)


def may_view_demand(user, demand: Demand) -> bool:
    """The demand exists for ``user`` (pages and API answer 404 otherwise)."""
    return _open(demand) or can(user, "demand.view_confidential", demand)


def may_see_demand_organization(user, demand: Demand) -> bool:
    """``user`` is told which organisation posted the demand: a named tier, the owner and
    staff, or an organisation the owner granted full access to (分级保密)."""
    if demand.confidentiality in NAMED_TIERS or can(user, "demand.view_confidential", demand):
        return True
    return demand.confidentiality == "desensitized" and _open(demand) and holds_grant(user, demand)


def holds_grant(user, demand: Demand) -> bool:
    """``user``'s organisation was granted full access to the demand by its owner."""
    if not getattr(user, "is_authenticated", False) or user.organization_id is None:
        return False
    granted = select(DemandAccess.id).where(
        DemandAccess.demand_id == demand.id,
        DemandAccess.organization_id == user.organization_id,
        DemandAccess.state == "granted",
    )
    return db.session.scalar(granted) is not None


def open_demands() -> ColumnElement[bool]:
    """SQL twin of the open half of ``may_view_demand``: what everyone sees listed."""
    return and_(Demand.status == "published", Demand.confidentiality.in_(OPEN_TIERS))


def listed_demands(user) -> ColumnElement[bool]:
    """SQL condition for the demands ``user`` finds in the public lists and search."""
    return demand_shelf(can(user, "demand.view_confidential"))


def demand_shelf(restricted: bool) -> ColumnElement[bool]:
    """SQL: published demands of every tier when ``restricted`` (staff), else the open ones."""
    return Demand.status == "published" if restricted else open_demands()


def _open(demand: Demand) -> bool:
    return demand.status == "published" and demand.confidentiality in OPEN_TIERS
