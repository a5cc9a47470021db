"""Where a user-supplied redirect target may send the browser: this site's own paths only.

Every redirect whose target comes from the request (``?next=``, the ``Referer``) goes through
``safe_target``; an open redirect would let phishing pages borrow the site's name.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import request


def _has_unsafe_char(text: str) -> bool:
    # Browsers drop tabs and newlines inside URLs and treat "\" as "/", so "/\t/evil" and
    # "/\\evil" both become "//evil" (another host); control characters also break headers.
    return any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 or ch == "\\" for ch in text)


def safe_target(target: str | None) -> str | None:
    """``target`` when it is a same-origin relative path such as ``/demands?page=2``, else None."""
    if not target or len(target) > 2000 or _has_unsafe_char(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def same_origin_referrer() -> str | None:
    """The ``Referer`` as a relative path when it points at this site, else None."""
    referrer = request.referrer
    if not referrer or _has_unsafe_char(referrer):
        return None
    parts = urlsplit(referrer)
    here = urlsplit(request.host_url)
    # The scheme may differ behind a TLS-terminating proxy; only the path is followed anyway.
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != here.netloc.lower():
        return None
    return safe_target(urlunsplit(("", "", parts.path or "/", parts.query, "")))
