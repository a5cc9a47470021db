"""How hard a new password is to guess: zxcvbn, which knows common passwords, names, keyboard
patterns, repeats and sequences, and is told the user's own e-mail, name and organisation."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from zxcvbn import zxcvbn

from models import ValidationError

# zxcvbn scores 0-4; 3 means "safely unguessable" (~10^10 guesses), so a stolen hash protected
# by scrypt is not cracked by a dictionary run.
MIN_SCORE = 3
ANALYSED_LENGTH = 100  # zxcvbn slows down on long input; the first 100 characters tell enough
SITE_WORDS = ("scenebridge", "场景桥", "changjingqiao")


def personal_words(*values: str | None) -> list[str]:
    """The user's e-mail, its parts, their name and organisation, as zxcvbn ``user_inputs``."""
    words: list[str] = list(SITE_WORDS)
    for value in values:
        value = (value or "").strip().lower()
        if value:
            words.append(value)
            words += [part for part in re.split(r"[@.\-_+\s]+", value) if len(part) >= 3]
    return words


def check_password_strength(password: str, *personal: str | None, field: str = "password") -> None:
    """Refuse a password that is easy to guess, saying why, on the form field ``field``."""
    result = zxcvbn((password or "")[:ANALYSED_LENGTH], user_inputs=personal_words(*personal))
    if result["score"] >= MIN_SCORE:
        return
    raise ValidationError(_reason(result["sequence"]), field)


def _reason(sequence: list[dict]) -> str:
    patterns = {(m["pattern"], m.get("dictionary_name")) for m in sequence}
    if ("dictionary", "user_inputs") in patterns:
        return _("密码强度不足：不能包含您的邮箱、姓名、机构名称或本平台名称")
    if ("dictionary", "passwords") in patterns:
        return _("密码强度不足：这是常见密码或与常见密码相似，很容易被猜到")
    if {"repeat", "sequence", "spatial"} & {pattern for pattern, _name in patterns}:
        return _("密码强度不足：含有重复、连续或键盘上相邻的字符（如 aaa、1234、qwer）")
    return _("密码强度不足：太容易被猜到，请使用更长、更少见的密码，例如几个不相关的词的组合")
