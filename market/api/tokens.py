"""/api/v1/tokens — the current user's API tokens: list, create (secret shown once), revoke."""

from __future__ import annotations

from sqlalchemy import select

from models import ApiToken, NotFound, db
from models.enums import N_

from ..policy import can
from .auth import issue_token, revoke_token, session_or_token_user, session_write
from .common import get_or_404, resource_blueprint
from .schemas import TokenCreatedOut, TokenIn, TokenOut

blp = resource_blueprint("tokens", "/tokens", "API 令牌")
HIDDEN = N_("令牌不存在")


@blp.route("")
@blp.response(200, TokenOut(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_tokens():
    """我的 API 令牌（不含密钥）。"""
    user = session_or_token_user()
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return db.session.scalars(stmt).all()


@blp.route("", methods=["POST"])
@blp.arguments(TokenIn)
@blp.response(201, TokenCreatedOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@session_write
def create_token(data: dict):
    """新建 API 令牌；完整令牌只在此响应中出现一次。"""
    user = session_or_token_user()
    token, plain = issue_token(user, data["name"])
    db.session.commit()
    fields = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    return {**{name: getattr(token, name) for name in fields}, "token": plain}


@blp.route("/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@session_write
def delete_token(token_id: int):
    """撤销令牌，之后用它的请求一律 401。"""
    user = session_or_token_user()
    token = get_or_404(ApiToken, token_id, HIDDEN)
    if token.user_id != user.id and not can(user, "token.revoke_any"):
        raise NotFound(HIDDEN)  # someone else's token: do not reveal that it exists
    revoke_token(token)
    db.session.commit()
