"""/admin/audit: who changed what, filtered by action, object, user and date (admins only)."""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request
from flask_login import current_user

from ..extensions import login_manager
from ..policy import require
from . import audit

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require(current_user, "audit.view")
    return None


@bp.route("/audit")
def audit_log():
    flt = audit.AuditFilter.from_args(request.args, PER_PAGE)
    return render_template(
        "admin/audit.html",
        page=audit.entries(flt),
        flt=flt,
        diff=audit.diff,
        actions=audit.known_actions(),
        object_types=audit.known_object_types(),
    )
