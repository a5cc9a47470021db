"""Domain errors of the 先用后转 licensing engine, grouped so callers can catch one base class."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One rule a sheet breaks: which rule, where it comes from, and the field it concerns."""

    rule_id: str
    source: str
    citation: str
    field: str
    message: str  # Chinese, as the engine writes it
    # The same message as a catalogue template and its values, for pages in other languages
    # (``market.ui.change_log.violation_text``); None where only the Chinese text exists.
    # Values: ``field`` a term name; ``*_value`` {"value", "unit", "enum"}; ``rule`` a profile
    # rule's name (quoted, Chinese); ``bounds`` {"low", "high", "unit"}; ``n`` a number.
    template: str | None = None
    params: dict | None = None

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "source": self.source,
            "citation": self.citation,
            "field": self.field,
            "message": self.message,
        }


class LicensingError(Exception):
    """Base class for every error raised by market.licensing."""


class ProfileError(LicensingError):
    """A policy profile file is missing, malformed or inconsistent."""

    def __init__(self, path: str, key: str, message: str) -> None:
        self.path = path
        self.key = key
        self.message = message
        super().__init__(f"{path}: {key}: {message}")


class MissingFacts(LicensingError):
    """The outcome or licensee facts are not enough to draft a sheet."""


class UnsupportedMode(LicensingError):
    """The cooperation mode has no term-sheet template (e.g. 作价入股)."""


class DraftError(LicensingError):
    """The profile cannot yield a valid sheet for these facts (conflicting rules, short patent life)."""

    def __init__(self, message: str, violations: list[Violation] | None = None) -> None:
        self.violations = list(violations or [])
        super().__init__(message)


class TermsViolation(LicensingError):
    """A sheet or an edit breaks its profile; `violations` name each rule broken."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        lines = "; ".join(f"[{v.rule_id}] {v.field}: {v.message}" for v in self.violations)
        super().__init__(f"条款违反规则：{lines}")


class SimulationError(LicensingError):
    """Simulator input is unusable (bad discount rate, empty scenarios)."""


class WindowError(LicensingError):
    """A date or time window input is unusable (naive datetime, reversed window)."""


class CjkFontMissing(LicensingError):
    """No CJK TrueType font is installed, so a Chinese PDF cannot be typeset."""
