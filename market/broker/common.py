"""Helpers shared by the broker, term-sheet and consent pages."""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm

from market.i18n import error_text
from models import ValidationError

from ..extensions import login_manager
from ..policy import require


def guard(action: str):
    """A before_request hook: signed in, and allowed ``action``."""

    def check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        require(current_user, action)
        return None

    return check


def signed_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def attach_error(form: FlaskForm, error: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's error next to the field it concerns, else above the form."""
    name = (aliases or {}).get(error.field, error.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors") and hasattr(field, "label"):
        field.errors = [*field.errors, error_text(error)]
    else:
        form.form_errors.append(error_text(error))
