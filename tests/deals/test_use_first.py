"""到期即转 sweep with a controllable clock, and the owner's consent or refusal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from market.services import use_first
from models import AuditLog, Forbidden, UseFirstReview, ValidationError, db


@pytest.fixture
def old_outcome(create_outcome):
    return create_outcome("到期未实施成果", granted_on=date(2019, 6, 1))


def test_sweep_marks_due_outcomes_once(old_outcome, create_outcome):
    young = create_outcome("新授权成果", granted_on=date(2024, 1, 1))
    private = create_outcome("企业资助成果", granted_on=date(2015, 1, 1), fiscal=False)
    done = create_outcome("已实施成果", granted_on=date(2015, 1, 1), implemented=True)
    assert use_first.sweep_use_first(date(2024, 5, 31))["due"] == 0
    result = use_first.sweep_use_first(date(2024, 6, 1))
    assert result["due"] == 1
    assert old_outcome.use_first_state == "pending_consent"
    assert young.use_first_state is None and private.use_first_state is None
    assert done.use_first_state is None
    assert use_first.sweep_use_first(date(2024, 6, 2)) == {"checked": 0, "due": 0}
    assert db.session.scalar(select(func.count()).select_from(UseFirstReview)) == 1
    review = db.session.scalar(select(UseFirstReview))
    # The owner is a 深圳 university: its own regional profile decides (issue 18), and the 5
    # years are a platform default there, not 珠海 措施8's.
    assert "use_first_pool_after_years" in review.rule_source and "满5年" in review.reason
    assert "实践默认值" in review.rule_source
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "use_first.due"))


def test_owner_consents_and_outcome_joins_pool(old_outcome, create_user, institution, enterprise):
    use_first.sweep_use_first(date(2025, 1, 1))
    [review] = use_first.pending_consents(institution.id)
    stranger = create_user("other@example.cn", "enterprise", enterprise)
    with pytest.raises(Forbidden):
        use_first.consent(review, stranger)
    owner = create_user("tto@example.cn", "institution", institution)
    use_first.consent(review, owner)
    assert old_outcome.use_first_state == "pooled" and old_outcome.use_first_eligible
    assert "use_first" in old_outcome.transfer_modes
    assert use_first.pending_consents(institution.id) == []
    with pytest.raises(ValidationError):
        use_first.decline(review, owner, "已经处理过了")


def test_owner_declines_with_reason(old_outcome, create_user, institution):
    use_first.sweep_use_first(date(2025, 1, 1))
    [review] = use_first.pending_consents(institution.id)
    owner = create_user("tto@example.cn", "institution", institution)
    with pytest.raises(ValidationError) as e:
        use_first.decline(review, owner, "不")
    assert e.value.field == "reason"
    use_first.decline(review, owner, "已与企业签订实施许可，正在实施")
    assert review.state == "declined" and old_outcome.use_first_state == "declined"
    assert review.review_state == "pending"  # a broker reviews the 正当理由
    assert not old_outcome.use_first_eligible
    assert use_first.sweep_use_first(date(2026, 1, 1))["due"] == 0


def test_broker_reviews_the_owners_reason(old_outcome, create_user, institution, broker):
    use_first.sweep_use_first(date(2025, 1, 1))
    [review] = use_first.pending_consents(institution.id)
    owner = create_user("tto@example.cn", "institution", institution)
    use_first.decline(review, owner, "理由不充分的说明")
    assert use_first.reasons_to_review() == [review]
    with pytest.raises(Forbidden):
        use_first.review_reason(review, owner, True, "自己审核自己")
    with pytest.raises(ValidationError):
        use_first.review_reason(review, broker, False, "短")
    use_first.review_reason(review, broker, False, "未提供实施合同，理由不成立")
    assert review.state == "pending_consent" and review.review_state == "rejected"
    assert old_outcome.use_first_state == "pending_consent"
    assert use_first.pending_consents(institution.id) == [review]
    use_first.decline(review, owner, "已与示例企业签订许可合同并开始实施，附合同编号")
    use_first.review_reason(review, broker, True, "合同已核实，理由成立")
    assert review.state == "declined" and review.review_state == "upheld"
    assert use_first.reasons_to_review() == []


def test_sweep_uses_each_outcomes_regional_profile(create_outcome, create_org):
    from models import Outcome

    zhuhai_uni = create_org("示例珠海大学", "university", city="珠海市")
    outcome = create_outcome("珠海到期成果", granted_on=date(2019, 6, 1))
    db.session.get(Outcome, outcome.id).organization_id = zhuhai_uni.id
    db.session.flush()
    db.session.expire(outcome)
    assert use_first.profile_for(outcome).key == "zhuhai-2025"
    use_first.sweep_use_first(date(2025, 1, 1))
    review = db.session.scalar(
        select(UseFirstReview).where(UseFirstReview.outcome_id == outcome.id)
    )
    assert "措施8" in review.rule_source


def test_cli_sweep_with_today(runner, old_outcome):
    db.session.commit()
    result = runner.invoke(args=["use-first", "sweep", "--today", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert '"due": 1' in result.output
    again = runner.invoke(args=["use-first", "sweep", "--today", "2025-01-01"])
    assert '"due": 0' in again.output
    bad = runner.invoke(args=["use-first", "sweep", "--today", "2025/01/01"])
    assert bad.exit_code != 0


def test_cli_policies_load(runner):
    result = runner.invoke(args=["policies", "load"])
    assert result.exit_code == 0, result.output
    assert '"added": 4' in result.output


def test_celery_task_runs_the_sweep(app, old_outcome):
    from workers.tasks import use_first_sweep

    db.session.commit()
    assert use_first_sweep.apply(args=("2025-01-01",)).get()["due"] == 1


def test_sweep_covers_applied_research_only(create_outcome):
    stated = create_outcome("应用技术成果", granted_on=date(2019, 6, 1), research_type="applied")
    basic = create_outcome("基础研究成果", granted_on=date(2019, 6, 1), research_type="basic")
    other = create_outcome("其他类成果", granted_on=date(2019, 6, 1), research_type="other")
    unstated = create_outcome("未填研究类型成果", granted_on=date(2019, 6, 1))
    assert unstated.research_type is None and unstated.research_type_label.startswith("应用技术")
    use_first.sweep_use_first(date(2025, 1, 1))
    assert stated.use_first_state == unstated.use_first_state == "pending_consent"
    assert basic.use_first_state is None and other.use_first_state is None


def test_sweep_covers_state_owned_enterprises_not_private_ones(create_outcome, create_org):
    from models import Outcome

    def owned_by(org, title):
        outcome = create_outcome(title, granted_on=date(2019, 6, 1))
        db.session.get(Outcome, outcome.id).organization_id = org.id
        db.session.flush()
        db.session.expire(outcome)
        return outcome

    soe = create_org("示例国有集团有限公司", "enterprise", state_owned=True)
    private = create_org("示例民营科技有限公司", "enterprise")
    agency = create_org("示例技术转移服务中心", "service")
    hospital = create_org("示例人民医院", "hospital")
    outcomes = {
        org.name: owned_by(org, f"{org.name}的成果") for org in (soe, private, agency, hospital)
    }
    assert soe.owner_type_label == "国有企业" and private.owner_type_label == "企业"
    use_first.sweep_use_first(date(2025, 1, 1))
    states = {name: outcome.use_first_state for name, outcome in outcomes.items()}
    assert states == {
        soe.name: "pending_consent",
        private.name: None,
        agency.name: None,
        hospital.name: "pending_consent",
    }
    review = db.session.scalar(
        select(UseFirstReview).where(UseFirstReview.outcome_id == outcomes[soe.name].id)
    )
    assert review is not None


def test_admin_runs_the_sweep_from_the_page_and_sees_what_it_found(
    client, auth, create_user, old_outcome, institution
):
    """管理 → 到期即转排查: one click runs today's sweep; the page lists the run (who, counts),
    the outcomes it found and every case by state. Other roles may not run it."""
    create_user("admin@test.cn", "admin")
    tto = create_user("tto@test.cn", "institution", institution)
    db.session.commit()
    auth.login(tto.email)
    assert client.post("/admin/use-first").status_code == 403
    auth.logout()
    auth.login("admin@test.cn")
    page = client.get("/admin/use-first").get_data(as_text=True)
    assert 'data-testid="no-sweeps"' in page and "到期未实施成果" not in page
    response = client.post("/admin/use-first", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "排查完成：检查了 1 项财政资助成果，新发现 1 项到期未实施" in page
    assert 'data-testid="found"' in page and "到期未实施成果" in page
    assert 'data-testid="reviews"' in page and "待权利人确认" in page
    db.session.expire_all()
    assert old_outcome.use_first_state == "pending_consent"
    run = db.session.scalar(select(AuditLog).where(AuditLog.action == "use_first.sweep"))
    assert run.after["outcomes"] == [old_outcome.id] and run.user_id is not None
    again = client.post("/admin/use-first", follow_redirects=True).get_data(as_text=True)
    assert "新发现 0 项到期未实施" in again  # safe to run twice
    pooled = client.get("/admin/use-first?state=pooled").get_data(as_text=True)
    assert "共 0 条" in pooled
