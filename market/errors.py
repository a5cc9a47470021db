"""One place that turns errors into HTML or JSON, chosen by the request."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from models import DomainError, db
from models.enums import N_

from .i18n import error_text, label

log = logging.getLogger(__name__)

# Chinese msgids; JSON answers and pages both give them in the request's language (Chinese
# unless the reader chose English), the machine-readable ``code`` never changes.
MESSAGES = {
    400: N_("请求有误"),
    403: N_("您没有权限进行此操作"),
    404: N_("页面不存在或已被删除"),
    405: N_("不支持此请求方式"),
    409: N_("数据已被他人修改，请刷新后重试"),
    413: N_("上传的文件过大"),
    422: N_("提交的内容有误"),
    429: N_("请求过于频繁，请稍后再试"),
    500: N_("服务器出错了，我们已记录问题"),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _respond(
    status: int, code: str, message: str, errors: dict | None = None, shown: str | None = None
):
    """JSON or the error page, saying ``shown`` (by default ``message`` translated)."""
    shown = label(message) if shown is None else shown
    if wants_json():
        body = {"code": code, "message": shown}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=shown), status


def with_protocol_headers(response, e: HTTPException):
    """Keep the headers HTTP asks of an error, such as ``Allow`` on a 405 (RFC 9110 §15.5.6)."""
    if not isinstance(response, Response):
        response = make_response(response)
    for name, value in e.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        message = MESSAGES.get(e.code or 500, e.description or "")
        errors = getattr(e, "data", {}).get("messages") if hasattr(e, "data") else None
        response, status = _respond(
            e.code or 500, (e.name or "error").lower().replace(" ", "_"), message, errors
        )
        return with_protocol_headers(response, e), status

    @app.errorhandler(DomainError)
    def domain_error(e: DomainError):
        db.session.rollback()
        shown = error_text(e)
        errors = {e.field: [shown]} if e.field else None
        return _respond(e.status, e.code, e.message, errors, shown=shown)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(500, "server_error", MESSAGES[500])
