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
from datetime import timedelta

from flask import request
from flask_login import current_user
from sqlalchemy import select

from models import ApiToken, DomainError, User, db, utcnow
from models.api import hash_secret

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sbt"
TOKEN_SHAPE = re.compile(r"sbt_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_-]{20,100}")
TOUCH_EVERY = timedelta(minutes=1)
_MISSING = object()
CACHE_KEY = "scenebridge.api_token"


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


def authenticate() -> None:
    """Before each API request: a malformed, unknown or revoked bearer token is a 401."""
    if bearer() is None:
        return
    token = request_token()
    if token is None:
        raise Unauthorized("API 令牌无效或已被撤销")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()


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
        raise Unauthorized("请在 Authorization 请求头中提供 API 令牌（Bearer）")
    return token.user


def session_or_token_user() -> User:
    """Token management also accepts the browser session, with its CSRF token checked."""
    token = request_token()
    if token is not None:
        return token.user
    if not current_user.is_authenticated:
        raise Unauthorized("请先登录或提供 API 令牌")
    _check_csrf()
    return current_user._get_current_object()


def _check_csrf() -> None:
    from flask import current_app

    from ..extensions import csrf

    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
