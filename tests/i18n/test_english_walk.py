"""Every HTML page, as every role sees it, is free of Chinese in English mode.

A small marketplace is seeded through the services with user data written in English, so any
Han character left on a page comes from the application's own text (templates, enum labels,
term-sheet labels, service messages) rather than from what users typed. For each role the test
switches to English, signs in, GETs every GET route of ``app.url_map`` (int arguments filled
with the seeded rows' ids) and reports every page, error pages included, with the Chinese it
still shows. Chinese that is Chinese by design is marked in the page (MARKED_REASONS) or listed
in EXEMPTIONS, each with its reason.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import g
from flask.testing import FlaskClient

from market.services import (
    bulk_import,
    bundles,
    cases,
    challenges,
    deals,
    demand_access,
    introductions,
    notices,
    terms,
    use_first,
)
from models import BenchmarkCase, Demand, Match, Organization, Outcome, Patent, User, db

HAN = re.compile(r"[\u4e00-\u9fff]")
# Chinese punctuation the application's own text would bring: full-width colon and semicolon.
CHINESE_PUNCTUATION = "：；"
ROLES = ("anonymous", "enterprise", "institution", "broker", "admin")

# Routes that are not HTML pages for people: JSON, files, assets, redirects.
SKIPPED_ENDPOINTS = {
    "static",
    "public.bootstrap_asset",
    "public.set_language",  # the switch itself (a redirect)
    "public.login_alias",  # a redirect to auth.login
    "public.healthz",  # JSON for the load balancer
    "public.dashboard_chart",  # SVG images; tests/i18n/test_pages.py checks a chart title
    "terms.export",  # PDF/DOCX/JSON/CSV: legal documents in Chinese by design
    "institution.report",  # CSV download of an import's results
    "institution.template",  # the import template: its Chinese headers are the file format
    "institution.progress",  # JSON polled by the import page
    # The API reference page renders the OpenAPI descriptions, which are written in Chinese; the
    # API is for integrators and has no English reference yet (its JSON routes are skipped too).
    "api_docs_page.docs",
}

# Chinese that may stay on an English page, each with the reason. Text inside an element marked
# lang="zh…" is Chinese on purpose (and announced as such to screen readers), text inside
# translate="no" is data quoted as stored; the pages mark:
MARKED_REASONS = {
    "language switcher": "the switcher names the Chinese UI in Chinese so a Chinese reader finds it",
    "policy citations": "a term's basis quotes the policy profile's citation as written "
    "(seed_data/policies/*.toml: names and articles of Chinese regulations); the page translates "
    "the kind of source around it (Policy rule, Common-practice default …)",
    "policy notes": "the licensing engine's notes and drafting warnings on the term sheet are "
    "written from the policy profiles, which exist in Chinese only",
    "公示 text": "what a 协议定价公示 published (parties, transaction, price make-up, royalty, "
    "window, objection office and procedure) is the legal notice, stored as published, in "
    "Chinese by design like the PDF/DOCX exports",
    "field vocabulary": "the field names offered on listing forms are the catalogue's own "
    "vocabulary (seed_data/demands.json), stored and matched as Chinese text",
    "policy profile names": "the policy profiles a broker drafts under are named by their "
    "Chinese policy documents",
    "import file": "bulk-import errors quote the file as written: its Chinese column headers "
    "(beside the English name), cell values and the words the file accepts",
    "audit values": "the audit log's before/after cells quote stored values verbatim; a record "
    "of what was stored is not translated",
    "stage notes": "a deal's stage-history notes are stored as written (brokers' notes, and the "
    "note the 公示 step records in Chinese)",
}
# Patterns removed from the visible text before looking for Han characters.
EXEMPTIONS: list[tuple[str, str]] = [
    (
        r"\([；：]\)",
        "the import instructions quote the file format's separator, the full-width semicolon",
    ),
    (
        r"\([^()]*[\u4e00-\u9fff][^()]*\)",
        "a translation may quote the Chinese term in brackets as a gloss, e.g. "
        "'Use first, pay later (先用后转)', as tests/i18n/test_catalogue.py allows",
    ),
]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class VisibleText(HTMLParser):
    """The text a reader sees, leaving out scripts, styles and elements marked lang="zh…"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attributes = dict(attrs)
        lang = attributes.get("lang") or ""
        hidden = tag in ("script", "style") or lang.startswith("zh")
        hidden = hidden or attributes.get("translate") == "no"
        self.stack.append((tag, hidden or bool(self.stack and self.stack[-1][1])))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)


