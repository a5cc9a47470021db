"""Input facts for drafting: the outcome (科技成果), its patents, the licensee and revenue scenarios.

Money is integer fen (分); rates are integer basis points (1% = 100 bps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from market.licensing.errors import MissingFacts
from models.enums import MATURITY, ORG_KINDS, PATENT_KINDS, RESEARCH_TYPES


@dataclass(frozen=True)
class PatentFacts:
    number: str
    kind: str
    granted_on: date | None
    expires_on: date
    in_force: bool = True

    def __post_init__(self) -> None:
        if self.kind not in PATENT_KINDS:
            raise MissingFacts(f"未知专利类型 {self.kind!r}")

    def alive_on(self, day: date) -> bool:
        """In force and not yet expired on `day` (a licence needs a live right)."""
        return self.in_force and self.expires_on > day


@dataclass(frozen=True)
class OutcomeFacts:
    maturity: str
    patents: tuple[PatentFacts, ...] = ()
    asking_price_fen: int | None = None
    valuation_fen: int | None = None
    owner_kind: str = "university"
    ownership_shared_with_team: bool = False
    fiscal_funded: bool = False
    implemented: bool = False
    in_use_first_pool: bool = False
    field_code: str = ""
    ref: str | None = None
    # 赋权 recorded on the outcome: the completers' ownership share under 按份共有 (bps), or the
    # years of a long-term use right granted to them.
    team_ownership_bps: int | None = None
    use_right_years: int | None = None
    # 到期即转 scope: the research type (None when not stated) and whether an enterprise owner
    # is state-owned (国有企业).
    research_type: str | None = None
    owner_state_owned: bool = False

    def __post_init__(self) -> None:
        if self.research_type is not None and self.research_type not in RESEARCH_TYPES:
            raise MissingFacts(f"未知研究类型 {self.research_type!r}")
        if self.team_ownership_bps is not None and not 0 <= self.team_ownership_bps <= 10000:
            raise MissingFacts("赋权份额须在0%至100%之间")
        if self.use_right_years is not None and self.use_right_years < 1:
            raise MissingFacts("长期使用权年限须至少为1年")
        if self.maturity not in MATURITY:
            raise MissingFacts(f"未知成熟度 {self.maturity!r}")
        if self.owner_kind not in ORG_KINDS:
            raise MissingFacts(f"未知权利人类型 {self.owner_kind!r}")
        for amount in (self.asking_price_fen, self.valuation_fen):
            if amount is not None and amount < 0:
                raise MissingFacts("报价或估值不能为负")

    @property
    def base_price_fen(self) -> int | None:
        """The asking price when given, else the valuation: the basis of price-relative terms."""
        return self.asking_price_fen if self.asking_price_fen is not None else self.valuation_fen

    @property
    def effective_research_type(self) -> str | None:
        """The stated research type; with patents and none stated, 应用技术 (platform default,
        as models.listings.Outcome.effective_research_type)."""
        if self.research_type is None and self.patents:
            return "applied"
        return self.research_type

    def live_patents(self, day: date) -> tuple[PatentFacts, ...]:
        return tuple(p for p in self.patents if p.alive_on(day))

    def latest_expiry(self, day: date) -> date | None:
        """Last expiry among live patents; None when the outcome lists no patent at all."""
        live = self.live_patents(day)
        return max(p.expires_on for p in live) if live else None


@dataclass(frozen=True)
class RevenueScenario:
    """Licensee net sales per contract year (year 1 first); later years repeat the last value."""

    name: str
    net_sales_fen: tuple[int, ...]
    profit_margin_bps: int = 2000
    pilot_done_year: int | None = None
    first_unit_year: int | None = None

    def __post_init__(self) -> None:
        if any(v < 0 for v in self.net_sales_fen):
            raise MissingFacts("销售收入不能为负")
        if not 0 <= self.profit_margin_bps <= 10000:
            raise MissingFacts("利润率须在 0–100% 之间")

    def sales_in(self, year: int) -> int:
        if not self.net_sales_fen:
            return 0
        return self.net_sales_fen[min(year, len(self.net_sales_fen)) - 1]


@dataclass(frozen=True)
class LicenseeFacts:
    is_sme: bool = True
    region: str = ""
    budget_fen: int | None = None
    expected_revenue: RevenueScenario | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.budget_fen is not None and self.budget_fen < 0:
            raise MissingFacts(f"企业预算不能为负（{self.budget_fen}分）")


def scenario_band(
    base: RevenueScenario, low_bps: int = 5000, high_bps: int = 15000
) -> tuple[RevenueScenario, RevenueScenario, RevenueScenario]:
    """Low/base/high scenarios scaled from one base case (低/基准/高)."""

    def scaled(name: str, bps: int) -> RevenueScenario:
        sales = tuple(v * bps // 10000 for v in base.net_sales_fen)
        return RevenueScenario(
            name, sales, base.profit_margin_bps, base.pilot_done_year, base.first_unit_year
        )

    return scaled("low", low_bps), scaled("base", 10000), scaled("high", high_bps)


__all__ = [
    "LicenseeFacts",
    "OutcomeFacts",
    "PatentFacts",
    "RevenueScenario",
    "scenario_band",
]
