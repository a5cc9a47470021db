"""What the API says when it refuses a request, in the request's language.

Chinese is the source language and the default: without ``?lang=en`` (or English chosen in
the session) every message is the Chinese text, as before. In English the ``message``
and each ``errors`` entry are translated; the ``code`` and the field names never change.

Field validation messages are built from the templates below (a field's label and limits filled
in when the schema is declared, as marshmallow needs a plain string). To translate one, it is
matched back against the templates and its values translated in turn: a label is a catalogue
msgid, a list of choices is "code（label）、…".
"""

from __future__ import annotations

import re

from flask_babel import gettext

from models import DomainError
from models.enums import N_

from ..i18n import _pattern, chinese_marker, error_text, label

REQUIRED = N_("请填写%(label)s")
NULL = N_("%(label)s不能为空")
INVALID = N_("%(label)s格式无效")
TOO_LONG = N_("%(label)s不能超过%(max)s个字")
BAD_CHARS = N_("%(label)s包含无效字符")
NOT_TEXT = N_("%(label)s必须是文本")
NOT_CHOICE = N_("%(label)s无效，可选：%(listed)s")
TOO_MANY_ITEMS = N_("%(label)s最多%(max)s项")
TOO_MANY_CODES = N_("%(label)s最多%(max)s个")
TOO_MANY_ROWS = N_("%(label)s最多%(max)s条")
NOT_LIST = N_("%(label)s必须是列表")
OUT_OF_RANGE = N_("%(label)s须在%(min)s到%(max)s之间")
NOT_INTEGER = N_("%(label)s必须是整数")
NOT_NUMBER = N_("%(label)s必须是数字")
NOT_DATE = N_("%(label)s须为 YYYY-MM-DD 格式的日期")
NOT_BOOL = N_("%(label)s须为 true 或 false")
NOT_OBJECT = N_("%(label)s必须是对象（条款名: 新值）")
TOO_MANY_CHANGES = N_("一次最多修改%(max)s项条款")
VALUE_OUT_OF_RANGE = N_("%(label)s超出范围")
WITH_DETAIL = N_("%(summary)s：%(detail)s")

# Most specific first: "最多…项" must not be read as "最多…个".
TEMPLATES = (
    NOT_CHOICE,
    TOO_MANY_CHANGES,
    NOT_OBJECT,
    VALUE_OUT_OF_RANGE,
    OUT_OF_RANGE,
    TOO_LONG,
    TOO_MANY_ITEMS,
    TOO_MANY_CODES,
    TOO_MANY_ROWS,
    NOT_DATE,
    NOT_BOOL,
    BAD_CHARS,
    NOT_TEXT,
    NOT_LIST,
    NOT_INTEGER,
    NOT_NUMBER,
    INVALID,
    NULL,
    REQUIRED,
)
FEN = "（分）"
_CHOICE = re.compile(r"(?P<code>[^、（]+)（(?P<name>[^）]+)）")


def english() -> bool:
    """Whether this request is answered in a language other than the (Chinese) source."""
    return bool(chinese_marker())


def field_message(template: str, label_text: str = "", *placeholders: str) -> str:
    """A field's validation message in Chinese, with marshmallow's ``{max}``-style
    placeholders (named in ``placeholders``) left for it to fill."""
    values = {"label": label_text, **{name: "{" + name + "}" for name in placeholders}}
    return template % values


def _value(name: str, value: str) -> str:
    if name == "label":
        if value.endswith(FEN):
            return f"{label(value[: -len(FEN)])} (fen)"
        return label(value)
    if name == "listed":
        return ", ".join(
            f"{m['code']} ({label(m['name'])})" for m in _CHOICE.finditer(value)
        ) or label(value)
    return value


def text(message: str) -> str:
    """``message`` (Chinese, as the API builds it) in the request's language."""
    if not english() or not message:
        return message
    for template in TEMPLATES:
        found = _pattern(template).match(message)
        if found:
            values = {k: _value(k, v) for k, v in found.groupdict().items()}
            return gettext(template, **values)
    return label(message)


def errors(entries: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if not entries or not english():
        return entries
    return {field: [text(m) for m in messages] for field, messages in entries.items()}


def with_detail(summary: str, detail: str) -> str:
    """ "提交的内容有误：<the first field's message>" in the request's language."""
    if not english():
        return WITH_DETAIL % {"summary": summary, "detail": detail}
    return gettext(WITH_DETAIL, summary=label(summary), detail=text(detail))


def domain_body(e: DomainError) -> dict:
    """A domain error's JSON body; in English its message is the translated template."""
    body = e.to_dict()
    if english():
        shown = error_text(e)
        body["message"] = shown
        if e.field:
            body["errors"] = {e.field: [shown]}
    return body