class FreshLocaleClient(FlaskClient):
    """Each request picks its locale afresh (Flask-Babel caches it on ``g``)."""

    def open(self, *args, **kwargs):
        g.pop("_flask_babel", None)
        return super().open(*args, **kwargs)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    text = " ".join(parser.parts)
    for pattern, _reason in EXEMPTIONS:
        text = re.sub(pattern, " ", text)
    return re.sub(r"\s+", " ", text)


def leftovers(page: str) -> list[str]:
    text = visible_text(page)
    found = {m.group(0) for m in re.finditer(r"\S*" + HAN.pattern + r"+\S*", text)}
    found |= {m.group(0) for m in re.finditer(rf"\S*[{CHINESE_PUNCTUATION}]\S*", text)}
    return sorted(found)


# -- the seeded marketplace, user data in English ----------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()


def _explanation() -> dict:
    """An explanation as the matcher stores it (Chinese sentence, clauses, labels), over the
    English listings' own words."""
    from market.search import features as f

    clauses = [
        {"template": f.SHARED_PHRASES, "params": {"phrases": ["battery", "thermal runaway"]}},
        {
            "template": f.INDICATORS_MET,
            "params": {"ours": ["Lead time 12 min"], "theirs": ["Warning lead time>=10min"]},
        },
        {
            "template": f.MATURITY_MEETS,
            "params": {"stage_label": "中试", "required_label": "中试"},
        },
        {"template": f.PRICE_ABOVE_BUDGET, "params": {}},
        {
            "template": f.CONDITIONS_FAILED,
            "params": {"conditions_labels": [f.HARD_CONSTRAINTS["patent_in_force"]]},
        },
    ]
    return {
        "sentence": f.sentence_text(clauses),
        "sentence_clauses": clauses,
        "breakdown": [
            {"feature": k, "label": v, "value": 0.5, "weight": 1.0, "contribution": 0.1}
            for k, v in f.FEATURE_LABELS.items()
        ],
        "constraints": [
            {"code": k, "label": v, "ok": k != "patent_in_force", "mark": "✓"}
            for k, v in f.HARD_CONSTRAINTS.items()
        ],
        "matched_phrases": ["battery", "thermal runaway"],
    }


def _org(name: str, kind: str, approved: bool = True) -> Organization:
    org = Organization(name=name, kind=kind, province="Guangdong", city="Zhuhai", approved=approved)
    db.session.add(org)
    db.session.flush()
    return org


def _user(email: str, role: str, org: Organization | None) -> User:
    user = User(email=email, name=email.split("@")[0], role=role, organization=org)
    user.set_password("correct-horse-1")
    db.session.add(user)
    db.session.flush()
    return user


def _demand(org: Organization, title: str, **extra) -> Demand:
    values = {
        "organization_id": org.id,
        "title": title,
        "description": "Early warning of battery thermal runaway for delivery drones.",
        "field": "Low-altitude economy",
        "scenario_type": "industry",
        "budget_min_fen": 50_000_000,
        "budget_max_fen": 120_000_000,
        "cooperation_modes": ["use_first", "license"],
        "required_maturity": "pilot",
        "indicators": [{"name": "Warning lead time", "op": ">=", "value": 10, "unit": "min"}],
        "offered_resources": "Test flight site and twenty battery packs",
        "status": "published",
        "confidentiality": "public",
        "deadline": TODAY + timedelta(days=180),
    }
    demand = Demand(**{**values, **extra})
    demand.refresh_hash()
    db.session.add(demand)
    db.session.flush()
    return demand


