"""/admin/audit: admins only; filters by action, object, user and date; before/after diff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from market.services import audit
from models import AuditLog, Demand, db


@pytest.fixture
def entries(create_user, enterprise):
    admin = create_user("admin@example.cn", "admin")
    editor = create_user("editor@example.cn", "enterprise", enterprise)
    demand = Demand(organization_id=enterprise.id, title="旧标题", description="说明")
    db.session.add(demand)
    db.session.flush()
    audit.record(
        editor.id,
        "demand.update",
        demand,
        before={"title": "旧标题", "status": "draft"},
        after={"title": "新标题<b>粗</b>", "status": "draft"},
    )
    audit.record(None, "notice.close", demand, after={"at": "2026-03-01"})
    old = audit.record(admin.id, "org.approve", admin, after={"approved": True})
    db.session.flush()
    old.at = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    db.session.commit()
    return {"admin": admin, "editor": editor, "demand": demand}


def test_only_admins_see_the_audit_log(client, auth, entries, create_user):
    assert client.get("/admin/audit").status_code in (302, 401)
    create_user("broker@example.cn", "broker")
    db.session.commit()
    auth.login("broker@example.cn")
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login("editor@example.cn")
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login("admin@example.cn")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("sb-audit-entry") == 3


def _shown(client, query: str) -> str:
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_filters_and_diff_table(client, auth, entries):
    auth.login("admin@example.cn")
    html = _shown(client, "action=demand.update")
    assert html.count("sb-audit-entry") == 1 and "<strong>demand.update</strong>" in html
    assert "<del>旧标题</del>" in html and "<ins>新标题&lt;b&gt;粗&lt;/b&gt;</ins>" in html
    assert "table-warning" in html  # the changed title row is marked; status is not
    assert _shown(client, "action=demand").count("sb-audit-entry") == 1
    assert _shown(client, "object=demand").count("sb-audit-entry") == 2
    demand_id = entries["demand"].id
    assert _shown(client, f"object=demand&object_id={demand_id}").count("sb-audit-entry") == 2
    assert _shown(client, "user=editor@").count("sb-audit-entry") == 1
    assert _shown(client, f"user={entries['admin'].id}").count("sb-audit-entry") == 1
    assert _shown(client, "until=2025-01-02").count("sb-audit-entry") == 1
    assert _shown(client, "since=2025-01-03").count("sb-audit-entry") == 2
    assert _shown(client, "since=not-a-date&page=x").count("sb-audit-entry") == 3


def test_pagination(client, auth, entries):
    for n in range(60):
        audit.record(None, "bulk.touch", entries["demand"], after={"n": n})
    db.session.commit()
    auth.login("admin@example.cn")
    first = _shown(client, "action=bulk.touch")
    assert first.count("sb-audit-entry") == 50 and "第 1 / 2 页" in first
    second = _shown(client, "action=bulk.touch&page=2")
    assert second.count("sb-audit-entry") == 10
    assert db.session.query(AuditLog).count() == 63


def test_diff_rows_mark_changes():
    rows = audit_rows({"a": 1, "b": "x"}, {"b": "y", "c": [1]})
    assert [(r.key, r.before, r.after, r.changed) for r in rows] == [
        ("a", "1", "—", True),
        ("b", "x", "y", True),
        ("c", "—", "[1]", True),
    ]
    assert audit_rows(None, None) == []


def audit_rows(before, after):
    from market.admin.audit import diff

    return diff(before, after)


def test_term_sheet_edits_read_like_the_sheet(client, auth, entries):
    def term(value, unit):
        return {"value": value, "unit": unit, "source": "edit:x", "citation": ""}

    audit.record(
        entries["admin"].id,
        "termsheet.edit",
        entries["demand"],
        before={"annual_minimum": term(1_000_000, "fen"), "exclusivity": term("ordinary", "enum")},
        after={"annual_minimum": term(3_000_000, "fen"), "exclusivity": term("sole", "enum")},
    )
    db.session.commit()
    auth.login("admin@example.cn")
    html = _shown(client, "action=termsheet.edit")
    assert "年度最低提成" in html and "<del>10,000.00元</del>" in html
    assert "<ins>30,000.00元</ins>" in html and "<ins>排他许可</ins>" in html
    assert "&#34;unit&#34;" not in html and "ordinary" not in html
