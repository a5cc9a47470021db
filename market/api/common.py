"""What every API resource shares: its blueprint, error bodies, pagination and lookups.

A resource module creates ``blp = resource_blueprint("demands", "/demands", "场景需求")`` and lists
itself in ``market.api.RESOURCES``; authentication, error bodies, CSRF exemption and the API rate
limit then come with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import wraps
from http import HTTPStatus
from typing import Any

import flask_smorest
from flask import Response, g, jsonify, request
from sqlalchemy import Select, func, select
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from models import DomainError, IdempotencyKey, NotFound, ValidationError, db, utcnow
from models.enums import N_

from ..errors import MESSAGES, with_protocol_headers
from ..urls import MAX_ID
from . import messages
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
            if getattr(func, "idempotent", False):
                func = self.doc(parameters=[IDEMPOTENCY_PARAMETER])(func)
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
    """The JSON error answer; ``message`` and ``errors`` (Chinese) in the request's language."""
    body: dict[str, Any] = {"code": code, "message": messages.text(message)}
    if errors:
        body["errors"] = messages.errors(errors)
    return jsonify(body), status


def http_error(e: HTTPException):
    status = e.code or 500
    data = getattr(e, "data", None) or {}
    errors = flatten(data.get("messages") or data.get("errors") or {})
    message = messages.text(MESSAGES.get(status, e.description or ""))
    if errors and status == 422:
        message = messages.with_detail(MESSAGES[422], next(iter(errors.values()))[0])
    code = HTTPStatus(status).phrase.lower().replace(" ", "_") if status in _STATUSES else "error"
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = messages.errors(errors)
    response = jsonify(body)
    with_protocol_headers(response, e)
    for key, value in (data.get("headers") or {}).items():
        response.headers[key] = value
    return response, status


_STATUSES = {s.value for s in HTTPStatus}


def domain_error(e: DomainError):
    db.session.rollback()
    return jsonify(messages.domain_body(e)), e.status


def integrity_error(e: IntegrityError):
    db.session.rollback()
    log.warning("integrity error answered as 409: %s", e.orig)
    return error_body(409, "conflict", N_("数据与已有记录冲突，请检查后重试"))


def data_error(e: DataError):
    db.session.rollback()
    log.warning("data error answered as 422: %s", e.orig)
    return error_body(422, "validation_error", N_("提交的数据超出允许范围"))


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


def get_or_404(model: type, ident: Any, message: str = N_("记录不存在或已被删除")):
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


def write_answer(schema, item: Any, status: int = 200, tasks: tuple = ()) -> Response:
    """Finish an API write: dump the answer, remember it under the request's Idempotency-Key,
    then commit the write with the worker ``tasks`` it needs (``market.tasks.commit_with``).

    The answer is dumped before the commit, so nothing after the commit reads the database: a
    database that goes away right after a commit cannot turn a stored write into a 500."""
    from ..tasks import commit_with

    body = schema.dump(item)
    claimed = g.pop("idempotency", None)
    if claimed is not None:
        user_id, key, fingerprint = claimed
        db.session.add(
            IdempotencyKey(
                user_id=user_id, key=key, fingerprint=fingerprint, status=status, body=body
            )
        )
    commit_with(*tasks)
    response = jsonify(body)
    response.status_code = status
    return response


# ---- Idempotency-Key ---------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x21-\x7e]+$"},
    "description": "可选的幂等键（如 UUID）：同一用户用同一个键重发相同请求，返回第一次的结果而不会重复创建；"
    "同一个键配不同的请求体返回 422。键保留 24 小时。",
}
KEY_REUSED = N_("这个 Idempotency-Key 已用于另一个不同的请求；请为新请求换一个键")
KEY_INVALID = N_("Idempotency-Key 须为 1–255 个可见 ASCII 字符")


def idempotent(view):
    """Honour an ``Idempotency-Key`` header on a write answered by ``write_answer``: the same
    key from the same user with the same request replays the first answer (and creates
    nothing); the same key with another request is refused with 422."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        from .auth import token_user

        if not 0 < len(key) <= 255 or not all("!" <= ch <= "~" for ch in key):
            raise ValidationError(KEY_INVALID, IDEMPOTENCY_HEADER)
        user_id = token_user().id
        fingerprint = _fingerprint()
        stored = _stored_answer(user_id, key, fingerprint)
        if stored is not None:
            return stored
        g.idempotency = (user_id, key, fingerprint)
        try:
            return view(*args, **kwargs)
        except IntegrityError:
            # The same key raced in from another request, which committed first: its answer.
            db.session.rollback()
            stored = _stored_answer(user_id, key, fingerprint)
            if stored is None:
                raise
            return stored

    wrapper.idempotent = True
    return wrapper


def _fingerprint() -> str:
    """What the request asks for: method, path and body (JSON compared by value)."""
    body = request.get_json(silent=True)
    payload = (
        json.dumps(body, sort_keys=True, ensure_ascii=False)
        if body is not None
        else request.get_data(as_text=True)
    )
    text = f"{request.method} {request.path}\n{payload}"
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_answer(user_id: int, key: str, fingerprint: str) -> Response | None:
    from ..services.accounts import idempotency_ttl

    row = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.created_at < utcnow() - idempotency_ttl():
        db.session.delete(row)
        db.session.flush()
        return None
    if row.fingerprint != fingerprint:
        raise ValidationError(KEY_REUSED, IDEMPOTENCY_HEADER)
    response = jsonify(row.body)
    response.status_code = row.status
    response.headers["Idempotent-Replayed"] = "true"
    return response
