"""What every API resource shares: its blueprint, error bodies, pagination and lookups.

A resource module creates ``blp = resource_blueprint("demands", "/demands", "场景需求")`` and lists
itself in ``market.api.RESOURCES``; authentication, error bodies, CSRF exemption and the API rate
limit then come with it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import flask_smorest
from flask import jsonify
from sqlalchemy import Select, func, select
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from models import DomainError, NotFound, db

from ..errors import MESSAGES, with_protocol_headers
from ..urls import MAX_ID
from .auth import authenticate
from .schemas import ErrorOut

log = logging.getLogger(__name__)


class Api(flask_smorest.Api):
    """flask-smorest with our error body; HTTP errors are answered by our handlers."""

    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self) -> None:
        # The app's handler (market.errors) and each API blueprint's handler answer instead.
        return None


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_SECURITY = {
    "token": [{"bearerAuth": []}],
    "session": [{"bearerAuth": []}, {"browserSession": []}],
    "public": [{}],
}


class ResourceBlueprint(flask_smorest.Blueprint):
    """Documents who may call each write, as ``auth.authenticate`` enforces it."""

    def route(self, rule, *, parameters=None, tags=None, **options):
        register = super().route(rule, parameters=parameters, tags=tags, **options)
        methods = {method.upper() for method in options.get("methods") or ("GET",)}

        def decorator(func):
            if methods & WRITE_METHODS:
                access = getattr(func, "api_write_access", "token")
                func = self.doc(security=WRITE_SECURITY[access])(func)
            return register(func)

        return decorator


def resource_blueprint(name: str, url_prefix: str, description: str) -> flask_smorest.Blueprint:
    blp = ResourceBlueprint(
        f"api_{name}", __name__, url_prefix=f"/api/v1{url_prefix}", description=description
    )
    blp.before_request(authenticate)
    blp.register_error_handler(HTTPException, http_error)
    blp.register_error_handler(DomainError, domain_error)
    blp.register_error_handler(IntegrityError, integrity_error)
    blp.register_error_handler(DataError, data_error)
    return blp


def error_body(status: int, code: str, message: str, errors: dict | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


def http_error(e: HTTPException):
    status = e.code or 500
    data = getattr(e, "data", None) or {}
    errors = flatten(data.get("messages") or data.get("errors") or {})
    message = MESSAGES.get(status, e.description or "")
    if errors:
        first = next(iter(errors.values()))[0]
        message = f"{MESSAGES[422]}：{first}" if status == 422 else message
    code = HTTPStatus(status).phrase.lower().replace(" ", "_") if status in _STATUSES else "error"
    response, status = error_body(status, code, message, errors)
    with_protocol_headers(response, e)
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    return response, status


_STATUSES = {s.value for s in HTTPStatus}


def domain_error(e: DomainError):
    db.session.rollback()
    return jsonify(e.to_dict()), e.status


def integrity_error(e: IntegrityError):
    db.session.rollback()
    log.warning("integrity error answered as 409: %s", e.orig)
    return error_body(409, "conflict", "数据与已有记录冲突，请检查后重试")


def data_error(e: DataError):
    db.session.rollback()
    log.warning("data error answered as 422: %s", e.orig)
    return error_body(422, "validation_error", "提交的数据超出允许范围")


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and index; clients want ``{"field": ["message"]}``."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key)
            if name in ("json", "query", "path", "form", "headers", "_schema") and not prefix:
                name = ""
            inner = f"{prefix}.{name}" if prefix and name else (name or prefix)
            for field, items in flatten(value, inner).items():
                flat.setdefault(field, []).extend(items)
        return flat
    if isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            return {prefix or "_schema": [str(item) for item in messages]}
        flat = {}
        for item in messages:
            for field, items in flatten(item, prefix).items():
                flat.setdefault(field, []).extend(items)
        return flat
    return {prefix or "_schema": [str(messages)]}


def get_or_404(model: type, ident: Any, message: str = "记录不存在或已被删除"):
    if isinstance(ident, int) and not 0 < ident <= MAX_ID:
        raise NotFound(message)
    if isinstance(ident, str) and ("\x00" in ident or not ident):
        raise NotFound(message)
    item = db.session.get(model, ident)
    if item is None:
        raise NotFound(message)
    return item


def paginate(stmt: Select, page: int, per_page: int) -> dict:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    return envelope(list(items), total or 0, page, per_page)


def envelope(items: list, total: int, page: int, per_page: int) -> dict:
    return {
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": max(1, -(-total // per_page)),
    }


def enqueue_after_commit(task: str, *args) -> None:
    """Hand work to the worker; a failure never undoes the committed write (reconcile repairs)."""
    from ..tasks import enqueue

    try:
        enqueue(task, *args)
    except Exception:
        log.warning("task %s%s failed; reconcile will repair it", task, args, exc_info=True)
