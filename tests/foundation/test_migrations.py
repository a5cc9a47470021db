"""Migrations run up and down on the configured database, in a schema of their own."""

import os
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from market import create_app


@pytest.fixture
def migration_app(tmp_path):
    base_url = os.environ.get("MARKET_TEST_DATABASE_URL")
    schema = None
    if base_url and base_url.startswith("postgresql"):
        schema = f"mig_{uuid.uuid4().hex[:8]}"
        engine = create_engine(base_url)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = base_url
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        url, options = f"sqlite:///{tmp_path / 'mig.db'}", {}
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "INDEX_DIR": str(tmp_path),
        }
    )
    yield app
    if schema:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_upgrade_then_downgrade(migration_app):
    from models import db

    with migration_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "demand",
            "outcome",
            "patent",
            "match",
            "term_sheet",
            "deal",
            "notice",
            "audit_log",
            "ipc_code",
            "industry",
            "listing_vector",
        } <= tables
        checks = {c["name"] for c in inspect(db.engine).get_check_constraints("demand")}
        assert "ck_demand_budget_min" in checks
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_models_and_migrations_agree(migration_app):
    """A model change without a migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models import db

    with migration_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []
