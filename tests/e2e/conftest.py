"""End-to-end fixtures: the real app behind a real HTTP server, driven by a real Chromium.

One server per session on a fresh SQLite database (hash-test embedder, eager Celery, CSRF on),
seeded with taxonomies, policy profiles, four users and a small 无人机巡检 catalogue that is
already indexed and matched. Each test gets its own browser context (its own cookies).

Chromium is Debian's ``/usr/bin/chromium`` (never ``playwright install``); without it, or
without the ``playwright`` package, every test here is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask import got_request_exception
from werkzeug.serving import WSGIRequestHandler, make_server

from market import create_app

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # the tests are skipped below, with the reason
    Browser = Page = expect = sync_playwright = None

CHROMIUM = os.environ.get("MARKET_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seed_data"
SHOTS = ROOT / "test-output" / "e2e"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 15_000
DOCS_MAX_HEIGHT = 1800  # README images: the top of a long page, not a 3000-pixel strip

PASSWORD = "scenebridge-demo"
ENTERPRISE_EMAIL = "enterprise@demo.scenebridge.cn"
INSTITUTION_EMAIL = "tto@demo.scenebridge.cn"
BROKER_EMAIL = "broker@demo.scenebridge.cn"
ADMIN_EMAIL = "admin@demo.scenebridge.cn"

ENTERPRISE_ORG = "示例海风能源科技有限公司"
INSTITUTION_ORG = "示例海洋大学"

# The seeded demands: one for the broker's review (flow 3), one carried to 公示 by services
# for the public objection (flow 4). Flow 1 posts its own demand through the form.
REVIEW_DEMAND = "海上风电场叶片无人机自主巡检"
NOTICE_DEMAND = "输电线路无人机巡检与缺陷识别"
BLADE_OUTCOME = "风电叶片无人机自主巡检系统"
LINE_OUTCOME = "输电线路无人机智能巡检平台"


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return (
            f"Chromium not found at {CHROMIUM} (apt-get install chromium; never playwright install)"
        )
    return None


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e drives a browser: skip it, with the reason, when it cannot."""
    reason = _skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


# -- the server ----------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per asset drowns test output
        pass


@dataclass
class LiveServer:
    app: object
    url: str
    errors: list[str] = field(default_factory=list)

    def ctx(self):
        return self.app.app_context()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "e2e-test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'e2e.db'}",
            "WTF_CSRF_ENABLED": True,
            "INDEX_DIR": str(root / "index"),
            "MODEL_DIR": str(root / "models"),
            "EMBEDDING_MODEL": "hash-test",
            "PAGE_SIZE": 50,
        }
    )
    with app.app_context():
        _seed()

    server = LiveServer(app=app, url="")

    def record(sender, exception, **extra):
        server.errors.append(f"{type(exception).__name__}: {exception}")

    got_request_exception.connect(record, app)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    server.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    thread.join(timeout=10)
    got_request_exception.disconnect(record, app)
    with app.app_context():
        from models import db

        db.session.remove()
        db.engine.dispose()


