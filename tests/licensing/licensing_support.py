"""Builders shared by the licensing tests (plain functions so hypothesis tests can use them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from market.licensing import (
    LicenseeFacts,
    OutcomeFacts,
    PatentFacts,
    Profile,
    Term,
    TermSheet,
    draft_terms,
    load_profiles,
)

POLICY_DIR = Path(__file__).resolve().parents[2] / "seed_data" / "policies"
TODAY = date(2026, 3, 1)
YUAN = 100  # fen per yuan


@lru_cache(maxsize=1)
def profiles() -> dict[str, Profile]:
    return load_profiles(POLICY_DIR)


def profile(key: str) -> Profile:
    return profiles()[key]


def patent(
    number: str = "ZL202010000001.X",
    granted_on: date = date(2021, 3, 1),
    expires_on: date = date(2040, 3, 1),
    in_force: bool = True,
    kind: str = "invention",
) -> PatentFacts:
    return PatentFacts(number, kind, granted_on, expires_on, in_force)


def outcome(**overrides: Any) -> OutcomeFacts:
    values: dict[str, Any] = {
        "maturity": "pilot",
        "patents": (patent(),),
        "asking_price_fen": 1_000_000 * YUAN,
        "owner_kind": "university",
        "fiscal_funded": True,
    }
    values.update(overrides)
    return OutcomeFacts(**values)


def licensee(**overrides: Any) -> LicenseeFacts:
    values: dict[str, Any] = {"is_sme": True, "region": "广东省珠海市"}
    values.update(overrides)
    return LicenseeFacts(**values)


def draft(
    key: str = "zhuhai-2025", mode: str = "use_first", facts: OutcomeFacts | None = None, **kw: Any
) -> TermSheet:
    return draft_terms(facts or outcome(), licensee(), mode, profile(key), TODAY, **kw)


def with_terms(sheet: TermSheet, **values: Any) -> TermSheet:
    """The sheet with some term values replaced in place (for simulator arithmetic)."""
    terms = dict(sheet.terms)
    for name, value in values.items():
        terms[name] = Term(value, terms[name].unit, "edit:test")
    return replace(sheet, terms=terms)
