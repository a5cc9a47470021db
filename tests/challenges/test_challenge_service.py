"""揭榜挂帅 service: who may enter, when the challenge is open, one winner, locking, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.services import challenges, deals, matching
from models import (
    AuditLog,
    ChallengeSubmission,
    Conflict,
    Deal,
    Forbidden,
    Match,
    ValidationError,
    db,
    local_today,
)

from .conftest import make_challenge, make_outcome

PITCH = "检出率实测98%，已在两处码头中试，满足≥95%的指标。"


def actions(entry_type: str = "challengesubmission") -> list[str]:
    stmt = select(AuditLog.action).where(AuditLog.object_type == entry_type).order_by(AuditLog.id)
    return list(db.session.scalars(stmt))


def test_institution_enters_an_open_challenge(challenge, outcome, tto):
    entry = challenges.submit(challenge, outcome, tto, f"  {PITCH}  ")
    assert (entry.state, entry.pitch, entry.organization_id) == (
        "submitted",
        PITCH,
        outcome.organization_id,
    )
    assert entry.submitted_by == tto.id and entry.version_id == 1
    status = challenges.status(challenge)
    assert status.is_open and status.days_left == 30 and status.entries == 1
    assert actions() == ["challenge.submit"]


def test_expired_challenge_refuses_entries(enterprise, outcome, tto):
    expired = make_challenge(enterprise, days_left=-1)
    with pytest.raises(ValidationError) as e:
        challenges.submit(expired, outcome, tto, PITCH)
    assert e.value.field == "challenge_deadline" and "截止" in e.value.message
    assert challenges.status(expired).state == "expired"


def test_deadline_day_itself_is_still_open(enterprise, outcome, tto):
    last_day = make_challenge(enterprise, days_left=0)
    assert challenges.status(last_day).days_left == 0
    assert challenges.submit(last_day, outcome, tto, PITCH).state == "submitted"


def test_closed_demand_refuses_entries(enterprise, outcome, tto):
    closed = make_challenge(enterprise, status="closed")
    with pytest.raises(ValidationError) as e:
        challenges.submit(closed, outcome, tto, PITCH)
    assert e.value.field == "status"


def test_plain_demand_is_not_a_challenge(enterprise, outcome, tto):
    plain = make_challenge(enterprise, reward_fen=None, challenge_deadline=None)
    with pytest.raises(ValidationError) as e:
        challenges.submit(plain, outcome, tto, PITCH)
    assert e.value.field == "demand_id"


def test_only_own_published_outcomes_may_enter(challenge, outcome, other_tto, tto, institution):
    with pytest.raises(Forbidden) as e:
        challenges.submit(challenge, outcome, other_tto, PITCH)
    assert e.value.field == "outcome_id"
    draft = make_outcome(institution, "草稿成果", status="draft")
    with pytest.raises(ValidationError) as e:
        challenges.submit(challenge, draft, tto, PITCH)
    assert e.value.field == "outcome_id" and "已发布" in e.value.message


def test_enterprises_and_unapproved_institutions_may_not_enter(
    challenge, outcome, boss, tto, institution
):
    with pytest.raises(Forbidden):
        challenges.submit(challenge, outcome, boss, PITCH)
    institution.approved = False
    with pytest.raises(Forbidden):
        challenges.submit(challenge, outcome, tto, PITCH)


@pytest.mark.parametrize(("pitch", "message"), [("   ", "不能为空"), ("字" * 2001, "不能超过2000")])
def test_pitch_is_required_and_bounded(challenge, outcome, tto, pitch, message):
    with pytest.raises(ValidationError) as e:
        challenges.submit(challenge, outcome, tto, pitch)
    assert e.value.field == "pitch" and message in e.value.message


def test_one_entry_per_outcome_until_withdrawn(challenge, outcome, tto):
    entry = challenges.submit(challenge, outcome, tto, PITCH)
    with pytest.raises(ValidationError) as e:
        challenges.submit(challenge, outcome, tto, PITCH)
    assert e.value.field == "outcome_id"
    challenges.withdraw(entry, tto, expected_version=entry.version_id)
    assert challenges.status(challenge).entries == 0
    again = challenges.submit(challenge, outcome, tto, "第二次揭榜：补充了现场数据。")
    assert again.id == entry.id and again.state == "submitted"
    assert actions() == ["challenge.submit", "challenge.withdraw", "challenge.submit"]


def test_only_the_submitting_institution_withdraws(challenge, outcome, tto, other_tto, boss):
    entry = challenges.submit(challenge, outcome, tto, PITCH)
    for user in (other_tto, boss):
        with pytest.raises(Forbidden):
            challenges.withdraw(entry, user)


@pytest.fixture
def three_entries(challenge, institution, other_lab, tto, other_tto):
    first = challenges.submit(challenge, make_outcome(institution, "成果甲"), tto, PITCH)
    second = challenges.submit(challenge, make_outcome(other_lab, "成果乙"), other_tto, PITCH)
    gone = challenges.submit(challenge, make_outcome(institution, "成果丙"), tto, PITCH)
    challenges.withdraw(gone, tto)
    db.session.flush()
    return first, second, gone


def test_enterprise_picks_one_winner_and_the_rest_are_not_selected(challenge, boss, three_entries):
    first, second, gone = three_entries
    challenges.shortlist(second, boss, "进入现场测试", expected_version=second.version_id)
    assert second.state == "shortlisted" and second.decision_note == "进入现场测试"
    winner = challenges.pick_winner(first, boss, "检出率最高", expected_version=first.version_id)
    assert (winner.state, winner.decided_by, winner.decision_note) == (
        "winner",
        boss.id,
        "检出率最高",
    )
    assert second.state == "not_selected" and second.decided_by == boss.id
    assert gone.state == "withdrawn"
    assert challenges.status(challenge).state == "decided"
    assert [e.id for e in challenges.for_demand(challenge, boss)] == [first.id, second.id, gone.id]
    logged = db.session.execute(
        select(AuditLog.action, AuditLog.object_id, AuditLog.after).order_by(AuditLog.id)
    ).all()
    tail = [(a, i) for a, i, _ in logged[-4:]]
    assert tail == [
        ("challenge.shortlist", second.id),
        ("challenge.not_selected", second.id),
        ("challenge.winner", first.id),
        ("challenge.propose", winner.match_id),
    ]
    assert logged[-2].after["state"] == "winner"


def test_winner_becomes_a_proposal_brokers_can_carry_to_a_deal(
    challenge, boss, three_entries, create_user
):
    first, _second, _gone = three_entries
    challenges.pick_winner(first, boss)
    match = db.session.get(Match, first.match_id)
    assert (match.demand_id, match.outcome_id, match.stage) == (
        challenge.id,
        first.outcome_id,
        "proposed",
    )
    assert match.model_version == "challenge" and "揭榜方" in match.explanation["sentence"]
    broker = create_user("broker@example.cn", "broker")
    deal = deals.accept_match(match, broker, match.version_id)
    assert db.session.get(Deal, deal.id).match_id == match.id


def test_winner_reuses_an_existing_proposal(challenge, outcome, tto, boss):
    existing = Match(demand_id=challenge.id, outcome_id=outcome.id, score=0.6, stage="withdrawn")
    db.session.add(existing)
    entry = challenges.submit(challenge, outcome, tto, PITCH)
    challenges.pick_winner(entry, boss)
    assert entry.match_id == existing.id and existing.stage == "proposed"
    assert existing.score == 0.6
    assert db.session.scalar(select(db.func.count(Match.id))) == 1


def test_no_entries_and_no_second_winner_once_decided(
    challenge, institution, tto, boss, three_entries
):
    first, second, _gone = three_entries
    challenges.pick_winner(first, boss)
    with pytest.raises(Conflict):
        challenges.pick_winner(second, boss)
    with pytest.raises(ValidationError) as e:
        challenges.submit(challenge, make_outcome(institution, "迟到的成果"), tto, PITCH)
    assert e.value.field == "demand_id" and "已选定揭榜方" in e.value.message
    with pytest.raises(ValidationError):
        challenges.withdraw(first, tto)


def test_stale_version_is_a_conflict(boss, three_entries):
    first, _second, _gone = three_entries
    seen = first.version_id
    challenges.shortlist(first, boss, expected_version=seen)
    with pytest.raises(Conflict) as e:
        challenges.pick_winner(first, boss, expected_version=seen)
    assert "刷新" in e.value.message
    assert first.state == "shortlisted"


def test_other_enterprises_neither_see_nor_decide(rival_boss, challenge, three_entries):
    first, _second, _gone = three_entries
    with pytest.raises(Forbidden):
        challenges.for_demand(challenge, rival_boss)
    with pytest.raises(Forbidden):
        challenges.shortlist(first, rival_boss)
    with pytest.raises(Forbidden):
        challenges.pick_winner(first, rival_boss)
    assert first.state == "submitted"


def test_admin_may_decide_and_brokers_may_look(create_user, challenge, three_entries):
    first, _second, _gone = three_entries
    broker = create_user("broker@example.cn", "broker")
    assert len(challenges.for_demand(challenge, broker)) == 3
    with pytest.raises(Forbidden):
        challenges.pick_winner(first, broker)
    admin = create_user("ops@example.com", "admin")
    assert challenges.pick_winner(first, admin).state == "winner"


def test_decision_note_is_bounded(boss, three_entries):
    first, _second, _gone = three_entries
    with pytest.raises(ValidationError) as e:
        challenges.shortlist(first, boss, "字" * 2001)
    assert e.value.field == "note"


def test_database_allows_one_winner_per_challenge(boss, three_entries):
    first, second, _gone = three_entries
    first.state = second.state = "winner"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_unknown_states_and_duplicate_pairs(challenge, outcome, tto):
    entry = challenges.submit(challenge, outcome, tto, PITCH)
    with pytest.raises(ValidationError):
        entry.state = "lost"
    db.session.add(
        ChallengeSubmission(
            demand_id=challenge.id,
            outcome_id=outcome.id,
            organization_id=outcome.organization_id,
            pitch=PITCH,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_institution_lists_its_own_entries(challenge, tto, three_entries, institution):
    mine = challenges.for_organization(institution.id)
    assert {e.outcome.title for e in mine} == {"成果甲", "成果丙"}
    eligible = challenges.eligible_outcomes(institution.id, challenge)
    assert [o.title for o in eligible.items] == ["成果丙"]  # withdrawn may enter again
    assert eligible.total == 1


def test_days_left_counts_from_today(enterprise):
    far = make_challenge(enterprise, days_left=10)
    assert challenges.status(far, on=local_today() + timedelta(days=3)).days_left == 7
    open_ended = make_challenge(enterprise, days_left=None, title="长期揭榜")
    assert challenges.status(open_ended).days_left is None
    assert challenges.status(open_ended).is_open


def test_refreshing_proposals_never_withdraws_the_winner(challenge, boss, three_entries):
    first, _second, _gone = three_entries
    challenges.pick_winner(first, boss)
    matching.propose_for_demand(challenge.id)
    match = db.session.get(Match, first.match_id)
    assert (match.stage, match.model_version) == ("proposed", "challenge")


def test_entry_picker_puts_proposed_outcomes_first_and_searches_and_pages(challenge, institution):
    """An institution with many outcomes finds the right one: the matcher's proposals for this
    demand first (best first), the rest by title, 50 a page, narrowed by a title search."""
    many = [make_outcome(institution, title=f"成果{n:03d}") for n in range(60)]
    crack = make_outcome(institution, title="起重机裂纹检测")
    db.session.add_all(
        [
            Match(demand_id=challenge.id, outcome_id=many[7].id, score=0.4),
            Match(demand_id=challenge.id, outcome_id=crack.id, score=0.9),
        ]
    )
    db.session.flush()

    first = challenges.eligible_outcomes(institution.id, challenge)
    assert first.total == 61 and first.pages == 2 and len(first.items) == 50
    assert [o.title for o in first.items[:4]] == ["起重机裂纹检测", "成果007", "成果000", "成果001"]
    second = challenges.eligible_outcomes(institution.id, challenge, page=2)
    assert len(second.items) == 11 and second.items[-1].title == "成果059"
    beyond = challenges.eligible_outcomes(institution.id, challenge, page=99)
    assert beyond.page == 2  # a page past the end shows the last one
    found = challenges.eligible_outcomes(institution.id, challenge, query="裂纹")
    assert [o.title for o in found.items] == ["起重机裂纹检测"] and found.total == 1
    literal = challenges.eligible_outcomes(institution.id, challenge, query="%")
    assert literal.total == 0  # a wildcard is searched for literally


def test_entry_and_decisions_keep_the_time_they_happened(enterprise, challenge, outcome, tto, boss):
    """A past entry (an import, the demo's 示例 stories) is checked against the deadline of its
    own day and keeps its own times, down to the proposal it leads to."""
    entered = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    closed = make_challenge(enterprise, challenge_deadline=date(2026, 1, 10))
    entry = challenges.submit(closed, outcome, tto, PITCH, now=entered)
    assert entry.created_at == entered
    challenges.shortlist(entry, boss, now=entered + timedelta(days=2))
    assert entry.decided_at == entered + timedelta(days=2)
    challenges.pick_winner(entry, boss, now=entered + timedelta(days=9))
    assert entry.decided_at == entry.match.created_at == entered + timedelta(days=9)
    late = make_outcome(outcome.organization, "另一项裂纹检测成果")
    with pytest.raises(ValidationError):
        challenges.submit(closed, late, tto, PITCH, now=datetime(2026, 1, 11, 2, tzinfo=UTC))
