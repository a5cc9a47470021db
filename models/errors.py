"""Domain errors raised by models and services; UI, API and CLI render them the same way."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation. ``message`` is shown to users (Chinese).

    ``template`` is a catalogue msgid and ``params`` fill its %(name)s placeholders, so pages can
    show the message in the reader's language (market.i18n.error_text); ``message`` stays the
    Chinese text for logs, the audit trail and the API. Raise with the msgid marked ``N_`` and
    the values as keywords: ``ValidationError(N_("不能超过%(limit)s个字"), "title", limit=200)``.
    """

    code = "domain_error"
    status = 400

    def __init__(self, message: str, field: str | None = None, **params):
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)
        self.field = field

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["errors"] = {self.field: [self.message]}
        return body


class ValidationError(DomainError):
    code = "validation_error"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409
