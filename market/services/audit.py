"""Record who changed what, before and after."""

from __future__ import annotations

from typing import Any

from models import AuditLog, db


def record(
    user_id: int | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    entry = AuditLog(
        user_id=user_id,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "platform",
        object_id=getattr(obj, "id", None),
        before=_json_safe(before),
        after=_json_safe(after),
    )
    db.session.add(entry)
    return entry


def snapshot(obj: Any, fields: list[str]) -> dict:
    return {name: getattr(obj, name) for name in fields}


def _json_safe(data: dict | None) -> dict | None:
    if data is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
