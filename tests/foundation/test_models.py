from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from market.services.listings import (
    add_patent,
    post_demand,
    post_outcome,
    update_demand,
    wan_to_fen,
    yuan_to_fen,
)
from models import (
    AuditLog,
    Demand,
    Match,
    Organization,
    Outcome,
    Patent,
    User,
    ValidationError,
    content_hash,
    db,
)

DEMAND = {
    "title": "海上风电场无人机自主巡检",
    "description": "需要续航≥45分钟的巡检无人机。",
    "scenario_type": "industry",
}


def test_demand_saved_with_hash_and_audit(enterprise):
    demand = post_demand(
        enterprise,
        {
            **DEMAND,
            "budget_min_fen": 0,
            "budget_max_fen": 10**9,
            "cooperation_modes": ["license", "use_first"],
            "industry_code": "3741",
        },
    )
    db.session.commit()
    stored = db.session.get(Demand, demand.id)
    assert stored.content_hash == content_hash(DEMAND["title"], DEMAND["description"])
    assert stored.indexed_hash is None and stored.needs_indexing
    assert stored.created_at.tzinfo is not None
    log = db.session.scalars(select(AuditLog)).one()
    assert (log.action, log.object_id) == ("demand.post", demand.id)


@pytest.mark.parametrize("title", ["", "   ", None])
def test_missing_title_rejected(enterprise, title):
    with pytest.raises(ValidationError) as info:
        post_demand(enterprise, {**DEMAND, "title": title})
    assert info.value.field == "title" and "标题不能为空" in info.value.message


def test_text_over_limit_rejected(enterprise):
    with pytest.raises(ValidationError, match="不能超过20000个字") as info:
        post_demand(enterprise, {**DEMAND, "description": "测" * 20_001})
    assert info.value.field == "description"
    with pytest.raises(ValidationError, match="不能超过200个字"):
        post_demand(enterprise, {**DEMAND, "title": "长" * 201})


def test_negative_budget_rejected(enterprise):
    with pytest.raises(ValidationError, match="预算不能为负数"):
        post_demand(enterprise, {**DEMAND, "budget_min_fen": -1})
    with pytest.raises(ValidationError, match="预算不能为负数"):
        wan_to_fen("-5", "budget_min", "预算")


def test_database_refuses_negative_budget_even_without_validators(enterprise):
    stmt = insert(Demand).values(
        organization_id=enterprise.id,
        title="x",
        description="y",
        scenario_type="industry",
        confidentiality="public",
        budget_min_fen=-5,
        status="published",
        indicators=[],
        cooperation_modes=[],
        ipc_codes=[],
        suggested_ipc=[],
        review_state="approved",
        is_demo=False,
    )
    with pytest.raises(IntegrityError):
        db.session.execute(stmt)
    db.session.rollback()


def test_budget_order_enforced_by_database(enterprise):
    demand = post_demand(enterprise, DEMAND)
    db.session.commit()
    stmt = (
        Demand.__table__.update()
        .where(Demand.id == demand.id)
        .values(budget_min_fen=500, budget_max_fen=100)
    )
    with pytest.raises(IntegrityError):
        db.session.execute(stmt)
    db.session.rollback()


def test_unknown_enum_values_rejected(enterprise):
    with pytest.raises(ValidationError, match="未知的场景类型"):
        post_demand(enterprise, {**DEMAND, "scenario_type": "space"})
    with pytest.raises(ValidationError, match="合作方式包含未知选项：lease"):
        post_demand(enterprise, {**DEMAND, "cooperation_modes": ["license", "lease"]})
    with pytest.raises(ValidationError, match="未知的国民经济行业代码"):
        post_demand(enterprise, {**DEMAND, "industry_code": "ZZ99"})


def test_indicators_validated_row_by_row(enterprise):
    rows = [{"name": "续航", "op": ">=", "value": "45", "unit": "分钟"}]
    demand = post_demand(enterprise, {**DEMAND, "indicators": rows})
    assert demand.indicators == [{"name": "续航", "op": ">=", "value": 45.0, "unit": "分钟"}]
    with pytest.raises(ValidationError, match="第2行指标“精度”的数值无效"):
        post_demand(enterprise, {**DEMAND, "indicators": rows + [{"name": "精度", "value": "高"}]})
    with pytest.raises(ValidationError, match="第1行指标的比较符无效"):
        post_demand(enterprise, {**DEMAND, "indicators": [{"name": "a", "op": "!", "value": 1}]})


def test_unknown_ipc_code_rejected(institution):
    with pytest.raises(ValidationError, match="未知的IPC分类号：Z99Z") as info:
        post_outcome(institution, {"title": "一种巡检无人机"}, ipc_codes=["A01B", "Z99Z"])
    assert info.value.field == "ipc_codes"
    outcome = post_outcome(institution, {"title": "一种巡检无人机"}, ipc_codes=["b64c", "A01B"])
    assert outcome.ipc_codes == ["B64C", "A01B"]


