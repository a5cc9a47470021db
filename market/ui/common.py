"""Helpers shared by the workspace and account pages."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from market.i18n import error_text
from models import ValidationError

from ..extensions import login_manager
from ..policy import require
from ..services import codes


def attach_error(form: FlaskForm, error: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's error next to the form field it concerns (or above the form)."""
    aliases = aliases or {}
    name = aliases.get(error.field, error.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors") and hasattr(field, "label"):
        field.errors = [*field.errors, error_text(error)]
    else:
        form.form_errors.append(error_text(error))


DEMAND_ACTIONS = ("draft", "publish", "publish_confirmed")
OUTCOME_ACTIONS = ("draft", "publish")


def requested_action(form: FlaskForm, allowed: tuple[str, ...]) -> str | None:
    """The button a listing form was sent with (save as draft, publish…), or None with a form
    error: publication state changes only when the author asked for it."""
    action = request.form.get("action")
    if action in allowed:
        return action
    form.form_errors.append(_("请使用表单底部的“保存草稿”或“发布”按钮提交"))
    return None


def guard(action: str):
    """A before_request hook: signed in, and allowed ``action`` (e.g. the workspace itself)."""

    def check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        require(current_user, action)
        return None

    return check


def code_suggestions(title: str | None, text: str | None) -> dict | None:
    """Codes for the text just submitted, shown with the form again (the no-script fallback of
    static/js/code_suggest.js); a plain GET has nothing to classify yet."""
    if request.method != "POST":
        return None
    return codes.suggest_codes(f"{title or ''}。{text or ''}")
