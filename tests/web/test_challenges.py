"""揭榜挂帅 pages: the challenge on the public demand page, entering it, the enterprise's
decisions (入围 / 选定揭榜方) with CSRF, optimistic locking and errors next to the fields."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from market.services import challenges
from models import AuditLog, ChallengeSubmission, Demand, Match, Outcome, db, local_today

from .conftest import page

PITCH = "检出率实测98%，已在两处码头中试，满足≥95%的指标。"


def make_challenge(org, days_left: int = 12, **extra) -> Demand:
    values = {
        "organization_id": org.id,
        "title": "港口起重机钢结构裂纹智能检测揭榜",
        "description": "需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%，可提供码头场地。",
        "reward_fen": 50_000_000,
        "challenge_deadline": local_today() + timedelta(days=days_left),
        "indicators": [{"name": "检出率", "op": ">=", "value": 95, "unit": "%"}],
    }
    values.update(extra)
    demand = Demand(**values)
    demand.refresh_hash()
    db.session.add(demand)
    db.session.flush()
    return demand


def make_outcome(org, title: str = "钢结构裂纹智能检测系统", **extra) -> Outcome:
    outcome = Outcome(
        organization_id=org.id, title=title, abstract="机器视觉裂纹检测。", maturity="pilot"
    )
    for key, value in extra.items():
        setattr(outcome, key, value)
    outcome.refresh_hash()
    db.session.add(outcome)
    db.session.flush()
    return outcome


@pytest.fixture
def challenge(enterprise):
    demand = make_challenge(enterprise)
    db.session.commit()
    return demand


@pytest.fixture
def outcome(institution):
    item = make_outcome(institution)
    db.session.commit()
    return item


@pytest.fixture
def entries(challenge, institution, institution_user, create_org, create_user):
    """Two entries from two institutions."""
    lab = create_org("另一所测试研究院", "institute")
    lab_user = create_user("lab@example.org.cn", "institution", lab)
    first = challenges.submit(
        challenge, make_outcome(institution, "成果甲"), institution_user, PITCH
    )
    second = challenges.submit(challenge, make_outcome(lab, "成果乙"), lab_user, "成果乙的说明")
    db.session.commit()
    return first, second


def test_public_page_shows_reward_deadline_and_entries(client, challenge, entries):
    html = page(client.get(f"/demands/{challenge.id}"))
    assert "揭榜奖励" in html and "50 万元" in html
    assert "还剩 12 天" in html
    assert 'data-testid="challenge-entries">2 项成果已揭榜' in html
    assert 'data-testid="entry-form"' not in html  # anonymous visitors only look


def test_expired_challenge_says_so(client, enterprise):
    demand = make_challenge(enterprise, days_left=-2)
    db.session.commit()
    html = page(client.get(f"/demands/{demand.id}"))
    assert 'data-state="expired"' in html and "揭榜已截止" in html


def test_institution_enters_from_the_demand_page(
    client, auth, institution_user, challenge, outcome
):
    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{challenge.id}"))
    assert 'data-testid="entry-form"' in html and outcome.title in html
    response = client.post(
        f"/workspace/institution/challenges/{challenge.id}/enter",
        data={"outcome_id": str(outcome.id), "pitch": PITCH},
    )
    assert response.status_code == 302
    entry = db.session.scalar(select(ChallengeSubmission))
    assert (entry.outcome_id, entry.state, entry.pitch) == (outcome.id, "submitted", PITCH)
    mine = page(client.get("/workspace/institution/challenges"))
    assert challenge.title in mine and 'data-state="submitted"' in mine and "撤回" in mine
    again = page(client.get(f"/demands/{challenge.id}"))
    assert 'data-testid="my-entries"' in again and "已揭榜" in again


def test_entry_picker_searches_and_pages_many_outcomes(
    client, auth, institution_user, institution, challenge
):
    """With more outcomes than one picker page, the demand page links to a searchable, paged
    picker; an outcome chosen from page 2 stays selected when the entry fails validation."""
    many = [make_outcome(institution, title=f"测试成果{n:03d}") for n in range(55)]
    db.session.commit()
    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{challenge.id}"))
    assert 'data-testid="picker-more"' in html and "本机构有 55 项可揭榜成果" in html
    url = f"/workspace/institution/challenges/{challenge.id}/enter"
    html = page(client.get(url))
    assert "共 55 项可揭榜成果" in html and "第 1 / 2 页" in html
    assert "测试成果000" in html and "测试成果054" not in html
    html = page(client.get(url, query_string={"page": 2}))
    assert "测试成果054" in html and "测试成果000" not in html
    html = page(client.get(url, query_string={"q": "成果05"}))
    assert "共 5 项可揭榜成果" in html and "测试成果050" in html and "测试成果049" not in html
    html = page(client.get(url, query_string={"page": "99999999999999999999999"}))
    assert "第 2 / 2 页" in html
    last = many[-1]
    response = client.post(url, data={"outcome_id": str(last.id), "pitch": ""})
    assert response.status_code == 422
    assert f'<option selected value="{last.id}">' in page(response)


def test_entry_errors_show_next_to_fields_and_keep_values(
    client, auth, institution_user, challenge, outcome
):
    auth.login(institution_user.email)
    url = f"/workspace/institution/challenges/{challenge.id}/enter"
    response = client.post(url, data={"outcome_id": str(outcome.id), "pitch": ""})
    html = page(response)
    assert response.status_code == 422
    assert re.search(r'data-field-error="pitch">请填写揭榜说明', html)
    assert f'<option selected value="{outcome.id}">' in html
    long_pitch = "字" * 2001
    html = page(client.post(url, data={"outcome_id": str(outcome.id), "pitch": long_pitch}))
    assert 'data-field-error="pitch">不能超过2000个字' in html and long_pitch in html
    assert db.session.scalar(select(ChallengeSubmission)) is None


def test_expired_challenge_refuses_the_entry_with_the_reason(
    client, auth, institution_user, enterprise, outcome
):
    demand = make_challenge(enterprise, days_left=-1)
    db.session.commit()
    auth.login(institution_user.email)
    response = client.post(
        f"/workspace/institution/challenges/{demand.id}/enter",
        data={"outcome_id": str(outcome.id), "pitch": PITCH},
    )
    html = page(response)
    assert response.status_code == 422
    assert "揭榜已于" in html and "截止" in html and PITCH in html
    assert db.session.scalar(select(ChallengeSubmission)) is None


def test_another_institutions_outcome_is_forbidden(
    client, auth, institution_user, challenge, create_org
):
    foreign = make_outcome(create_org("另一所测试研究院", "institute"), "别人的成果")
    db.session.commit()
    auth.login(institution_user.email)
    response = client.post(
        f"/workspace/institution/challenges/{challenge.id}/enter",
        data={"outcome_id": str(foreign.id), "pitch": PITCH},
    )
    assert response.status_code == 403
    assert db.session.scalar(select(ChallengeSubmission)) is None


def test_enterprise_shortlists_then_picks_the_winner(client, auth, enterprise_user, entries):
    first, second = entries
    auth.login(enterprise_user.email)
    index = page(client.get("/workspace/enterprise/"))
    assert f"/workspace/enterprise/challenges/{first.demand_id}" in index
    html = page(client.get(f"/workspace/enterprise/challenges/{first.demand_id}"))
    assert "成果甲" in html and "成果乙" in html and PITCH in html
    assert "入围" in html and "选定揭榜方" in html
    response = client.post(
        f"/workspace/enterprise/submissions/{second.id}/decision",
        data={"action": "shortlist", f"s{second.id}-version": str(second.version_id)},
    )
    assert response.status_code == 302
    response = client.post(
        f"/workspace/enterprise/submissions/{first.id}/decision",
        data={
            "action": "winner",
            f"s{first.id}-version": str(first.version_id),
            f"s{first.id}-note": "检出率最高",
            f"s{first.id}-confirm_winner": "y",
        },
        follow_redirects=True,
    )
    html = page(response)
    assert "已选定“成果甲”为揭榜方" in html
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "winner"
    assert db.session.get(ChallengeSubmission, second.id).state == "not_selected"
    assert 'value="winner"' not in html  # decided: no more buttons
    assert db.session.scalar(select(Match)).stage == "proposed"
    logged = set(db.session.scalars(select(AuditLog.action)))
    assert {"challenge.shortlist", "challenge.winner", "challenge.not_selected"} <= logged
    public = page(client.get(f"/demands/{first.demand_id}"))
    assert 'data-state="decided"' in public


def test_other_enterprise_can_neither_see_nor_decide(
    client, auth, entries, create_org, create_user
):
    first, _second = entries
    create_user("rival@example.com", "enterprise", create_org("另一家测试企业"))
    db.session.commit()
    auth.login("rival@example.com")
    assert client.get(f"/workspace/enterprise/challenges/{first.demand_id}").status_code == 403
    response = client.post(
        f"/workspace/enterprise/submissions/{first.id}/decision", data={"action": "winner"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "submitted"


def test_institution_cannot_open_the_enterprise_page(client, auth, institution_user, entries):
    auth.login(institution_user.email)
    assert client.get(f"/workspace/enterprise/challenges/{entries[0].demand_id}").status_code == 403


def test_stale_version_answers_409_and_keeps_the_note(client, auth, enterprise_user, entries):
    first, _second = entries
    seen = first.version_id
    challenges.shortlist(first, enterprise_user)  # someone else, meanwhile
    db.session.commit()
    auth.login(enterprise_user.email)
    response = client.post(
        f"/workspace/enterprise/submissions/{first.id}/decision",
        data={
            "action": "winner",
            f"s{first.id}-version": str(seen),
            f"s{first.id}-note": "我的说明",
            f"s{first.id}-confirm_winner": "y",
        },
    )
    html = page(response)
    assert response.status_code == 409
    assert "已被他人更新" in html and "我的说明" in html
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "shortlisted"


def test_note_too_long_is_shown_next_to_the_field(client, auth, enterprise_user, entries):
    first, _second = entries
    auth.login(enterprise_user.email)
    response = client.post(
        f"/workspace/enterprise/submissions/{first.id}/decision",
        data={"action": "shortlist", f"s{first.id}-note": "字" * 2001},
    )
    assert response.status_code == 422
    assert f'data-field-error="s{first.id}-note">不能超过2000个字' in page(response)


def test_decisions_need_the_csrf_token(app, client, auth, enterprise_user, entries, monkeypatch):
    first, _second = entries
    auth.login(enterprise_user.email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = f"/workspace/enterprise/submissions/{first.id}/decision"
    assert client.post(url, data={"action": "shortlist"}).status_code in (400, 422)
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "submitted"
    html = page(client.get(f"/workspace/enterprise/challenges/{first.demand_id}"))
    token = re.search(rf'name="s{first.id}-csrf_token" type="hidden" value="([^"]+)"', html)
    response = client.post(
        url, data={"action": "shortlist", f"s{first.id}-csrf_token": token.group(1)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "shortlisted"


def test_institution_withdraws_its_entry(client, auth, institution_user, entries):
    first, _second = entries
    auth.login(institution_user.email)
    response = client.post(
        f"/workspace/institution/submissions/{first.id}/withdraw",
        data={"version": str(first.version_id)},
        follow_redirects=True,
    )
    assert "已撤回" in page(response)
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "withdrawn"


def test_withdrawing_another_institutions_entry_is_forbidden(
    client, auth, institution_user, entries
):
    _first, second = entries
    auth.login(institution_user.email)
    response = client.post(f"/workspace/institution/submissions/{second.id}/withdraw")
    assert response.status_code == 403


def test_choosing_the_winner_needs_a_confirmation(client, auth, enterprise_user, entries):
    """选定揭榜方 closes the challenge for good: without the box ticked nothing changes."""
    first, second = entries
    auth.login(enterprise_user.email)
    response = client.post(
        f"/workspace/enterprise/submissions/{first.id}/decision",
        data={
            "action": "winner",
            f"s{first.id}-version": str(first.version_id),
            f"s{first.id}-note": "检出率最高",
        },
    )
    html = page(response)
    assert response.status_code == 422
    assert "选定揭榜方不可撤销：请先勾选确认" in html and "检出率最高" in html
    db.session.expire_all()
    assert db.session.get(ChallengeSubmission, first.id).state == "submitted"
    assert db.session.get(ChallengeSubmission, second.id).state == "submitted"
