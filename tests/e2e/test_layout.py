"""The top navigation fits the window for every role, in Chinese and English, 320–1920 px wide.

Institutions and admins see the most links, a long display name the widest user label: the
page must never scroll sideways and 退出 must stay on screen. Above 1200 px the menu is
expanded (its links wrap onto more rows as needed); below it collapses behind the toggler, which
is opened before looking for 退出. The name is cut with an ellipsis, the full name in its title.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .conftest import (
    ADMIN_EMAIL,
    BROKER_EMAIL,
    ENTERPRISE_EMAIL,
    INSTITUTION_ORG,
    PASSWORD,
    login,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
).expect

WIDTHS = (1920, 1280, 1200, 1024, 768, 390, 320)  # widest first: the toggler opens once
HEIGHT = 800
EXPANDED_MIN = 1200  # navbar-expand-xl
TIDY_NAV_HEIGHT = 120  # expanded: three compact rows of links at most, beside the brand

LONG_NAME_EMAIL = "long-name@demo.scenebridge.cn"
LONG_NAME = "示例海洋大学技术转移中心成果转化与知识产权运营部"

PAGES = {
    "anonymous": ["/", "/demands", "/auth/login", "/accounts/register"],
    "enterprise": ["/", "/workspace/enterprise/", "/accounts/profile", "/demands"],
    "institution": ["/", "/workspace/institution/", "/accounts/profile", "/outcomes"],
    "broker": ["/", "/broker/", "/accounts/profile", "/cases"],
    "admin": ["/", "/admin/cases", "/accounts/profile", "/notices/"],
}
EMAILS = {
    "enterprise": ENTERPRISE_EMAIL,
    "institution": LONG_NAME_EMAIL,
    "broker": BROKER_EMAIL,
    "admin": ADMIN_EMAIL,
}
LAST_ITEM = {  # the nav's last control, by language and whether someone is signed in
    "zh": {True: "退出", False: "登录"},
    "en": {True: "Sign out", False: "Sign in"},
}


@pytest.fixture(scope="module")
def long_name_user(live_server) -> str:
    """An institution user of 示例海洋大学 whose display name is far too long for the nav."""
    from sqlalchemy import select

    from models import Organization, User, db

    with live_server.ctx():
        university = db.session.scalars(
            select(Organization).where(Organization.name == INSTITUTION_ORG)
        ).one()
        user = User(email=LONG_NAME_EMAIL, name=LONG_NAME, role="institution")
        user.organization = university
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    return LONG_NAME_EMAIL


# One round trip per width: the sizes, the nav's height, where its last control is, and the
# innermost elements that stick out on the right (to name the culprit when the page overflows).
MEASURE = """() => {
    const width = window.innerWidth;
    const out = e => e.getBoundingClientRect().right > width + 0.5;
    const nav = document.querySelector('.sb-nav');
    const last = nav.querySelector('.navbar-nav:last-child > li:last-child');
    const box = last.getBoundingClientRect();
    return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: width,
        navHeight: nav.offsetHeight,
        expanded: nav.querySelector('.navbar-toggler').getAttribute('aria-expanded') === 'true',
        last: {text: last.innerText.trim(), left: box.left, right: box.right, bottom: box.bottom,
               shown: box.width > 0 && box.height > 0},
        culprits: [...document.body.querySelectorAll('*')]
            .filter(e => out(e) && ![...e.children].some(out)).slice(0, 3)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')),
    };
}"""


def measure(page: Page, where: str, width: int, expected: str) -> list[str]:
    """Problems of the nav at this width; an empty list when it fits."""
    page.set_viewport_size({"width": width, "height": HEIGHT})
    found = page.evaluate(MEASURE)
    if width < EXPANDED_MIN and not found["expanded"]:
        page.locator(".sb-nav .navbar-toggler").click()
        expect(page.locator(".sb-nav #nav")).to_have_class("navbar-collapse collapse show")
        found = page.evaluate(MEASURE)
    where = f"{where} at {width}px"
    problems = []
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(
            f"{where}: the page scrolls sideways ({found['scrollWidth']} > {width}),"
            f" sticking out: {found['culprits']}"
        )
    last = found["last"]
    if last["text"] != expected:
        problems.append(f"{where}: the nav ends with {last['text']!r}, not {expected!r}")
    elif not last["shown"] or last["left"] < 0 or last["right"] > width or last["bottom"] > HEIGHT:
        problems.append(f"{where}: {expected} is off screen at {last}")
    if width >= EXPANDED_MIN and found["navHeight"] > TIDY_NAV_HEIGHT:
        problems.append(f"{where}: the nav is {found['navHeight']}px tall")
    return problems


@pytest.mark.parametrize("role", list(PAGES))
def test_nav_fits_every_width(page, long_name_user, role):
    page.emulate_media(reduced_motion="reduce")  # the collapse opens without a transition
    if role != "anonymous":
        login(page, EMAILS[role])
    problems = []
    for lang in ("zh", "en"):
        page.goto(f"/lang/{lang}")
        for path in PAGES[role]:
            page.goto(path)
            for width in WIDTHS:
                expected = LAST_ITEM[lang][role != "anonymous"]
                problems += measure(page, f"{role} {lang} {path}", width, expected)
    assert not problems, "\n".join(problems)


def test_long_name_is_cut_with_the_full_name_kept(page, long_name_user):
    login(page, long_name_user)
    page.goto("/workspace/institution/")
    name = page.locator(".sb-nav .sb-user-name")
    expect(name).to_have_attribute("title", LONG_NAME)
    expect(name).to_have_text(LONG_NAME)
    # Assistive tech reads the whole name and role once, not the cut copy.
    expect(name).to_have_attribute("aria-hidden", "true")
    expect(page.locator(".sb-nav .sb-user .visually-hidden")).to_have_text(
        f"{LONG_NAME} · 高校院所用户"
    )
    assert name.evaluate("e => e.scrollWidth > e.clientWidth"), "the long name is not cut"
    expect(name).to_have_css("text-overflow", "ellipsis")


# Data tables on phones: each row a card, nothing scrolling sideways inside its box.
CARD_PAGES = {
    "broker": "/broker/",
    "enterprise": "/workspace/enterprise/",
    "institution": "/workspace/institution/",
}
CARDS = """() => {
    const tables = [...document.querySelectorAll('table.sb-cards')];
    const cell = document.querySelector('table.sb-cards tbody td');
    return {
        rows: tables.reduce((n, t) => n + t.tBodies[0].rows.length, 0),
        display: cell ? getComputedStyle(cell).display : null,
        label: cell ? getComputedStyle(cell, '::before').content : null,
        overflowing: [...document.querySelectorAll('.table-responsive')]
            .filter(box => box.scrollWidth > box.clientWidth + 1).length,
        scrollWidth: document.documentElement.scrollWidth,
    };
}"""


@pytest.mark.parametrize("role", list(CARD_PAGES))
def test_data_tables_become_cards_at_phone_width(page, long_name_user, role):
    login(page, EMAILS[role])
    page.set_viewport_size({"width": 390, "height": HEIGHT})
    page.goto(CARD_PAGES[role])
    found = page.evaluate(CARDS)
    assert found["rows"] > 0, f"{role}: no table rows to look at"
    assert found["display"] == "block" and found["label"] not in ("none", "normal", '""')
    assert found["overflowing"] == 0 and found["scrollWidth"] <= 390, found
    page.set_viewport_size({"width": 1280, "height": HEIGHT})
    assert page.evaluate(CARDS)["display"] == "table-cell"  # a plain table on wide screens
