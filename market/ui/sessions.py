"""Sessions bound to the user's session generation, so one can end every copy of them.

Flask-Login keeps ``User.get_id()`` — "<id>:<generation>" — in the session and in the remember
cookie. A cookie whose generation is no longer the user's (after logout, "log out everywhere" or a
new password) signs nobody in, even when an attacker kept a copy of it.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import login_user

from models import User, db

from ..urls import MAX_ID


def user_for_session(session_id: str) -> User | None:
    """The user a session or remember cookie names, if its generation is still current."""
    user_id, sep, generation = (session_id or "").partition(":")
    if not sep or not user_id.isdigit() or not generation.isdigit():
        return None  # a bare id comes from before generations existed: sign in again
    if int(user_id) > MAX_ID:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_generation != int(generation):
        return None
    return user


def renew_session(user: User) -> None:
    """After the generation moved on (a new password): keep this browser signed in."""
    cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    login_user(user, remember=cookie in request.cookies)
