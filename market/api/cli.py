"""``flask --app market api-token create|list|revoke`` — manage API tokens from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from models import ApiToken, User, db

from .auth import issue_token, revoke_token

api_token = AppGroup("api-token", help="API 令牌：创建、列出、撤销。")


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"没有邮箱为 {email} 的用户")
    return user


@api_token.command("create")
@click.argument("email")
@click.argument("name")
def create(email: str, name: str) -> None:
    """为用户新建令牌；完整令牌只打印这一次。"""
    token, plain = issue_token(_user(email), name)
    db.session.commit()
    click.echo(plain)
    click.echo(f"令牌 #{token.id}（{token.name}）已创建，请立即保存；系统只保存其摘要。", err=True)


@api_token.command("list")
@click.argument("email")
def list_tokens(email: str) -> None:
    """列出用户的令牌（不含密钥）。"""
    user = _user(email)
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        state = "已撤销" if token.revoked_at else "有效"
        used = token.last_used_at.isoformat() if token.last_used_at else "从未使用"
        click.echo(f"{token.id}\t{token.prefix}\t{token.name}\t{state}\t{used}")


@api_token.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """撤销一个令牌。"""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"没有编号为 {token_id} 的令牌")
    revoke_token(token)
    db.session.commit()
    click.echo(f"令牌 #{token.id}（{token.name}）已撤销")
