"""Numbers read from URLs: ids within the database's integer range, page numbers within reach.

Primary keys are ``INTEGER`` columns (32-bit on PostgreSQL), so a larger id in a path can never
name a row; the driver would raise an overflow error instead of finding nothing.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """``<int:...>`` for ids: a number above ``MAX_ID`` answers 404 before any query runs."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int = MAX_ID):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)

    def to_python(self, value: str) -> int:
        # Raised here, not as a failed match: a failed match would let a same-path rule for
        # another method answer 405 instead.
        if self.max is not None and int(value) > self.max:
            raise NotFound()
        return super().to_python(value)


def install(app) -> None:
    """Make ``<int:...>`` in every rule bounded; call before any route is registered."""
    app.url_map.converters["int"] = IdConverter


def page_number(raw: Any) -> int:
    """A ``?page=`` value as a page number from 1 to ``MAX_PAGE``; anything else is page 1."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return 1
    return max(1, min(value, MAX_PAGE))