def test_duplicate_patent_number_rejected(institution):
    outcome = post_outcome(institution, {"title": "一种储能电池热管理方法"})
    add_patent(outcome, {"number": "CN 123456789 B", "kind": "invention"})
    db.session.commit()
    with pytest.raises(ValidationError, match="专利号 CN123456789B 已存在"):
        add_patent(outcome, {"number": "cn123456789b", "kind": "invention"})
    db.session.rollback()
    # And the database itself refuses it, whatever path the row takes.
    db.session.add(Patent(number="CN123456789B", kind="invention"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_patent_dates_and_life(institution):
    today = date(2026, 11, 22)
    with pytest.raises(ValidationError, match="授权日不能早于申请日"):
        add_patent(
            None, {"number": "CN1A", "applied_on": date(2020, 1, 1), "granted_on": date(2019, 1, 1)}
        )
    patent = add_patent(
        None, {"number": "CN2B", "granted_on": date(2020, 1, 1), "expires_on": date(2036, 11, 22)}
    )
    assert patent.in_force(today)
    assert round(patent.remaining_years(today)) == 10
    patent.legal_status = "expired"
    assert not patent.in_force(today)


def test_outcome_ranges(institution):
    with pytest.raises(ValidationError, match="TRL"):
        post_outcome(institution, {"title": "x", "trl": 10})
    with pytest.raises(ValidationError, match="团队赋权比例"):
        post_outcome(institution, {"title": "x", "team_share_pct": 101})
    with pytest.raises(ValidationError, match="报价不能为负数"):
        post_outcome(institution, {"title": "x", "asking_price_fen": -100})
    with pytest.raises(ValidationError, match="未知的成熟度"):
        post_outcome(institution, {"title": "x", "maturity": "mass"})


def test_money_parsing_is_exact():
    assert yuan_to_fen("0.1", "p", "价格") == 10
    assert yuan_to_fen("1,234.56", "p", "价格") == 123456
    assert wan_to_fen("12.5", "p", "价格") == 12_500_000
    assert yuan_to_fen("", "p", "价格") is None
    with pytest.raises(ValidationError, match="价格必须是数字"):
        yuan_to_fen("十万", "p", "价格")


def test_datetimes_are_timezone_aware(enterprise):
    shanghai = timezone(timedelta(hours=8))
    demand = post_demand(enterprise, DEMAND)
    demand.indexed_at = datetime(2026, 1, 1, 8, 0, tzinfo=shanghai)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Demand, demand.id)
    assert stored.indexed_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    demand.indexed_at = datetime(2026, 1, 1)  # naive: ambiguous, refused
    with pytest.raises(Exception, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_update_refreshes_hash_and_records_before_after(enterprise):
    demand = post_demand(enterprise, DEMAND)
    old_hash = demand.content_hash
    update_demand(demand, {"description": "新的需求描述，续航≥60分钟。"}, user_id=None)
    assert demand.content_hash != old_hash
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "demand.update")).one()
    assert log.before == {"description": DEMAND["description"]}
    assert log.after == {"description": "新的需求描述，续航≥60分钟。"}


def test_unknown_field_refused(enterprise):
    with pytest.raises(ValidationError, match="不支持的字段"):
        post_demand(enterprise, {**DEMAND, "is_admin": True})


def test_match_pair_unique(enterprise, institution):
    demand = post_demand(enterprise, DEMAND)
    outcome = post_outcome(institution, {"title": "巡检无人机"})
    db.session.add(Match(demand=demand, outcome=outcome, score=0.5))
    db.session.flush()
    db.session.add(Match(demand=demand, outcome=outcome, score=0.6))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_user_password_and_role(create_user, enterprise):
    with pytest.raises(ValidationError, match="密码至少需要8个字符"):
        User(email="a@b.cn", name="a", role="enterprise").set_password("short")
    with pytest.raises(ValidationError, match="未知的用户角色"):
        User(email="a@b.cn", name="a", role="god")
    with pytest.raises(ValidationError, match="有效的电子邮箱"):
        User(email="not-an-email", name="a", role="broker")
    user = create_user("Staff@Example.cn", "enterprise", enterprise)
    assert user.email == "staff@example.cn"
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("correct-horse-1") and not user.check_password("wrong")


def test_organization_kind_and_name(app):
    with pytest.raises(ValidationError, match="未知的机构类型"):
        Organization(name="x", kind="club")
    with pytest.raises(ValidationError, match="机构名称不能为空"):
        Organization(name=" ", kind="enterprise")
    db.session.add(Organization(name="同名机构", kind="enterprise"))
    db.session.flush()
    db.session.add(Organization(name="同名机构", kind="university"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_outcome_hash_changes_with_text(institution):
    outcome = post_outcome(institution, {"title": "甲", "abstract": "乙"})
    first = outcome.content_hash
    outcome.abstract = "丙"
    outcome.refresh_hash()
    assert outcome.content_hash != first
    assert db.session.get(Outcome, outcome.id).embedding_text() == "甲\n丙"


def test_budget_order_checked_by_service_with_field(enterprise):
    with pytest.raises(ValidationError, match="预算下限不能高于预算上限") as info:
        post_demand(enterprise, {**DEMAND, "budget_min_fen": 500, "budget_max_fen": 100})
    assert info.value.field == "budget_min"
    demand = post_demand(enterprise, {**DEMAND, "budget_min_fen": 100, "budget_max_fen": 500})
    with pytest.raises(ValidationError, match="预算下限不能高于预算上限"):
        update_demand(demand, {"budget_min_fen": 900})


def test_blank_industry_code_means_none(enterprise):
    demand = post_demand(enterprise, {**DEMAND, "industry_code": "  "})
    assert demand.industry_code is None
