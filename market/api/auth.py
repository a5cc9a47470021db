"""API authentication: personal tokens sent as ``Authorization: Bearer <token>``.

A token reads ``sbt_<prefix>_<secret>``. The prefix finds the row; only the SHA-256 of the whole
token is stored, compared in constant time. Writes need a token; reads work anonymously, with a
token, or with the browser session (reads are safe from cross-site requests).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import select

from models import ApiToken, DomainError, User, db, utcnow
from models.api import hash_secret
from models.enums import N_

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sbt"
TOKEN_SHAPE = re.compile(r"sbt_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_-]{20,100}")
TOUCH_EVERY = timedelta(minutes=1)
_MISSING = object()
CACHE_KEY = "scenebridge.api_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_TOKEN = "请在 Authorization 请求头中提供 API 令牌（Bearer）"


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain secret is returned once and never stored."""
    prefix = secrets.token_hex(4)
    plain = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user=user, name=name, prefix=prefix, secret_hash=hash_secret(plain))
    db.session.add(token)
    db.session.flush()
    log.info("api token %s issued to user %s", prefix, user.id)
    return token, plain


def revoke_token(token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        log.info("api token %s revoked", token.prefix)
    return token


def find_token(plain: str) -> ApiToken | None:
    """The active token matching ``plain``, or None."""
    match = TOKEN_SHAPE.fullmatch(plain)
    if match is None:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == match["prefix"]))
    if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(plain)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    return token


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or ""


def request_token() -> ApiToken | None:
    """The token this request authenticated with (cached for the request)."""
    # Cached on the request, not on ``g``: an app context may outlive one request.
    cached = request.environ.get(CACHE_KEY, _MISSING)
    if cached is not _MISSING:
        return cached
    plain = bearer()
    token = find_token(plain) if plain else None
    request.environ[CACHE_KEY] = token
    return token


def public_write(view: Callable) -> Callable:
    """Mark a write anyone may make without a token (e.g. an objection to a 公示)."""
    view.api_write_access = "public"
    return view


def session_write(view: Callable) -> Callable:
    """Mark a write the browser session may make too (with its CSRF token, checked first)."""
    view.api_write_access = "session"
    return view


def write_access() -> str:
    """Who may call this request's view when it writes: "token" unless the view says otherwise."""
    # flask-smorest wraps views with functools.wraps, which carries the mark to the outer view.
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "api_write_access", "token")


def authenticate() -> None:
    """Before each API request, and so before its body is read: a malformed, unknown or revoked
    bearer token is a 401, and so is a write without the credentials it needs."""
    if bearer() is None:
        if request.method not in SAFE_METHODS:
            _require_write_credentials()
        return
    token = request_token()
    if token is None:
        raise Unauthorized(N_("API 令牌无效或已被撤销"))
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()


def _require_write_credentials() -> None:
    access = write_access()
    if access == "public":
        return
    if access == "session" and current_user.is_authenticated:
        _check_csrf()  # a browser write proves it comes from our page, before its body is read
        return
    if access == "session":
        raise Unauthorized(N_("请先登录或提供 API 令牌"))
    raise Unauthorized(MISSING_TOKEN)


def api_user() -> User | None:
    """Who is acting: the token's user, else the logged-in session user, else nobody."""
    token = request_token()
    if token is not None:
        return token.user
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def token_user() -> User:
    """Writes: only a bearer token authenticates them (the API is exempt from CSRF)."""
    token = request_token()
    if token is None:
        raise Unauthorized(MISSING_TOKEN)
    return token.user


def session_or_token_user() -> User:
    """Token management also accepts the browser session, with its CSRF token checked."""
    token = request_token()
    if token is not None:
        return token.user
    if not current_user.is_authenticated:
        raise Unauthorized(N_("请先登录或提供 API 令牌"))
    _check_csrf()
    return current_user._get_current_object()


def _check_csrf() -> None:
    from ..extensions import csrf

    if request.method in SAFE_METHODS:
        return
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
