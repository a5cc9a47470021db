"""Fixtures: an app on SQLite (default) or PostgreSQL (MARKET_TEST_DATABASE_URL), eager tasks.

Taxonomies are loaded once per session; every test starts with empty listing tables.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from market import create_app  # noqa: E402
from market.services import indexing  # noqa: E402
from models import Industry, IpcCode, Organization, User, db  # noqa: E402

TAXONOMY_TABLES = {"ipc_code", "industry", "alembic_version"}
SEED = Path(__file__).resolve().parent.parent / "seed_data"


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("MARKET_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests must not reach beyond this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "localhost", "::1")
            and not (host.startswith("/"))
        ):
            raise RuntimeError(f"network access in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def app_config(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("instance")
    return {
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path_factory),
        "WTF_CSRF_ENABLED": False,
        "INDEX_DIR": str(root / "index"),
        "MODEL_DIR": os.environ.get("MARKET_TEST_MODEL_DIR", str(root / "models")),
        "EMBEDDING_MODEL": "hash-test",
    }


@pytest.fixture(scope="session")
def _app(app_config):
    app = create_app(app_config)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        from market.services.seed import load_industries, load_ipc

        load_industries(SEED / "gbt4754_2017_with_notes.tsv")
        load_ipc(SEED / "ipc_zh_2026_01.tsv")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(_app):
    with _app.app_context():
        yield _app
        db.session.rollback()
        db.session.remove()
        _truncate()
    indexing.forget_indexes()
    shutil.rmtree(_app.config["INDEX_DIR"], ignore_errors=True)


def _truncate() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in TAXONOMY_TABLES]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def create_org(app):
    def make(name="测试企业", kind="enterprise", city="珠海市", **extra) -> Organization:
        org = Organization(
            name=name, kind=kind, province="广东省", city=city, approved=True, **extra
        )
        db.session.add(org)
        db.session.flush()
        return org

    return make


@pytest.fixture
def enterprise(create_org):
    return create_org("示例测试科技有限公司", "enterprise", is_sme=True)


@pytest.fixture
def institution(create_org):
    return create_org("示例测试大学", "university", city="深圳市")


@pytest.fixture
def create_user(app):
    def make(email, role, org=None, password="correct-horse-1") -> User:
        user = User(email=email, name=email.split("@")[0], role=role, organization=org)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
        return user

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email, password="correct-horse-1"):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def taxonomy_loaded() -> bool:
    return db.session.get(Industry, "A") is not None and db.session.get(IpcCode, "A01B") is not None
