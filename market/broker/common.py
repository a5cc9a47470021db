"""Helpers shared by the broker, term-sheet and consent pages (guard and attach_error: ui.common)."""

from __future__ import annotations

from flask_login import current_user

from ..extensions import login_manager


def signed_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None
