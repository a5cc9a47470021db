"""Policy profiles in the database and term sheets drafted, edited and exported from it."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.services import deals, terms
from models import Conflict, PolicyProfile, TermSheet, db


def test_policy_profiles_load_idempotently_with_source_text(app):
    first = terms.load_policy_profiles()
    assert first["added"] == 4 and first["updated"] == 0
    assert terms.load_policy_profiles() == {"added": 0, "updated": 0, "unchanged": 4}
    row = db.session.get(PolicyProfile, "guangdong-2016")
    assert "broker_reward_max" in row.source_text
    assert row.data["key"] == "guangdong-2016" and row.name


def test_profiles_are_read_from_the_database_rows(app):
    terms.load_policy_profiles()
    row = db.session.get(PolicyProfile, "zhuhai-2025")
    row.source_text = row.source_text.replace("value = 5\n", "value = 3\n", 1)
    db.session.flush()
    rule = terms.get_profile("zhuhai-2025").rule("use_first_pool_after_years")
    assert rule.value == 3


def test_draft_for_match_uses_database_facts(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    sheet = terms.sheet_of(row)
    assert row.profile_key == "zhuhai-2025" and row.match_id == match.id
    assert sheet.value("base_price") == 100_000_000
    assert sheet.value("entry_fee") == 0
    assert sheet.term("entry_fee").source.startswith(("rule:", "default:"))
    assert sheet.term("entry_fee").citation
    assert sheet.licensee_is_sme is True
    assert row.licensee_id == match.demand.organization_id


def test_draft_for_deal_makes_the_sheet_current(match, broker):
    deal = deals.accept_match(match, broker)
    row = terms.draft_for_deal(deal, "zhuhai-2025", "use_first", broker, date(2026, 1, 5))
    assert deal.term_sheet_id == row.id and deals.current_sheet(deal) is row
    assert terms.sheet_of(row).drafted_on == date(2026, 1, 5)


def test_edit_is_revalidated_and_names_the_rule(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    with pytest.raises(terms.TermsRefused) as e:
        terms.edit_terms(row, {"entry_fee": 500_000}, broker, row.version_id)
    assert e.value.field == "entry_fee"
    assert "措施7" in e.value.message and "use_first_zero_entry_fee" in e.value.message
    version = row.version_id
    terms.edit_terms(row, {"royalty_rate": 350}, broker, version)
    assert row.data["version"] == 2 and row.data["terms"]["royalty_rate"]["value"] == 350
    assert row.data["terms"]["royalty_rate"]["source"] == f"edit:{broker.email}"
    assert row.history[0]["version"] == 1
    assert terms.changes_list(row)[0]["field"] == "royalty_rate"


def test_edit_with_stale_version_is_a_conflict(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    stale = row.version_id
    terms.edit_terms(row, {"royalty_rate": 350}, broker, stale)
    with pytest.raises(Conflict):
        terms.edit_terms(row, {"royalty_rate": 400}, broker, stale)
    assert row.data["terms"]["royalty_rate"]["value"] == 350


def test_concurrent_edit_in_another_session_is_a_conflict(match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    version = row.version_id
    with Session(db.engine) as other:
        theirs = other.get(TermSheet, row.id)
        theirs.status = "negotiating"
        other.commit()
    with pytest.raises(Conflict):
        terms.edit_terms(row, {"royalty_rate": 350}, broker, version)
    db.session.rollback()
    fresh = db.session.scalar(select(TermSheet))
    assert fresh.data["terms"]["royalty_rate"]["value"] != 350


def test_exports_carry_the_outcome(match, broker):
    from pypdf import PdfReader

    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    pdf = PdfReader(io.BytesIO(terms.export(row, "pdf")))
    assert "钢结构裂纹智能检测系统" in "".join(p.extract_text() for p in pdf.pages)
    record = json.loads(terms.export(row, "json"))
    assert record["subject"] == "钢结构裂纹智能检测系统"
    assert record["buyer"] == match.demand.organization.name
    csv_text = terms.export(row, "csv").decode("utf-8-sig")
    assert csv_text.startswith("合同类型")
    assert terms.export(row, "docx")[:2] == b"PK"


def test_preview_explains_why_no_terms(create_match, create_outcome):
    outcome = create_outcome("无报价成果", asking_price_fen=None)
    sheet, reason = terms.preview_for_match(create_match(outcome=outcome))
    assert sheet is None and "报价" in reason


def test_registration_export_names_both_parties_and_the_full_contract_amount(
    match, broker, make_deal
):
    from market.services import deals

    deal = make_deal(match, "negotiating")
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    deal.term_sheet_id = row.id
    db.session.flush()
    record = json.loads(terms.export(row, "json"))
    sheet = terms.sheet_of(row)
    assert record["contract_amount_fen"] == sheet.value("contract_amount")
    assert record["technology_amount_fen"] == record["contract_amount_fen"]
    assert record["seller_kind"] == "事业法人（高等院校）"
    assert record["seller_region_code"] == "440300" and record["buyer_region_code"] == "440400"
    assert record["registration_no"] == "（由技术合同登记机构填写）"
    assert record["fiscal_funding"] in ("否", "是（财政资金资助形成的成果）")
    assert broker.email in record["intermediary"] or (broker.name or "") in record["intermediary"]
    assert deals.current_sheet(deal) is row
    header = terms.export(row, "csv").decode("utf-8-sig").splitlines()[0]
    assert "技术交易额" in header and "卖方行政区划代码" in header


def test_empowerment_recorded_on_the_outcome_reaches_its_sheet(match, broker):
    match.outcome.team_share_pct = 70
    match.outcome.use_right_years = 10
    row = terms.draft_for_match(match, "shenzhen-2021", "license", broker)
    notes = terms.sheet_of(row).notes
    assert "赋权：成果完成人（团队）按份共有本成果，所有权份额70%" in notes
    assert "赋权：成果完成人（团队）享有本成果长期使用权10年" in notes