def _outcome(org: Organization, title: str, granted: date, **extra) -> Outcome:
    values = {
        "organization_id": org.id,
        "title": title,
        "abstract": "Fuses voltage, temperature and gas signals to predict thermal runaway.",
        "team": "Energy Storage Safety Group",
        "field": "Low-altitude economy",
        "maturity": "pilot",
        "trl": 6,
        "research_type": "applied",
        "fiscal_funded": True,
        "implemented": False,
        "transfer_modes": ["license", "use_first"],
        "asking_price_fen": 80_000_000,
        "use_first_eligible": True,
        "team_share_pct": 70,
        "status": "published",
        "indicators": [{"name": "Warning lead time", "op": ">=", "value": 12, "unit": "min"}],
    }
    outcome = Outcome(**{**values, **extra})
    outcome.refresh_hash()
    db.session.add(outcome)
    db.session.flush()
    db.session.add(
        Patent(
            number=f"CN2018{outcome.id:06d}.X",
            title=title,
            outcome_id=outcome.id,
            kind="invention",
            applied_on=granted - timedelta(days=700),
            granted_on=granted,
            expires_on=granted + timedelta(days=20 * 365),
            legal_status="granted",
            ipc_codes=["H01M"],
        )
    )
    db.session.flush()
    db.session.refresh(outcome)
    return outcome


