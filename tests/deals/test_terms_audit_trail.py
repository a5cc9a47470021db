"""The term-sheet page's human audit trail: the change log speaks the sheet's units and labels (in
Chinese and English), and one save shows every problem of the edit at once."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.dates import format_date
from flask import g

from market.licensing.dates import add_months
from market.licensing.formatting import chinese_date
from market.services import terms
from models import db

from .test_terms_edit_rows import scalar_form


def text(response) -> str:
    return response.get_data(as_text=True)


def history_of(page: str) -> str:
    """The change log's visible text."""
    section = page.split('id="hist-h"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def get(client, path: str):
    g.pop("_flask_babel", None)  # the test app context caches the locale; a server would not
    return client.get(path)


@pytest.fixture
def edited(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    closes = date.fromisoformat(row.data["terms"]["conversion_closes_on"]["value"])
    changes = {
        "annual_minimum": 3_000_000,
        "royalty_rate": 350,
        "exclusivity": "sole",
        "notice_days": 20,
        "free_window_max_months": 48,
        "conversion_credit_paid_fees": False,
        "risk_instrument": "insurance",
        "risk_coverage": 5_000_000,
        "conversion_closes_on": add_months(closes, 1).isoformat(),
    }
    terms.edit_terms(row, changes, broker, row.version_id)
    db.session.commit()
    return row, closes


@pytest.fixture
def broker_client(client, auth, broker):
    db.session.commit()
    auth.login(broker.email)
    return client


def test_change_log_shows_the_sheets_units_and_labels(broker_client, edited):
    row, closes = edited
    log = history_of(text(get(broker_client, f"/terms/{row.id}")))
    for old, new in [
        ("10,000.00元", "30,000.00元"),  # fen shown as 元, like the sheet
        ("3%", "3.5%"),  # basis points as percent
        ("普通许可", "排他许可"),  # option labels, not codes
        ("15日", "20日"),
        ("60个月", "48个月"),
        ("是", "否"),
        ("无", "保险"),
        ("0.00元", "50,000.00元"),
        (chinese_date(closes), chinese_date(add_months(closes, 1))),
    ]:
        assert f" {old} {new} " in log, (old, new, log)
    assert "年度最低提成" in log and "履约风险分担方式" in log
    for raw in ("1000000", "3000000", "ordinary", "insurance", "350", "True", "False"):
        assert not re.search(rf"\b{raw}\b", log), raw


def test_change_log_in_english(broker_client, edited):
    row, closes = edited
    assert broker_client.get("/lang/en").status_code == 302
    log = history_of(text(get(broker_client, f"/terms/{row.id}")))
    for old, new in [
        ("10,000.00 yuan", "30,000.00 yuan"),
        ("3%", "3.5%"),
        ("Ordinary licence", "Sole licence"),
        ("15 days", "20 days"),
        ("60 months", "48 months"),
        ("Yes", "No"),
        ("None", "Insurance"),
        (
            format_date(closes, "long", locale="en"),
            format_date(add_months(closes, 1), "long", locale="en"),
        ),
    ]:
        assert f" {old} {new} " in log, (old, new, log)
    assert "Annual minimum royalty" in log and "Risk-sharing instrument" in log
    assert not re.search(r"[\u4e00-\u9fff]", log.split("broker@", 1)[0]), log


def test_one_save_shows_every_problem_each_naming_its_field(broker_client, match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    data = scalar_form(row, notice_days="", royalty_rate="30.00", entry_fee="5000.00")
    response = broker_client.post(f"/terms/{row.id}", data=data)
    assert response.status_code == 422
    page = text(response)
    summary = page.split("data-error-summary", 1)[1].split("</ul>", 1)[0]
    items = [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li[^>]*>(.*?)</li>", summary)]
    assert any(i.startswith("公示期（日）：此项必填") for i in items)  # the form's own check
    assert any(i.startswith("入门费（元）：入门费为5,000.00元") for i in items)  # and the rules'
    assert any(i.startswith("提成比例（%）：提成比例为30%") for i in items)
    assert "本次修改有 4 处问题" in page
    assert 'data-field-error="entry_fee"' in page and 'data-field-error="royalty_rate"' in page
    db.session.refresh(row)
    assert row.data["version"] == 1  # nothing saved


def test_every_fee_form_problem_is_listed(broker_client, match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    data = scalar_form(row, fee_form="deferred", annual_cap="1.00")
    page = text(broker_client.post(f"/terms/{row.id}", data=data))
    summary = page.split("data-error-summary", 1)[1].split("</ul>", 1)[0]
    for label in ("提成基数", "年度提成上限（元）", "延期支付计划", "延期支付期数"):
        assert label in summary, label
