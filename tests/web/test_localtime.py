"""The `localtime` filter: UTC in the database, Beijing time on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import render_template_string

from market.formatting import localtime


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (datetime(2026, 3, 1, 9, 5, tzinfo=UTC), "2026-03-01 17:05"),
        (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "2026-03-02 00:30"),  # past midnight
        (datetime(2026, 12, 31, 20, 0, tzinfo=UTC), "2027-01-01 04:00"),  # into the new year
        (datetime(2026, 3, 1, 16, 30), "2026-03-02 00:30"),  # naive means UTC
        (datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=8))), "2026-03-02 00:30"),
        ("2026-03-01T16:30:00+00:00", "2026-03-02 00:30"),  # term-sheet history keeps ISO text
        (None, ""),
    ],
)
def test_localtime(value, shown):
    assert localtime(value) == shown


def test_localtime_format_and_template(app):
    moment = datetime(2026, 3, 1, 16, 30, 59, tzinfo=UTC)
    assert localtime(moment, "%Y-%m-%d") == "2026-03-02"
    with app.test_request_context():
        out = render_template_string(
            "{{ t | localtime }}|{{ t | localtime('%H:%M:%S') }}", t=moment
        )
    assert out == "2026-03-02 00:30|00:30:59"


def test_business_dates_are_beijing_dates():
    from datetime import UTC, date, datetime

    from models import local_today

    assert local_today(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)) == date(2026, 12, 1)
    assert local_today(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == date(2026, 12, 2)
