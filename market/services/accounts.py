"""Registering organisations, reviewing them, password reset tokens and profile changes."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from models import (
    DomainError,
    IdempotencyKey,
    LoginThrottle,
    Organization,
    OrganizationReview,
    User,
    ValidationError,
    db,
    utcnow,
)
from models.accounts import check_password_of_nobody, hash_password
from models.enums import N_, ORG_KINDS

from ..passwords import check_password_strength
from . import audit

log = logging.getLogger(__name__)

RESET_SALT = "password-reset"
RESET_MAX_AGE = 3600

# Per-address sign-in backoff, beside the per-IP rate limit: after FREE_FAILURES wrong passwords
# each further one doubles the wait (30 s, 1 min, 2 min … at most 15 min); a quiet hour forgets.
FREE_FAILURES = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
FAILURES_FORGOTTEN_AFTER = timedelta(hours=1)


class SignInRefused(ValidationError):
    """Wrong address or password; the message never says which."""


class SignInThrottled(DomainError):
    """Too many wrong passwords for this address; ``retry_at`` says when to try again."""

    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_at: datetime):
        super().__init__(N_("登录失败次数过多，请稍后再试"), "password")
        self.retry_at = retry_at


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def sign_in(email: str, password: str, now: datetime | None = None) -> User:
    """The active user with this address and password, in the same time whether or not the
    address has an account; counts failures per address and refuses while it is backing off."""
    now = now or utcnow()
    email = normalise_email(email)
    throttle = db.session.get(LoginThrottle, _email_key(email))
    if throttle is not None and throttle.blocked_until and throttle.blocked_until > now:
        raise SignInThrottled(throttle.blocked_until)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        accepted = check_password_of_nobody(password or "")
    else:
        accepted = user.check_password(password or "") and user.active
    if accepted:
        if throttle is not None:
            db.session.delete(throttle)
            db.session.flush()
        return user
    _count_failure(email, throttle, now)
    raise SignInRefused(N_("邮箱或密码不正确"), "password")


def _email_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def _count_failure(email: str, throttle: LoginThrottle | None, now: datetime) -> None:
    if throttle is None:
        throttle = LoginThrottle(email_hash=_email_key(email), failures=0)
        try:
            with db.session.begin_nested():  # another worker may count the same address
                db.session.add(throttle)
        except IntegrityError:
            throttle = db.session.get(LoginThrottle, _email_key(email))
    if throttle.last_failed_at and now - throttle.last_failed_at > FAILURES_FORGOTTEN_AFTER:
        throttle.failures = 0
    throttle.failures += 1
    throttle.last_failed_at = now
    over = throttle.failures - FREE_FAILURES
    if over >= 0:
        throttle.blocked_until = now + min(BACKOFF_BASE * 2 ** min(over, 16), BACKOFF_MAX)
        log.warning("sign-in backoff for an address after %d failures", throttle.failures)
    db.session.flush()


def forget_sign_in_failures(now: datetime | None = None) -> int:
    """Drop failure counts that no longer matter (quiet for a day and not blocking)."""
    now = now or utcnow()
    quiet = now - max(FAILURES_FORGOTTEN_AFTER, timedelta(days=1))
    stale = (
        db.delete(LoginThrottle)
        .where(LoginThrottle.last_failed_at < quiet)
        .where((LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now))
    )
    removed = db.session.execute(stale).rowcount or 0
    db.session.flush()
    return removed


IDEMPOTENCY_TTL = timedelta(hours=24)


def idempotency_ttl() -> timedelta:
    """How long an API client's Idempotency-Key replays its first answer."""
    return current_app.config.get("IDEMPOTENCY_TTL", IDEMPOTENCY_TTL)


def forget_idempotency_keys(now: datetime | None = None) -> int:
    """Drop Idempotency-Keys older than ``idempotency_ttl()`` (daily, from beat)."""
    cutoff = (now or utcnow()) - idempotency_ttl()
    stale = db.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
    removed = db.session.execute(stale).rowcount or 0
    db.session.flush()
    return removed


# The role a registering user gets follows from the kind of organisation they register.
ROLE_FOR_KIND = {
    "enterprise": "enterprise",
    "university": "institution",
    "institute": "institution",
    "hospital": "institution",
    "service": "broker",
}


def role_for_kind(kind: str) -> str:
    if kind not in ORG_KINDS:
        raise ValidationError(N_("未知的机构类型：%(kind)s"), "kind", kind=kind)
    return ROLE_FOR_KIND[kind]


def register_organization(org_data: dict, user_data: dict) -> tuple[Organization, User] | None:
    """Create an unapproved organisation with its first user.

    None when the address already has an account: nothing is created and the account's owner
    is told, and the caller answers exactly as for a new registration, so the form cannot be
    used to find out which addresses have accounts.
    """
    name = (org_data.get("name") or "").strip()
    if name and db.session.scalar(select(Organization.id).where(Organization.name == name)):
        raise ValidationError(N_("该机构名称已注册，请联系该机构的现有用户或运营人员"), "org_name")
    email = normalise_email(user_data.get("email"))
    password = user_data.get("password") or ""
    check_password_strength(password, email, user_data.get("name"), name)
    existing = db.session.scalar(select(User).where(User.email == email)) if email else None
    if existing is not None:
        hash_password(password)  # the time a new account's hash takes, so timing tells nothing
        _tell_owner_of_registration(existing)
        return None
    org = Organization(
        name=name,
        kind=org_data.get("kind"),
        province=org_data.get("province"),
        city=org_data.get("city"),
        is_sme=bool(org_data.get("is_sme")),
        state_owned=bool(org_data.get("state_owned")) and org_data.get("kind") == "enterprise",
        approved=False,
    )
    user = User(
        email=email,
        name=(user_data.get("name") or "").strip(),
        role=role_for_kind(org.kind),
        organization=org,
    )
    user.set_password(password)
    db.session.add_all([org, user])
    db.session.flush()
    audit.record(user.id, "org.register", org, after={"name": org.name, "kind": org.kind})
    return org, user