def _seed() -> None:
    from market.services import indexing, matching
    from market.services.listings import add_patent, post_demand, post_outcome
    from market.services.seed import load_industries, load_ipc
    from market.services.terms import load_policy_profiles
    from models import Organization, User, db

    db.create_all()
    load_industries(SEED / "gbt4754_2017_with_notes.tsv")
    load_ipc(SEED / "ipc_zh_2026_01.tsv")
    load_policy_profiles()

    def org(name, kind, city, **extra):
        item = Organization(
            name=name, kind=kind, province="广东省", city=city, approved=True, **extra
        )
        db.session.add(item)
        return item

    enterprise = org(ENTERPRISE_ORG, "enterprise", "珠海市", is_sme=True)
    university = org(INSTITUTION_ORG, "university", "深圳市")
    db.session.flush()
    for email, name, role, member in [
        (ADMIN_EMAIL, "示例运营管理员", "admin", None),
        (BROKER_EMAIL, "示例技术经纪人", "broker", None),
        (ENTERPRISE_EMAIL, "示例企业用户", "enterprise", enterprise),
        (INSTITUTION_EMAIL, "示例高校技术转移办", "institution", university),
    ]:
        user = User(email=email, name=name, role=role, organization=member)
        user.set_password(PASSWORD)
        db.session.add(user)
    db.session.flush()

    outcomes = [
        (
            BLADE_OUTCOME,
            "无人机自主巡检风电叶片，续航50分钟，叶片缺陷识别精度97%，已在海上风电场中试验证。",
            "pilot",
            6,
            "ZL202010000001.1",
        ),
        (
            LINE_OUTCOME,
            "输电线路无人机自主巡检，续航45分钟，绝缘子缺陷识别准确率96%，支持夜间巡检。",
            "pilot",
            6,
            "ZL202010000002.2",
        ),
        (
            "无人机巡检图像缺陷识别算法",
            "面向无人机巡检图像的缺陷识别算法，识别精度95%，实验室验证。",
            "lab",
            3,
            None,
        ),
        ("中药提取浓缩工艺", "中药有效成分提取浓缩，提取率提高15%。", "industrial", 7, None),
    ]
    for title, abstract, maturity, trl, patent in outcomes:
        item = post_outcome(
            university,
            {
                "title": title,
                "abstract": abstract,
                "field": "低空经济",
                "maturity": maturity,
                "trl": trl,
                "asking_price_fen": 100 * 10**6,
                "transfer_modes": ["license", "use_first"],
                "use_first_eligible": True,
                "fiscal_funded": True,
            },
        )
        if patent:
            add_patent(
                item,
                {
                    "number": patent,
                    "kind": "invention",
                    "applied_on": date(2020, 3, 1),
                    "granted_on": date(2022, 6, 1),
                    "expires_on": date(2040, 3, 1),
                    "legal_status": "granted",
                },
            )
    demands = []
    for title, description in [
        (
            REVIEW_DEMAND,
            "目前人工登塔巡检每台风机约需3小时。需要无人机自主巡检风电叶片，续航≥40分钟，"
            "叶片缺陷识别精度≥95%，可提供2台风机作为试点。",
        ),
        (
            NOTICE_DEMAND,
            "目前输电线路人工巡检每公里约需2小时。需要无人机巡检输电线路，续航≥40分钟，"
            "绝缘子缺陷识别准确率≥95%。",
        ),
    ]:
        demands.append(
            post_demand(
                enterprise,
                {
                    "title": title,
                    "description": description,
                    "field": "低空经济",
                    "scenario_type": "industry",
                    "required_maturity": "pilot",
                    "budget_min_fen": 50 * 10**6,
                    "budget_max_fen": 300 * 10**6,
                    "cooperation_modes": ["license", "use_first"],
                    "indicators": [{"name": "续航", "op": ">=", "value": 40, "unit": "分钟"}],
                },
            )
        )
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    for demand in demands:
        matching.propose_for_demand(demand.id)
    db.session.commit()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer, request):
    """Open a fresh context (own cookies) → Page; JS errors and server errors fail the test."""
    contexts, problems = [], []
    server_errors_before = len(live_server.errors)

    def make() -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"JS error on {page.url}: {e}"))
        page.on("console", lambda m: _console(m, page, problems))
        page.on("response", lambda r: _response(r, problems))
        return page

    yield make
    for context in contexts:
        context.close()
    problems.extend(live_server.errors[server_errors_before:])
    assert not problems, "\n".join(problems)


def _console(message, page, problems: list[str]) -> None:
    # Failed loads are judged by _response (a 422 form page is expected); the rest, e.g. a
    # Content-Security-Policy violation, is a defect.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console error on {page.url}: {message.text}")


def _response(response, problems: list[str]) -> None:
    """Stylesheets, scripts, images and fetches must load; pages may answer 4xx by design."""
    if response.status < 400 or response.request.resource_type == "document":
        return
    if response.url.endswith("/favicon.ico"):  # the browser asks on its own; no page links one
        return
    problems.append(f"{response.status} for {response.request.resource_type} {response.url}")


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


class Shots:
    """Numbered screenshots of one test in test-output/e2e/, key ones copied to docs/screenshots/."""

    def __init__(self, test_name: str):
        self.prefix = re.sub(r"[^\w-]+", "_", test_name)
        self.count = 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, step: str, docs: str | None = None) -> Path:
        self.count += 1
        path = SHOTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        if docs:
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            size = page.viewport_size
            height = page.evaluate("document.documentElement.scrollHeight")
            if height <= DOCS_MAX_HEIGHT:
                shutil.copyfile(path, DOCS_SHOTS / docs)
            else:
                clip = {"x": 0, "y": 0, "width": size["width"], "height": DOCS_MAX_HEIGHT}
                page.screenshot(path=str(DOCS_SHOTS / docs), full_page=True, clip=clip)
        return path


@pytest.fixture
def shot(request) -> Shots:
    return Shots(request.node.name)


def login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/auth/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("status").filter(has_text="欢迎回来")).to_be_visible()
