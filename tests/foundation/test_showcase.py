"""The demo's 示例 stories: made through the services, shown on the pages, added only once."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from market import licensing
from market.services import deals, showcase, terms
from market.services.seed import (
    DEMO_PASSWORD,
    SEED_DIR,
    load_demo_users,
    load_organizations,
    seed_all,
)
from models import (
    AuditLog,
    BenchmarkCase,
    ChallengeSubmission,
    Deal,
    Demand,
    Match,
    Notice,
    Outcome,
    Patent,
    TermSheet,
    UseFirstReview,
    db,
    local_today,
    utcnow,
)

COUNTED = (
    Demand,
    Outcome,
    Patent,
    Match,
    TermSheet,
    Deal,
    Notice,
    BenchmarkCase,
    ChallengeSubmission,
    UseFirstReview,
    AuditLog,
)


def row_counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def by_key(model, key: str):
    return db.session.scalar(select(model).where(model.key == key))


@pytest.fixture
def stories(app) -> dict[str, int]:
    """The demo organisations, accounts and policy profiles, then the stories."""
    load_organizations(SEED_DIR / "organizations.json")
    load_demo_users()
    terms.load_policy_profiles()
    added = showcase.seed_showcase()
    db.session.commit()
    return added


@pytest.fixture
def deal(stories) -> Deal:
    demand = by_key(Demand, showcase.DEAL_KEY)
    return db.session.scalar(select(Deal).join(Match).where(Match.demand_id == demand.id))


def login(client, email: str) -> None:
    response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_each_story_is_added_once(stories):
    assert stories == dict.fromkeys(showcase.STORIES, 1)
    before = row_counts()
    assert showcase.seed_showcase() == dict.fromkeys(stories, 0)
    db.session.commit()
    assert row_counts() == before


def test_the_full_seed_runs_the_stories_once(app):
    first = seed_all(outcome_limit=2)
    db.session.commit()
    before = row_counts()
    second = seed_all(outcome_limit=2)
    db.session.commit()
    assert first["showcase_deals"] == first["showcase_consents"] == 1
    assert all(v == 0 for v in second.values()), second
    assert row_counts() == before


def test_without_demo_accounts_nothing_is_added(app):
    assert set(showcase.seed_showcase().values()) == {0}
    assert row_counts()["Demand"] == 0


def test_deal_was_signed_after_a_notice_that_closed_in_the_past(deal):
    today = local_today()
    notice = db.session.scalar(select(Notice).where(Notice.deal_id == deal.id))
    assert deal.stage == "signed" and notice.status == "closed"
    assert notice.objections == []
    assert local_today(notice.closes_at) < today
    assert notice.closes_at - notice.opens_at >= timedelta(days=15)
    events = [(e.to_stage, e.at) for e in deal.events]
    assert [stage for stage, _ in events] == [
        "reviewed",
        "introduced",
        "negotiating",
        "notice",
        "signed",
    ]
    times = [at for _, at in events]
    assert times == sorted(times) and times[-1] < utcnow()
    assert dict(events)["signed"] > notice.closes_at
    assert deal.price_fen == notice.price_fen
    assert not deals.sla(deal).overdue  # signed inside the signed stage's time limit


def test_deal_terms_pass_validation_under_a_real_profile(deal):
    row = db.session.get(TermSheet, deal.term_sheet_id)
    profile = terms.get_profile(row.profile_key)
    assert (row.profile_key, row.mode) == ("zhuhai-2025", "use_first")
    sheet = terms.sheet_of(row)
    assert licensing.validate(sheet, profile, terms.outcome_facts(row.outcome)) == []
    assert sheet.value("entry_fee") == 0
    assert deal.price_fen == sheet.value("contract_amount")


def test_demo_listings_and_people(stories):
    demand = by_key(Demand, showcase.DEAL_KEY)
    outcome = by_key(Outcome, f"{showcase.DEAL_KEY}-outcome")
    assert demand.is_demo and outcome.is_demo
    assert "示例" in demand.organization.name and "示例" in outcome.organization.name
    assert demand.organization.users[0].email == showcase.ENTERPRISE
    keys = db.session.scalars(select(Outcome.key).where(Outcome.key.like("demo-showcase-%")))
    assert all(by_key(Outcome, k).is_demo for k in keys)


def test_public_cases_page_lists_the_published_case_as_demo(client, deal):
    case = db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
    assert case.published and case.published_at < utcnow()
    page = client.get("/cases").get_data(as_text=True)
    article = re.search(rf'<article[^>]*id="case-{case.id}".*?</article>', page, re.S).group(0)
    assert case.title in article and "示例" in article
    assert "锂电池热失控多信号融合早期预警技术" in article


def test_tto_consent_page_lists_the_pending_use_first_outcome(client, stories):
    outcome = by_key(Outcome, showcase.CONSENT_KEY)
    review = db.session.scalar(
        select(UseFirstReview).where(UseFirstReview.outcome_id == outcome.id)
    )
    assert review.state == "pending_consent" and review.found_on == local_today()
    login(client, showcase.TTO)
    page = client.get("/use-first/").get_data(as_text=True)
    section = re.search(rf'<section[^>]*aria-labelledby="r-{review.id}".*?</section>', page, re.S)
    assert outcome.title in section.group(0)
    assert "示例" in section.group(0) and "待" in section.group(0)
    assert "同意进入先用后转成果池" in section.group(0)


def test_challenge_pages_show_the_entries(client, stories):
    demand = by_key(Demand, showcase.CHALLENGE_KEY)
    entries = db.session.scalars(
        select(ChallengeSubmission).where(ChallengeSubmission.demand_id == demand.id)
    ).all()
    assert sorted(e.state for e in entries) == ["shortlisted", "submitted", "submitted"]
    assert len({e.organization_id for e in entries}) == 3
    assert demand.challenge_deadline > local_today() and demand.reward_fen > 0
    public = client.get(f"/demands/{demand.id}").get_data(as_text=True)
    assert "3 项成果已揭榜" in public and "示例" in public
    login(client, showcase.ENTERPRISE)
    page = client.get(f"/workspace/enterprise/challenges/{demand.id}").get_data(as_text=True)
    for entry in entries:
        assert entry.outcome.title in page
    assert "已入围" in page


def test_every_step_went_through_the_services(stories):
    """The audit log holds each service action in order, by the demo user who took it."""
    people = showcase.cast()
    log = [
        (a.action, a.user_id) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))
    ]
    enterprise, tto, broker, admin = (
        people.enterprise.id,
        people.tto.id,
        people.broker.id,
        people.admin.id,
    )
    deal_story = [
        ("demand.post", enterprise),
        ("outcome.post", tto),
        ("patent.add", tto),
        ("challenge.submit", tto),
        ("challenge.shortlist", enterprise),
        ("challenge.winner", enterprise),
        ("challenge.propose", enterprise),
        ("match.accept", broker),
        ("termsheet.draft", broker),
        ("deal.move", broker),  # introduced
        ("deal.move", broker),  # negotiating
        ("deal.move", broker),  # 公示
        ("notice.open", broker),
        ("notice.close", None),
        ("case.draft", broker),
        ("deal.move", broker),  # signed
        ("case.publish", admin),
    ]
    consent_story = [
        ("outcome.post", tto),
        ("patent.add", tto),
        ("use_first.due", None),
        ("use_first.sweep", admin),
    ]
    challenge_story = [("demand.post", enterprise)] + [
        step
        for user in (tto, *(u.id for u in people.others))
        for step in (("outcome.post", user), ("challenge.submit", user))
    ]
    challenge_story.append(("challenge.shortlist", enterprise))
    bundle_story = [("demand.post", enterprise)] + [
        ("outcome.post", tto),
        ("patent.add", tto),
    ] * len(showcase.BUNDLE_OUTCOMES)
    assert log == deal_story + consent_story + challenge_story + bundle_story


def test_sweep_found_the_story_outcome_under_its_owner_profile(stories):
    sweep = db.session.scalar(select(AuditLog).where(AuditLog.action == "use_first.sweep"))
    outcome = by_key(Outcome, showcase.CONSENT_KEY)
    assert sweep.after["outcomes"] == [outcome.id]
    assert sweep.after["today"] == local_today().isoformat()
    deal_outcome = by_key(Outcome, f"{showcase.DEAL_KEY}-outcome")
    assert deal_outcome.use_first_state is None  # granted two years ago: not due


def test_cli_seeds_the_stories(runner, app):
    load_organizations(SEED_DIR / "organizations.json")
    load_demo_users()
    db.session.commit()
    result = runner.invoke(args=["seed-showcase", "--no-index"])
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout.strip().splitlines()[-1])["added"]
    assert added == dict.fromkeys(showcase.STORIES, 1)
    again = runner.invoke(args=["seed-showcase", "--no-index"])
    assert set(json.loads(again.stdout.strip().splitlines()[-1])["added"].values()) == {0}


def test_the_demo_deals_notice_is_marked_as_demo(client, deal):
    """The 公示 of a 示例 deal is demo content too: the list and the notice say 示例."""
    notice = db.session.scalar(select(Notice).where(Notice.deal_id == deal.id))
    assert notice.is_demo
    listing = client.get("/notices/").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*?/notices/{notice.id}".*?</tr>', listing, re.S)
    assert row and "示例" in row.group(0)
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>.*?示例.*?</h1>", page, re.S)


def test_the_bundle_story_needs_both_outcomes(stories):
    """Once both outcomes are proposed for the demand (as the matcher does when the demo is
    indexed), neither meets all three indicators and together they do: one 组合方案."""
    from market.services import bundles

    demand = by_key(Demand, showcase.BUNDLE_KEY)
    members = [by_key(Outcome, f"{showcase.BUNDLE_KEY}-{n}") for n in (1, 2)]
    assert demand.is_demo and all(o.is_demo for o in members)
    assert len({o.organization_id for o in members}) == 1
    for outcome in members:
        db.session.add(
            Match(
                demand_id=demand.id,
                outcome_id=outcome.id,
                score=0.6,
                components={"relevance": 0.6},
                explanation={"relevance": {"band": "strong"}},
            )
        )
    db.session.flush()
    bundles.propose_bundles(demand)
    (bundle,) = bundles.bundles_of(demand)
    assert (bundle.covered, bundle.best_single, bundle.indicator_count) == (3, 2, 3)
    assert bundles.combined_terms(bundle).complete
