"""Signed-in users for the workspace and account pages."""

from __future__ import annotations

import pytest

from models import db


def page(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def enterprise_user(enterprise, create_user):
    user = create_user("boss@example.com", "enterprise", enterprise)
    db.session.commit()
    return user


@pytest.fixture
def institution_user(institution, create_user):
    user = create_user("tto@example.edu.cn", "institution", institution)
    db.session.commit()
    return user


@pytest.fixture
def admin_user(create_user):
    user = create_user("ops@example.com", "admin")
    db.session.commit()
    return user