def seed() -> dict:
    """Every kind of row a page can show, reached through the services where they exist."""
    terms.load_policy_profiles()
    acme = _org("Acme Drones Ltd", "enterprise")
    river = _org("Riverside University", "university")
    _org("Pending Robotics Ltd", "enterprise", approved=False)
    users = {
        "enterprise": _user("enterprise@example.com", "enterprise", acme),
        "institution": _user("tto@example.com", "institution", river),
        "broker": _user("broker@example.com", "broker", None),
        "admin": _user("admin@example.com", "admin", None),
    }
    ent, tto, broker, admin = (users[r] for r in ("enterprise", "institution", "broker", "admin"))

    # A 揭榜挂帅 challenge won by the university, carried to a signed 先用后转 deal.
    demand = _demand(
        acme,
        "Battery thermal runaway early warning",
        reward_fen=20_000_000,
        challenge_deadline=TODAY + timedelta(days=60),
    )
    outcome = _outcome(river, "Multi-signal thermal runaway warning", TODAY - timedelta(days=700))
    entry = challenges.submit(demand, outcome, tto, "Twelve minutes of warning.", now=NOW)
    challenges.shortlist(entry, ent, "Complete prototype data", now=NOW)
    challenges.pick_winner(entry, ent, "Met the lead-time target", now=NOW)
    deal = deals.accept_match(entry.match, broker, comment="Carry to terms", now=NOW)
    sheet = terms.draft_for_deal(deal, "zhuhai-2025", "use_first", broker, TODAY)
    terms.edit_terms(sheet, {"cure_days": 45}, broker, sheet.version_id)
    introductions.request_introduction(entry.match, ent, "Please introduce us.")
    deals.move_deal(deal, "introduced", broker, "Met online", now=NOW - timedelta(days=90))
    deals.move_deal(deal, "negotiating", broker, "Terms agreed", now=NOW - timedelta(days=80))
    notice = notices.open_notice(deal, None, "negotiated", broker, now=NOW - timedelta(days=60))
    notices.close_expired(now=notice.closes_at)
    deals.move_deal(deal, "signed", broker, "Signed", now=notice.closes_at + timedelta(days=1))
    case = db.session.scalar(db.select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
    cases.update_case(
        case,
        "Drone battery warning licensed use first",
        "A drone operator licensed a university's battery warning technology, paying nothing "
        "during the free window and converting to a transfer after the pilot succeeded.",
        admin,
    )
    cases.publish_case(case, admin, now=NOW)

    # A proposal still waiting for the broker, and a rejected one.
    waiting = _outcome(river, "Corrosion sensing coating", TODAY - timedelta(days=400))
    proposal = Match(
        demand_id=demand.id,
        outcome_id=waiting.id,
        score=0.8,
        complexity=0.2,
        components={"semantic": 0.7},
        explanation=_explanation(),
    )
    db.session.add(proposal)
    db.session.flush()

    # A 组合方案: two of the university's outcomes each meet one of a demand's two indicators.
    package = _demand(
        acme,
        "Drone inspection package",
        indicators=[
            {"name": "Warning lead time", "op": ">=", "value": 10, "unit": "min"},
            {"name": "Payload", "op": ">=", "value": 5, "unit": "kg"},
        ],
    )
    frame = _outcome(
        river,
        "Heavy-lift drone frame",
        TODAY - timedelta(days=500),
        indicators=[{"name": "Payload", "op": ">=", "value": 8, "unit": "kg"}],
    )
    for member in (outcome, frame):
        db.session.add(
            Match(
                demand_id=package.id,
                outcome_id=member.id,
                score=0.7,
                components={"relevance": 0.7},
                explanation={"relevance": {"band": "strong"}},
            )
        )
    db.session.flush()
    bundles.propose_bundles(package)
    bundle = bundles.bundles_of(package)[0]

    # A 脱敏 demand another organisation asked to see.
    hidden = _demand(acme, "Confidential sensor demand", confidentiality="desensitized")
    demand_access.ask(hidden, tto, "We have a matching sensor.", nda_accepted=True)

    # A 到期即转 consent: fiscal-funded, unimplemented, patent granted six years ago.
    _outcome(river, "Anti-fouling membrane coating", TODAY - timedelta(days=6 * 365 + 45))
    use_first.sweep_use_first(TODAY, actor_id=admin.id)

    # An import batch with a valid row and a row with errors (the file's headers are Chinese).
    batch = bulk_import.preview(river, tto, "outcomes.csv", _import_file())
    db.session.commit()
    return {
        "users": users,
        "ids": {
            "demand_id": demand.id,
            "outcome_id": outcome.id,
            "match_id": entry.match.id,
            "deal_id": deal.id,
            "sheet_id": sheet.id,
            "notice_id": notice.id,
            "case_id": case.id,
            "batch_id": batch.id,
            "bundle_id": bundle.id,
        },
        "proposal_id": proposal.id,
    }


def _import_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(bulk_import.HEADERS)
    blank = dict.fromkeys(bulk_import.HEADERS, "")
    good = {**blank, "成果名称": "Lidar obstacle mapping", "成熟度": "中试", "TRL": "5"}
    bad = {**blank, "成果名称": "", "成熟度": "later", "TRL": "12", "财政资助": "maybe"}
    for row in (good, bad):
        writer.writerow([row[h] for h in bulk_import.HEADERS])
    return out.getvalue().encode("utf-8")


# -- the walk ----------------------------------------------------------------------------------


def pages(app, ids: dict) -> list[tuple[str, str]]:
    """(endpoint, url) for every GET route that renders a page, arguments filled from ``ids``."""
    out = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            if rule.rule.startswith("/api/"):
                continue  # JSON for integrators, not pages
            values = {}
            for name in rule.arguments:
                if name in ids:
                    values[name] = ids[name]
                elif name == "token":
                    values[name] = "expired-or-unknown"
                else:
                    raise AssertionError(f"{rule.endpoint}: no value for <{name}>")
            out.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return out


@pytest.fixture
def world(app):
    return seed()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_english(app, world, role):
    client = FreshLocaleClient(app, app.response_class, use_cookies=True)
    assert client.get("/lang/en").status_code == 302  # before signing in, as a visitor would
    if role != "anonymous":
        response = client.post(
            "/auth/login",
            data={"email": world["users"][role].email, "password": "correct-horse-1"},
        )
        assert response.status_code == 302, f"{role} could not sign in"
    walked, refused, problems = [], [], {}
    for endpoint, url in pages(app, world["ids"]):
        response = client.get(url)
        if 300 <= response.status_code < 400 or response.mimetype != "text/html":
            continue  # e.g. to the sign-in page
        page = response.get_data(as_text=True)
        assert '<html lang="en">' in page, f"{url} is not in English mode"
        # A page the role may not see answers with an error page, which must be English too.
        (walked if response.status_code == 200 else refused).append(endpoint)
        found = leftovers(page)
        if found:
            problems[f"{url} ({response.status_code})"] = found
    print(f"{role}: {len(walked)} pages and {len(refused)} error pages walked")
    assert len(walked) >= MIN_PAGES[role], f"{role} reached only {walked}"
    assert not problems, f"{role}: Chinese left on {len(problems)} pages:\n" + "\n".join(
        f"{url}: {words}" for url, words in problems.items()
    )


# Pages each role reaches with status 200 today: a broken login, seed or permission cannot pass
# by walking fewer pages.
MIN_PAGES = {"anonymous": 12, "enterprise": 22, "institution": 25, "broker": 23, "admin": 28}
