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
    assert "措施8" in review.rule_source and "满5年" in review.reason
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
    assert not old_outcome.use_first_eligible
    assert use_first.sweep_use_first(date(2026, 1, 1))["due"] == 0


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
