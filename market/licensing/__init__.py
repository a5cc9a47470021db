"""先用后转 licence terms: policy profiles, term-sheet drafting, validation, edits, simulation,
time windows and exports. Pure Python: no Flask, no database.
"""

from market.licensing.drafting import SUPPORTED_MODES, draft_terms
from market.licensing.editing import EDITABLE_FIELDS, apply_edit
from market.licensing.errors import (
    CjkFontMissing,
    DraftError,
    LicensingError,
    MissingFacts,
    ProfileError,
    SimulationError,
    TermsViolation,
    UnsupportedMode,
    Violation,
    WindowError,
)
from market.licensing.facts import (
    LicenseeFacts,
    OutcomeFacts,
    PatentFacts,
    RevenueScenario,
    scenario_band,
)
from market.licensing.labels import ENUM_LABELS, FIELD_LABELS, UNIT_LABELS
from market.licensing.profiles import Citation, Profile, Rule, load_profile, load_profiles
from market.licensing.sheet import Change, Instalment, Milestone, Term, TermSheet
from market.licensing.simulator import SimulationResult, simulate
from market.licensing.validation import validate
from market.licensing.windows import (
    Decision,
    NoticeFacts,
    NoticeWindow,
    can_sign,
    due_for_use_first,
    notice_closes_at,
    notice_days,
    notice_window,
)

__all__ = [
    "EDITABLE_FIELDS",
    "ENUM_LABELS",
    "FIELD_LABELS",
    "SUPPORTED_MODES",
    "UNIT_LABELS",
    "Change",
    "Citation",
    "CjkFontMissing",
    "Decision",
    "DraftError",
    "Instalment",
    "LicenseeFacts",
    "LicensingError",
    "Milestone",
    "MissingFacts",
    "NoticeFacts",
    "NoticeWindow",
    "OutcomeFacts",
    "PatentFacts",
    "Profile",
    "ProfileError",
    "RevenueScenario",
    "Rule",
    "SimulationError",
    "SimulationResult",
    "Term",
    "TermSheet",
    "TermsViolation",
    "UnsupportedMode",
    "Violation",
    "WindowError",
    "apply_edit",
    "can_sign",
    "draft_terms",
    "due_for_use_first",
    "load_profile",
    "load_profiles",
    "notice_closes_at",
    "notice_days",
    "notice_window",
    "scenario_band",
    "simulate",
    "validate",
]
