"""/api/v1/me — who the API sees: the token's user or the logged-in browser user."""

from __future__ import annotations

from models.enums import N_

from ..policy import can
from .auth import Unauthorized, api_user, request_token
from .common import resource_blueprint
from .schemas import MeOut

blp = resource_blueprint("me", "/me", "当前用户")
COLLECTION_ACTIONS = ("demand.create", "outcome.create", "outcome.import", "match.review")


@blp.route("")
@blp.response(200, MeOut)
@blp.alt_response(401, response="UNAUTHORIZED")
def me():
    """当前用户、所属机构与可执行的操作。"""
    user = api_user()
    if user is None:
        raise Unauthorized(N_("请先登录或提供 API 令牌"))
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "role_label": user.role_label,
        "organization": user.organization,
        "permissions": [action for action in COLLECTION_ACTIONS if can(user, action)],
        "auth": "token" if request_token() is not None else "session",
    }
