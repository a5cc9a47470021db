"""请经纪人牵线对接 end to end: the request is stored, reaches the broker's queue and proposal page,
the broker's answer reaches the party, and every step is a notification in each workspace."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from market.services import introductions, notifications
from models import AuditLog, Conflict, Forbidden, IntroRequest, Notification, ValidationError, db


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def people(create_user, create_org, enterprise, institution, broker):
    stranger_org = create_org("别家测试企业", "enterprise")
    users = {
        "boss": create_user("boss@example.cn", "enterprise", enterprise),
        "tto": create_user("tto@example.edu.cn", "institution", institution),
        "stranger": create_user("stranger@example.cn", "enterprise", stranger_org),
        "broker": broker,
    }
    db.session.flush()
    return users


def kinds(user) -> list[str]:
    return [n.kind for n in notifications.recent(user)]


# -- service -------------------------------------------------------------------------------------


def test_request_is_stored_and_notifies_brokers_and_the_other_side(match, people):
    intro = introductions.request_introduction(match, people["boss"], "  请尽快联系  ")
    assert (intro.match_id, intro.requested_by, intro.state) == (
        match.id,
        people["boss"].id,
        "requested",
    )
    assert intro.organization_id == people["boss"].organization_id
    assert intro.message == "请尽快联系" and intro.requested_at is not None
    assert kinds(people["broker"]) == ["intro_requested"]
    assert kinds(people["tto"]) == ["intro_requested"]
    assert kinds(people["boss"]) == [] and kinds(people["stranger"]) == []
    broker_note = notifications.recent(people["broker"])[0]
    assert broker_note.data["org"] == "示例测试科技有限公司" and broker_note.match_id == match.id
    assert notifications.unread_count(people["broker"]) == 1
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "match.request_intro"))


def test_asking_twice_is_a_conflict(match, people):
    introductions.request_introduction(match, people["boss"])
    with pytest.raises(Conflict, match="等待经纪人答复"):
        introductions.request_introduction(match, people["boss"])


def test_accept_goes_back_to_both_sides(match, people):
    intro = introductions.request_introduction(match, people["boss"])
    introductions.answer_introduction(intro, people["broker"], True, "本周内联系")
    assert (intro.state, intro.answered_by, intro.answer_note) == (
        "accepted",
        people["broker"].id,
        "本周内联系",
    )
    assert kinds(people["boss"]) == ["intro_accepted"]
    assert kinds(people["tto"]) == ["intro_accepted", "intro_requested"]
    with pytest.raises(Conflict, match="已由经纪人答复"):
        introductions.answer_introduction(intro, people["broker"], False, "改主意")


def test_decline_needs_a_reason_and_may_be_asked_again(match, people):
    intro = introductions.request_introduction(match, people["boss"])
    with pytest.raises(ValidationError) as caught:
        introductions.answer_introduction(intro, people["broker"], False, " ")
    assert caught.value.field == "note"
    introductions.answer_introduction(intro, people["broker"], False, "价格差距过大")
    assert kinds(people["boss"]) == ["intro_declined"]
    assert notifications.recent(people["boss"])[0].data["note"] == "价格差距过大"
    assert kinds(people["tto"]) == ["intro_requested"]  # a refusal is news for the asker only
    again = introductions.request_introduction(match, people["boss"], "已调整预算")
    assert again.id == intro.id and again.pending and again.answer_note is None


def test_only_parties_ask_and_only_staff_answer(match, people):
    with pytest.raises(Forbidden):
        introductions.request_introduction(match, people["stranger"])
    intro = introductions.request_introduction(match, people["boss"])
    for who in ("boss", "tto", "stranger"):
        with pytest.raises(Forbidden):
            introductions.answer_introduction(intro, people[who], True)


def test_broker_only_demand_hides_the_request_from_the_outcome_side(match, people):
    match.demand.confidentiality = "broker_only"
    introductions.request_introduction(match, people["boss"])
    assert kinds(people["tto"]) == []
    assert kinds(people["broker"]) == ["intro_requested"]


def test_desensitized_demand_keeps_the_asker_anonymous_for_the_institution(match, people):
    match.demand.confidentiality = "desensitized"
    introductions.request_introduction(match, people["boss"])
    assert "org" not in notifications.recent(people["tto"])[0].data
    assert notifications.recent(people["broker"])[0].data["org"] == "示例测试科技有限公司"


def test_mark_all_read(match, people):
    introductions.request_introduction(match, people["boss"])
    assert notifications.mark_all_read(people["broker"]) == 1
    assert notifications.unread_count(people["broker"]) == 0


# -- pages ---------------------------------------------------------------------------------------


def test_request_badge_filter_answer_and_notification_through_the_pages(
    client, auth, match, create_match, create_outcome, people
):
    quiet = create_match(score=0.95, outcome=create_outcome("无人请求的成果"))
    db.session.commit()

    auth.login("boss@example.cn")
    response = client.post(f"/my/proposals/{match.id}/introduce", data={"message": "盼回复"})
    assert response.status_code == 302
    page = text(client.get(f"/my/proposals/{match.id}"))
    assert 'data-intro-state="requested"' in page and "boss（示例测试科技有限公司）" in page
    assert "盼回复" in page and "等待经纪人答复" in page
    assert "请经纪人牵线对接</button>" not in page  # no second request while one waits
    listing = text(client.get(f"/my/demands/{match.demand_id}/proposals"))
    assert 'data-intro-state="requested"' in listing and "牵线：待经纪人答复" in listing
    auth.logout()

    auth.login(people["broker"].email)
    queue = text(client.get("/broker/"))
    assert queue.count("data-intro-badge") == 1 and "无人请求的成果" in queue
    assert 'data-unread="1"' in queue
    only = text(client.get("/broker/?intro=1"))
    assert "共 1 条待审核推荐" in only and "无人请求的成果" not in only
    assert 'name="intro" value="1" checked' in only
    proposal = text(client.get(f"/broker/proposals/{match.id}"))
    assert "boss（示例测试科技有限公司）" in proposal and "盼回复" in proposal
    assert "答复牵线请求" in proposal
    refused = client.post(
        f"/broker/proposals/{match.id}/introduction", data={"decision": "declined"}
    )
    assert refused.status_code == 422 and "婉拒时请说明原因" in text(refused)
    response = client.post(
        f"/broker/proposals/{match.id}/introduction",
        data={"decision": "declined", "note": "成果尚未完成中试"},
    )
    assert response.status_code == 302
    assert db.session.get(IntroRequest, 1).state == "declined"
    assert quiet.id not in introductions.intros_for([quiet])
    auth.logout()

    auth.login("boss@example.cn")
    page = text(client.get(f"/my/proposals/{match.id}"))
    assert 'data-intro-state="declined"' in page and "成果尚未完成中试" in page
    assert "再次请经纪人牵线" in page
    workspace = text(client.get("/workspace/enterprise/"))
    assert 'data-unread="1"' in workspace and "婉拒了" in workspace
    listing = text(client.get("/my/notifications"))
    assert "成果尚未完成中试" in listing and f"/my/proposals/{match.id}" in listing
    assert notifications.unread_count(people["boss"]) == 0
    auth.logout()

    auth.login("tto@example.edu.cn")
    workspace = text(client.get("/workspace/institution/"))
    assert 'data-notification="intro_requested"' in workspace


def test_another_enterprise_can_neither_ask_nor_see(client, auth, match, people):
    db.session.commit()
    auth.login("boss@example.cn")
    client.post(f"/my/proposals/{match.id}/introduce", data={"message": "内部留言"})
    auth.logout()
    auth.login("stranger@example.cn")
    assert client.get(f"/my/proposals/{match.id}").status_code == 403
    assert client.post(f"/my/proposals/{match.id}/introduce").status_code == 403
    assert "内部留言" not in text(client.get("/my/notifications"))
    assert db.session.scalar(select(IntroRequest).where(IntroRequest.match_id == match.id))
    assert db.session.query(Notification).filter_by(user_id=people["stranger"].id).count() == 0
    assert client.post(f"/broker/proposals/{match.id}/introduction").status_code == 403
