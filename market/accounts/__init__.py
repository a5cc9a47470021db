"""Registration, password reset, profile and organisation review."""