def _tell_owner_of_registration(user: User) -> None:
    # There is no mail backend yet: the notice goes to the server log, like reset links.
    log.warning(
        "注册申请使用了已有账号的邮箱（仅写入日志）registration attempted with the address of "
        "user %s; they can sign in or reset their password",
        user.id,
    )


def pending_organizations() -> list[Organization]:
    """Organisations waiting for review: not approved and not rejected."""
    rejected = exists().where(
        OrganizationReview.organization_id == Organization.id,
        OrganizationReview.decision == "rejected",
    )
    stmt = (
        select(Organization)
        .where(Organization.approved.is_(False), ~rejected)
        .order_by(Organization.created_at, Organization.id)
    )
    return list(db.session.scalars(stmt))


def approve_organization(
    org: Organization, reviewer: User, state_owned: bool | None = None
) -> Organization:
    """Approve a registration; the reviewer confirms or corrects whether an enterprise is a
    国有企业 (it puts the enterprise's fiscal-funded outcomes in the 到期即转 scope)."""
    before = {"approved": False, "state_owned": org.state_owned}
    org.approved = True
    if state_owned is not None:
        org.state_owned = state_owned and org.kind == "enterprise"
    db.session.add(
        OrganizationReview(organization=org, reviewer_id=reviewer.id, decision="approved")
    )
    db.session.flush()
    audit.record(
        reviewer.id,
        "org.approve",
        org,
        before=before,
        after={"approved": True, "state_owned": org.state_owned},
    )
    return org


def reject_organization(org: Organization, reviewer: User, reason: str | None) -> Organization:
    """Refuse an organisation: its users can no longer sign in, the record stays for audit."""
    if org.approved:
        raise ValidationError(N_("该机构已通过审核，不能再拒绝"), "organization")
    reason = (reason or "").strip()[:500] or None
    for user in org.users:
        user.active = False
    db.session.add(
        OrganizationReview(
            organization=org, reviewer_id=reviewer.id, decision="rejected", reason=reason
        )
    )
    db.session.flush()
    audit.record(reviewer.id, "org.reject", org, after={"approved": False, "reason": reason})
    return org


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Bound into the token so a link stops working once the password has changed (single use).
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def user_for_reset_token(token: str, max_age: int = RESET_MAX_AGE) -> User:
    """The user a reset link belongs to; refuses expired, tampered or already used links."""
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as e:
        raise ValidationError(N_("重置链接已过期（有效期1小时），请重新申请"), "token") from e
    except BadSignature as e:
        raise ValidationError(N_("重置链接无效，请重新申请"), "token") from e
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("pw") != _password_fingerprint(user):
        raise ValidationError(N_("重置链接无效或已使用，请重新申请"), "token")
    return user


def request_password_reset(email: str, link_for) -> bool:
    """Issue a reset link for an active account. ``link_for(token)`` builds the absolute URL.

    In embedded mode there is no mail server: the link goes to the server log only.
    """
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        log.info("password reset requested for an unknown or inactive address")
        return False
    link = link_for(make_reset_token(user))
    if current_app.config.get("MODE") == "embedded":
        log.warning("密码重置链接（仅写入日志）password reset link for %s: %s", user.email, link)
    else:
        log.warning(
            "password reset requested for user %s but no mail backend is configured", user.id
        )
    return True


def reset_password(user: User, password: str) -> None:
    check_password_strength(password, user.email, user.name)
    user.set_password(password)
    user.end_sessions()
    db.session.flush()
    audit.record(user.id, "user.reset_password", user)


def update_profile(user: User, name: str) -> User:
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("姓名不能为空"), "name")
    if len(name) > 80:
        raise ValidationError(N_("姓名不能超过80个字"), "name")
    before = {"name": user.name}
    user.name = name
    db.session.flush()
    audit.record(user.id, "user.profile", user, before=before, after={"name": name})
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise ValidationError(N_("当前密码不正确"), "current_password")
    check_password_strength(new, user.email, user.name, field="new_password")
    user.set_password(new)
    user.end_sessions()  # the caller signs this browser in again with the new generation
    db.session.flush()
    audit.record(user.id, "user.change_password", user)


def sign_out(user: User) -> None:
    """End every session and remember cookie of the user (logout ends captured copies too)."""
    user.end_sessions()
    db.session.flush()


def sign_out_everywhere(user: User) -> None:
    """退出所有设备: like ``sign_out``, recorded in the audit log."""
    sign_out(user)
    audit.record(user.id, "user.end_sessions", user)
