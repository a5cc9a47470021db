"""The pieces that show Chinese source text in the reader's language (market/i18n.py)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from market.i18n import error_text, label, row_error, stored_text
from market.licensing import windows
from models import ValidationError
from models.enums import MATURITY, N_


@pytest.fixture
def request_ctx(app):
    with app.test_request_context():
        yield


def test_enum_label_follows_the_locale(request_ctx):
    assert label(MATURITY["pilot"]) == "中试"
    with force_locale("en"):
        assert label(MATURITY["pilot"]) == "Pilot scale"
        assert label("not a msgid") == "not a msgid"


def test_domain_error_keeps_chinese_and_translates_on_pages(request_ctx):
    e = ValidationError(N_("不能超过%(limit)s个字"), "title", limit=200)
    assert e.message == str(e) == "不能超过200个字"  # logs, audit and the API
    assert error_text(e) == "不能超过200个字"
    with force_locale("en"):
        assert error_text(e) == "No more than 200 characters"


def test_stored_message_is_translated_by_its_template(request_ctx):
    stored = windows.DUE_NOW % {"granted": "2020-10-21", "years": 5}
    with force_locale("en"):
        assert stored_text(stored).startswith("Granted on 2020-10-21 and not put to use for 5")
        assert stored_text("经纪人手写的说明") == "经纪人手写的说明"


def test_import_row_error_quotes_the_file(request_ctx):
    error = {
        "column": "TRL",
        "message": "“12”无效，须为1到9的整数",
        "template": "“%(value)s”无效，须为1到9的整数",
        "params": {"value": "12"},
    }
    assert row_error(error) == "“12”无效，须为1到9的整数"  # the Chinese page, as stored
    with force_locale("en"):
        assert str(row_error(error)) == (
            '&#34;<span translate="no">12</span>&#34; is not valid; enter a whole number from 1 to 9'
        )
