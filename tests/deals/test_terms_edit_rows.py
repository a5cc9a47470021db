"""Term-sheet page: brokers edit the milestone plan and the 延期支付 schedule row by row."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from market.services import terms
from models import AuditLog, db


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def broker_client(client, auth, broker):
    db.session.commit()
    auth.login(broker.email)
    return client


@pytest.fixture
def sheet(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    return row


def scalar_form(row, **overrides) -> dict:
    """What the page posts for the scalar terms, unchanged unless overridden."""
    form = {"version": row.version_id, "rows_sent": "1"}
    for name, term in row.data["terms"].items():
        value = term["value"]
        if value is None:
            form[name] = ""
        elif term["unit"] in ("fen", "bps"):
            form[name] = f"{value / 100:.2f}"
        elif term["unit"] == "bool":
            form[name] = "true" if value else "false"
        else:
            form[name] = str(value)
    form.update(overrides)
    return form


def milestone_rows(*rows) -> dict:
    data = {}
    for i, (event, threshold, amount) in enumerate(rows):
        data |= {
            f"milestones-{i}-event": event,
            f"milestones-{i}-threshold": threshold,
            f"milestones-{i}-amount": amount,
        }
    return data


def instalment_rows(*rows) -> dict:
    data = {}
    for i, (due, amount) in enumerate(rows):
        data |= {f"deferred_schedule-{i}-due_on": due, f"deferred_schedule-{i}-amount": amount}
    return data


# 先用后转: 首台套 would fall inside the free window, so the draft pays it with first revenue.
DEFAULT_MILESTONES = (("first_revenue", "", "250000.00"),)


def test_page_shows_stored_rows_and_a_blank_row(broker_client, sheet):
    body = text(broker_client.get(f"/terms/{sheet.id}"))
    assert 'name="milestones-0-amount"' in body and 'value="250000.00"' in body
    assert 'name="milestones-1-event"' in body  # the blank row to add one
    assert 'name="deferred_schedule-0-due_on"' in body
    assert "js/indicator_rows.js" in body and "data-add-row" in body


def test_adding_a_milestone_saves_a_version_with_history(broker_client, sheet, broker):
    version = sheet.version_id
    data = scalar_form(sheet) | milestone_rows(
        *DEFAULT_MILESTONES, ("revenue_at_least", "5000000", "200000"), ("", "", "")
    )
    response = broker_client.post(f"/terms/{sheet.id}", data=data)
    assert response.status_code == 302
    db.session.refresh(sheet)
    assert sheet.version_id == version + 1
    added = sheet.data["milestones"][-1]
    assert added["event"] == "revenue_at_least"
    assert added["threshold"]["value"] == 500_000_000 and added["amount"]["value"] == 20_000_000
    assert added["amount"]["source"] == f"edit:{broker.email}"
    (change,) = sheet.data["history"]
    assert change["field"] == "milestones" and len(change["new"]) == 2
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "termsheet.edit"))
    assert len(entry.after["milestones"]) == 2
    page = text(broker_client.get(f"/terms/{sheet.id}"))
    history = page.split('id="hist-h"', 1)[1]
    assert "累计销售收入达到约定额（5,000,000.00元） 200,000.00元" in history
    assert "{&#39;event&#39;" not in history


def test_removing_every_milestone_is_saved(broker_client, sheet):
    data = scalar_form(sheet) | milestone_rows(("", "", ""))
    assert broker_client.post(f"/terms/{sheet.id}", data=data).status_code == 302
    db.session.refresh(sheet)
    assert sheet.data["milestones"] == []


def test_a_post_without_the_row_tables_leaves_rows_alone(broker_client, sheet):
    data = scalar_form(sheet, entry_fee="0.00")
    del data["rows_sent"]
    broker_client.post(f"/terms/{sheet.id}", data=data)
    db.session.refresh(sheet)
    assert len(sheet.data["milestones"]) == 1


def test_incomplete_rows_are_refused_next_to_the_row(broker_client, sheet):
    data = (
        scalar_form(sheet)
        | milestone_rows(*DEFAULT_MILESTONES, ("revenue_at_least", "", "300000"))
        | instalment_rows(("2027-13-01", "100"))
    )
    response = broker_client.post(f"/terms/{sheet.id}", data=data)
    body = text(response)
    assert response.status_code == 422
    assert re.search(
        r'data-field-error="milestones-1-threshold">.*请填写约定的累计销售收入', body, re.S
    )
    assert 'data-field-error="deferred_schedule-0-due_on"' in body
    assert 'value="300000"' in body  # what was typed stays
    db.session.refresh(sheet)
    assert sheet.version_id == 1 and len(sheet.data["milestones"]) == 1


def test_rule_breaking_rows_show_the_rule(broker_client, sheet):
    # Milestone fee form with a 延期支付 schedule: the whole table breaks a rule.
    data = (
        scalar_form(sheet)
        | milestone_rows(*DEFAULT_MILESTONES)
        | instalment_rows(("2027-06-01", "1000"))
    )
    response = broker_client.post(f"/terms/{sheet.id}", data=data)
    assert response.status_code == 422
    assert re.search(
        r'data-field-error="deferred_schedule">.*只有“延期支付”方式可约定分期', text(response), re.S
    )


def test_instalment_outside_the_term_is_flagged_on_its_row(broker_client, sheet):
    data = (
        scalar_form(sheet, fee_form="deferred", royalty_base="none")
        | milestone_rows(("", "", ""))
        | instalment_rows(("2027-06-01", "1000"), ("2040-01-01", "1000"))
    )
    response = broker_client.post(f"/terms/{sheet.id}", data=data)
    body = text(response)
    assert response.status_code == 422
    assert re.search(r'data-row-error="deferred_schedule-1">.*许可期限内', body, re.S)
    assert 'data-row-error="deferred_schedule-0"' not in body


def test_stale_version_gets_a_conflict_message(broker_client, sheet, broker):
    terms.edit_terms(sheet, {"cure_days": 45}, broker, sheet.version_id)
    db.session.commit()
    data = scalar_form(sheet, version="1") | milestone_rows(("first_unit", "", "1"))
    response = broker_client.post(f"/terms/{sheet.id}", data=data)
    assert response.status_code == 409
    assert "已被他人修改" in text(response)
