"""Count term-sheet rule breaks over random drafts and random edits (issue 18's measurement).

    python scripts/measure_terms.py [--combos 2400] [--seed 18]

Drafts random (outcome, licensee, profile, mode, fee form, date) combinations through
`market.licensing.draft_terms`, applies random edits through `apply_edit`, and checks every
drafted sheet and every accepted edit against the issue's rules, written here independently of
the engine's own validation. Prints counts per rule; exits 0 either way (it measures, not tests).
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from market.licensing import (
    LicenseeFacts,
    LicensingError,
    OutcomeFacts,
    PatentFacts,
    apply_edit,
    draft_terms,
    load_profiles,
)
from market.licensing.dates import add_months

POLICY_DIR = Path(__file__).resolve().parents[1] / "seed_data" / "policies"
MODES = ("use_first", "license", "open_license", "transfer", "equity")
FEE_FORMS = (None, "milestone_royalty", "deferred", "royalty", "lump_sum")
OWNERS = ("university", "institute", "hospital", "enterprise", "service")
STATE_OWNERS = ("university", "institute")
PRE_REVENUE = ("pilot_done", "first_unit")
EVENT_ORDER = ("pilot_done", "first_unit", "first_revenue", "revenue_at_least")
SPECIAL_DAYS = (date(2028, 2, 29), date(2027, 1, 31), date(2026, 12, 31), date(2027, 8, 31))


def random_day(rng: random.Random) -> date:
    if rng.random() < 0.3:
        return rng.choice(SPECIAL_DAYS)
    return date(2024, 1, 1) + timedelta(days=rng.randrange(365 * 8))


def random_case(rng: random.Random, keys: list[str]) -> dict:
    today = random_day(rng)
    patents = tuple(
        PatentFacts(
            f"ZL{i}",
            rng.choice(("invention", "utility")),
            today - timedelta(days=rng.randrange(1, 4000)),
            add_months(today, rng.randrange(12, 240)),
            rng.random() < 0.95,
        )
        for i in range(rng.randrange(0, 3))
    )
    outcome = OutcomeFacts(
        maturity=rng.choice(("lab", "pilot", "industrial")),
        patents=patents,
        asking_price_fen=rng.choice((None, 0, *[rng.randrange(1, 10**11)] * 8)),
        valuation_fen=rng.choice((None, rng.randrange(1, 10**10))),
        owner_kind=rng.choice(OWNERS),
        ownership_shared_with_team=rng.random() < 0.3,
        fiscal_funded=rng.random() < 0.5,
        field_code=rng.choice(("", "H01M", "A61K")),
    )
    licensee = LicenseeFacts(
        is_sme=rng.random() < 0.7, budget_fen=rng.choice((None, rng.randrange(0, 10**9)))
    )
    return {
        "outcome": outcome,
        "licensee": licensee,
        "mode": rng.choice(MODES),
        "key": rng.choice(keys),
        "today": today,
        "fee_form": rng.choice(FEE_FORMS),
    }


def longest_free_months(sheet) -> int:
    window = sheet.value("free_window_months")
    if sheet.value("free_window_until_first_revenue"):
        return max(window, sheet.value("free_window_max_months"))
    return window


def consideration_fen(sheet) -> int:
    royalty = sheet.value("royalty_base") != "none" and (
        sheet.value("royalty_rate") > 0 or sheet.value("annual_minimum") > 0
    )
    equity = sheet.terms.get("equity_value")  # 作价入股 is paid in shares (absent before issue 18)
    shares = (equity.value or 0) if equity is not None else 0
    return sheet.value("fixed_fee_total") + (1 if royalty else 0) + shares


def breaks(sheet, outcome, licensee) -> set[str]:
    """The issue's rules, checked from the sheet's values (not through the engine's validate)."""
    found = set()
    mode, start = sheet.mode, sheet.value("start_on")
    if consideration_fen(sheet) <= 0:
        found.add("1 no consideration")
    if mode == "use_first":
        if sheet.value("entry_fee") != 0:
            found.add("4 use_first entry fee not 0")
        if sheet.value("free_window_until_first_revenue") and any(
            m.event in PRE_REVENUE for m in sheet.milestones
        ):
            found.add("2 milestone before first revenue inside free window")
        window_end = add_months(start, longest_free_months(sheet))
        if any(i.due_on.value < window_end for i in sheet.deferred_schedule):
            found.add("2 instalment inside free window")
    if sheet.deferred_schedule and sheet.deferred_schedule[0].due_on.value <= start:
        found.add("2 deferred instalment at signing")
    negotiated = mode in ("use_first", "license", "transfer")
    if outcome.owner_kind in STATE_OWNERS and negotiated:
        if not sheet.value("notice_required"):
            found.add("3 notice not required for state university/institute")
        elif sheet.value("notice_days") < 15:
            found.add("3 notice shorter than 15 days")
    if outcome.owner_kind == "enterprise" and sheet.value("notice_required"):
        found.add("3 notice required for an enterprise's own outcome")
    if sheet.value("royalty_base") == "none" and sheet.value("royalty_rate") > 0:
        found.add("4 royalty rate without base")
    events = [EVENT_ORDER.index(m.event) for m in sheet.milestones]
    if events != sorted(events):
        found.add("4 milestones out of order")
    opens = sheet.value("conversion_opens_on")
    if opens is not None and opens < add_months(start, sheet.value("free_window_months")):
        found.add("4 conversion opens inside free window")
    money = [sheet.value(n) for n in ("entry_fee", "annual_minimum", "conversion_price")]
    money += [m.amount.value for m in sheet.milestones]
    money += [i.amount.value for i in sheet.deferred_schedule]
    if any(v is not None and v < 0 for v in money):
        found.add("4 negative money")
    in_scope = outcome.owner_kind in ("university", "institute", "hospital") and licensee.is_sme
    if (
        sheet.profile_key == "zhuhai-2025"
        and mode == "use_first"
        and not in_scope
        and not any("措施7" in w for w in sheet.warnings)
    ):
        found.add("5 measure-7 scope not warned")
    sources = {name: term.source for name, term in sheet.terms.items()}
    if sources["team_income_share"].endswith(
        ("/horizontal_income_share", "/empowerment_team_share")
    ):
        found.add("6 income split taken from 广东 60% / 深圳 70%")
    if sources["risk_instrument"].endswith("/use_first_risk_sharing"):
        found.add("6 risk sharing made compulsory")
    if (
        "第十八条" in sheet.term("notice_days").citation
        or "措施10" in sheet.term("notice_days").citation
    ):
        found.add("6 15-day notice cited to 第十八条 / 措施10")
    return found


def random_edit(rng: random.Random, sheet) -> dict:
    start = sheet.value("start_on")
    choices = [
        {"entry_fee": rng.choice((0, 1, 100_000))},
        {"royalty_rate": rng.choice((0, 300, 2001))},
        {"royalty_base": rng.choice(("none", "net_sales", "profit"))},
        {"notice_required": rng.choice((True, False))},
        {"notice_days": rng.choice((10, 15, 20))},
        {"free_window_months": rng.choice((6, 12, 24, 48))},
        {"free_window_until_first_revenue": rng.choice((True, False))},
        {"annual_minimum": rng.choice((-100, 0, 1000))},
        {"conversion_opens_on": add_months(start, rng.choice((0, 6, 12, 30))).isoformat()},
        {
            "milestones": [
                {"event": "first_revenue", "amount": rng.randrange(1, 10**6)},
                {"event": rng.choice(EVENT_ORDER[:2]), "amount": rng.randrange(1, 10**6)},
            ]
        },
        {
            "deferred_schedule": [
                {"due_on": add_months(start, rng.choice((0, 12, 60))).isoformat(), "amount": 1000}
            ]
        },
        {"fee_form": rng.choice(("lump_sum", "royalty", "deferred", "milestone_royalty"))},
    ]
    change: dict = {}
    for _ in range(rng.randrange(1, 3)):
        change.update(rng.choice(choices))
    return change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combos", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    profiles = load_profiles(POLICY_DIR)
    keys = sorted(profiles)
    drafted = refused = broken_drafts = broken_1_5 = accepted = broken_edits = 0
    draft_rules: Counter[str] = Counter()
    edit_rules: Counter[str] = Counter()
    for _ in range(args.combos):
        case = random_case(rng, keys)
        profile = profiles[case["key"]]
        try:
            sheet = draft_terms(
                case["outcome"],
                case["licensee"],
                case["mode"],
                profile,
                case["today"],
                fee_form=case["fee_form"],
            )
        except LicensingError:
            refused += 1
            continue
        drafted += 1
        found = breaks(sheet, case["outcome"], case["licensee"])
        broken_drafts += bool(found)
        broken_1_5 += any(not rule.startswith("6") for rule in found)
        draft_rules.update(found)
        try:
            edited = apply_edit(sheet, random_edit(rng, sheet), profile, case["outcome"], "m")
        except LicensingError:
            continue
        if edited is sheet:
            continue
        accepted += 1
        new = breaks(edited, case["outcome"], case["licensee"]) - found
        broken_edits += bool(new)
        edit_rules.update(new)
    print(f"combos {args.combos}: drafted {drafted}, refused {refused}")
    print(f"drafts breaking a rule: {broken_drafts} (items 1-5 only: {broken_1_5})")
    for rule, count in sorted(draft_rules.items()):
        print(f"  {count:5d}  {rule}")
    print(f"accepted edits {accepted}, introducing a break: {broken_edits}")
    for rule, count in sorted(edit_rules.items()):
        print(f"  {count:5d}  {rule}")


if __name__ == "__main__":
    main()
