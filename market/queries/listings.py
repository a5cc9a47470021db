"""Listing pages: filtered, searched and paginated selects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from models import Demand, Industry, IpcCode, Organization, Outcome, db

from ..policy import demand_shelf, listed_demands, open_demands
from ..urls import page_number


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass
class ListingFilter:
    q: str = ""
    field: str = ""
    region: str = ""
    maturity: str = ""
    scenario_type: str = ""
    challenge: bool = False  # 揭榜挂帅 only
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_args(cls, args, per_page: int = 20) -> ListingFilter:
        page = page_number(args.get("page"))
        return cls(
            q=(args.get("q") or "").strip()[:100],
            field=args.get("field", ""),
            region=args.get("region", ""),
            maturity=args.get("maturity", ""),
            scenario_type=args.get("scenario_type", ""),
            challenge=args.get("challenge") in ("1", "on", "true"),
            page=page,
            per_page=per_page,
        )

    @classmethod
    def from_api(cls, args: dict) -> ListingFilter:
        """From an API list's validated arguments (a kind without a filter keeps its default)."""
        return cls(
            q=args["q"].strip(),
            field=args["field"],
            region=args["region"],
            maturity=args.get("maturity", ""),
            scenario_type=args.get("scenario_type", ""),
            challenge=bool(args.get("challenge")),
            page=args["page"],
            per_page=args["per_page"],
        )


def _paginate(stmt: Select, flt: ListingFilter) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.offset((flt.page - 1) * flt.per_page).limit(flt.per_page)).all()
    return Page(list(items), total or 0, flt.page, flt.per_page)


def like_pattern(text: str) -> str:
    """A LIKE pattern finding ``text`` anywhere, its wildcards taken literally (escape "\\")."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _region(stmt: Select, model, region: str) -> Select:
    if not region:
        return stmt
    return stmt.where(or_(model.province == region, model.city == region))


def public_demands(
    flt: ListingFilter, viewer=None, *, include_restricted: bool | None = None
) -> Page:
    """The demands ``viewer`` finds in the public lists and search (``policy.listed_demands``).

    ``include_restricted`` is the API's older way to say the viewer is staff, the answer of
    ``can(user, "demand.view_confidential")``; it wins over ``viewer`` when given.
    """
    if include_restricted is None:
        stmt = select(Demand).where(listed_demands(viewer))
    else:
        stmt = select(Demand).where(demand_shelf(include_restricted))
    if flt.q:
        pattern = like_pattern(flt.q)
        stmt = stmt.where(
            or_(
                Demand.title.like(pattern, escape="\\"),
                Demand.description.like(pattern, escape="\\"),
            )
        )
    if flt.field:
        stmt = stmt.where(Demand.field == flt.field)
    if flt.scenario_type:
        stmt = stmt.where(Demand.scenario_type == flt.scenario_type)
    if flt.challenge:
        stmt = stmt.where(Demand.reward_fen > 0)
    if flt.maturity:
        stmt = stmt.where(Demand.required_maturity == flt.maturity)
    stmt = _region(stmt, Demand, flt.region)
    return _paginate(stmt.order_by(Demand.created_at.desc(), Demand.id.desc()), flt)


def public_outcomes(flt: ListingFilter) -> Page:
    stmt = select(Outcome).where(Outcome.status == "published")
    if flt.q:
        pattern = like_pattern(flt.q)
        stmt = stmt.where(
            or_(
                Outcome.title.like(pattern, escape="\\"),
                Outcome.abstract.like(pattern, escape="\\"),
            )
        )
    if flt.field:
        stmt = stmt.where(Outcome.field == flt.field)
    if flt.maturity:
        stmt = stmt.where(Outcome.maturity == flt.maturity)
    stmt = _region(stmt, Outcome, flt.region)
    return _paginate(stmt.order_by(Outcome.id.desc()), flt)


def demand_fields() -> list[str]:
    return list(
        db.session.scalars(
            select(Demand.field).where(Demand.field.is_not(None)).distinct().order_by(Demand.field)
        )
    )


def regions() -> list[str]:
    cities = db.session.scalars(
        select(Organization.city).where(Organization.city.is_not(None)).distinct()
    )
    return sorted(set(cities))


def home_lists(latest: int = 6) -> dict:
    # The 三张清单 on the home page show the same to everyone, staff included.
    demands = select(Demand).where(open_demands())
    outcomes = select(Outcome).where(Outcome.status == "published")
    return {
        "demand_count": _count(demands),
        "outcome_count": _count(outcomes),
        "latest_demands": db.session.scalars(
            demands.order_by(Demand.created_at.desc(), Demand.id.desc()).limit(latest)
        ).all(),
        "latest_outcomes": db.session.scalars(
            outcomes.order_by(Outcome.id.desc()).limit(latest)
        ).all(),
    }


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


@dataclass(frozen=True)
class Classification:
    """A demand's codes with their Chinese names, for its public page."""

    industry: Industry | None
    ipc: list[IpcCode]


def demand_classification(demand: Demand) -> Classification:
    industry = db.session.get(Industry, demand.industry_code) if demand.industry_code else None
    codes = list(demand.ipc_codes or [])
    found = {c.code: c for c in db.session.scalars(select(IpcCode).where(IpcCode.code.in_(codes)))}
    return Classification(industry, [found[c] for c in codes if c in found])
