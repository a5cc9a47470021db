"""Response security headers, secure cookies in production, rate limits, trusted proxies.

Rate limits use flask-limiter: in memory in embedded mode, in Redis (``REDIS_URL``) in
production so every gunicorn worker shares one count; while Redis is unreachable each process
counts in memory instead of failing requests. Tests run without limits unless a test
sets ``RATE_LIMITS_ENABLED``.

Behind a reverse proxy that terminates TLS (nginx, a cloud load balancer), set
``MARKET_TRUSTED_PROXIES`` to the number of proxies in front of gunicorn: the client address and
scheme are then read from the ``X-Forwarded-For`` / ``X-Forwarded-Proto`` they append, so rate
limits count real clients and ``request.is_secure`` is true. The default, 0, trusts no header,
since a client talking to gunicorn directly could write them itself.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ConfigError

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
LOGIN_LIMIT = "10 per minute"  # per client address, POST only
API_LIMIT = "300 per minute"  # per token, or per address for anonymous reads


def init_security(app: Flask) -> Limiter:
    trust_proxies(app)
    secure_cookies(app.config)
    app.after_request(_add_headers)
    return init_limits(app)


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the headers of ``TRUSTED_PROXIES`` proxies."""
    count = int(app.config.setdefault("TRUSTED_PROXIES", 0) or 0)
    if count < 0:
        raise ConfigError("TRUSTED_PROXIES 须为 0（不经代理）或反向代理的层数")
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
        log.info("trusting X-Forwarded-For/-Proto from %d proxy(ies)", count)


def secure_cookies(config: dict) -> None:
    """In production cookies travel only over HTTPS and never to scripts."""
    config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if config.get("MODE") != "production":
        return
    config["SESSION_COOKIE_SECURE"] = True
    config["REMEMBER_COOKIE_SECURE"] = True
    config.setdefault("PREFERRED_URL_SCHEME", "https")


def _add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("MODE") == "production":
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def storage_uri(config: dict) -> str:
    explicit = config.get("RATELIMIT_STORAGE_URI")
    if explicit:
        return explicit
    broker = config.get("CELERY", {}).get("broker_url", "")
    return broker if broker.startswith(("redis://", "rediss://")) else "memory://"


def init_limits(app: Flask) -> Limiter:
    app.config.setdefault("RATE_LIMITS_ENABLED", not app.config.get("TESTING", False))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("LOGIN_RATE_LIMIT", LOGIN_LIMIT)
    app.config.setdefault("API_RATE_LIMIT", API_LIMIT)
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app.config)
    # Redis away must not take the site down: count in this process's memory meanwhile (the
    # limiter re-checks Redis with backoff and switches back), and never fail a request over a
    # limit's bookkeeping. Short timeouts keep a hung Redis from stalling every request.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        )
    limiter = Limiter(key_func=get_remote_address, key_prefix="scenebridge")
    limiter.init_app(app)
    limiter.request_filter(lambda: not current_app.config["RATE_LIMITS_ENABLED"])
    _limit_login(app, limiter)
    _limit_api(app, limiter)
    app.extensions["scenebridge.limiter"] = limiter
    return limiter


def _limit_login(app: Flask, limiter: Limiter) -> None:
    view = app.view_functions.get("auth.login")
    if view is None:
        log.warning("no auth.login view to rate-limit")
        return
    app.view_functions["auth.login"] = limiter.limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"],
        methods=["POST"],
        key_func=get_remote_address,
    )(view)


def api_key() -> str:
    """Per token when the request carries a valid one, otherwise per client address."""
    from .api.auth import request_token

    token = request_token()
    if token is not None:
        return f"token:{token.id}"
    return f"ip:{get_remote_address()}"


def _limit_api(app: Flask, limiter: Limiter) -> None:
    shared = limiter.shared_limit(
        lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=api_key
    )
    for blueprint in app.extensions.get("scenebridge.api", []):
        shared(blueprint)
