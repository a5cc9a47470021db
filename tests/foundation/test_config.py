import pytest

from market import create_app
from market.config import (
    DEFAULT_SECRET,
    ConfigError,
    apply_environment,
    check_production,
    check_services,
    defaults,
    normalise_database_url,
)


def test_embedded_default_needs_nothing(tmp_path):
    config = defaults(str(tmp_path))
    apply_environment(config, environ={})
    assert config["MODE"] == "embedded"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'scenebridge.db'}"
    assert config["CELERY"]["task_always_eager"] is True
    assert config["INDEX_DIR"].startswith(str(tmp_path))
    assert config["EMBEDDING_MODEL"] == "offline-e5"


def test_production_selected_by_environment(tmp_path):
    config = defaults(str(tmp_path))
    apply_environment(
        config,
        environ={"DATABASE_URL": "postgres://u:p@db/market", "REDIS_URL": "redis://cache:6379/0"},
    )
    assert config["MODE"] == "production"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/market"
    assert config["CELERY"]["broker_url"] == "redis://cache:6379/0"
    assert config["CELERY"]["task_always_eager"] is False


def test_database_url_normalised_for_psycopg3():
    assert normalise_database_url("postgresql://x/y") == "postgresql+psycopg://x/y"
    assert normalise_database_url("sqlite:///a.db") == "sqlite:///a.db"


def test_production_refuses_default_secret(tmp_path):
    config = defaults(str(tmp_path))
    config["MODE"] = "production"
    assert config["SECRET_KEY"] == DEFAULT_SECRET
    with pytest.raises(ConfigError, match="MARKET_SECRET_KEY"):
        check_production(config)
    config["SECRET_KEY"] = "a-long-random-value"
    check_production(config)
    assert config["SESSION_COOKIE_SECURE"] is True


def test_unreachable_database_fails_clearly(tmp_path):
    config = defaults(str(tmp_path))
    apply_environment(config, environ={"DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/x"})
    with pytest.raises(ConfigError, match="无法连接数据库") as info:
        check_services(config)
    assert "secret" not in str(info.value)


def test_unreachable_redis_fails_clearly(tmp_path):
    config = defaults(str(tmp_path))
    apply_environment(config, environ={"REDIS_URL": "redis://127.0.0.1:1/0"})
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ConfigError, match="Redis"):
        check_services(config)


def test_environment_prefix_overrides_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKET_EMBEDDING_MODEL", "hash-test")
    monkeypatch.setenv("MARKET_PAGE_SIZE", "7")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    app = create_app()
    assert app.config["EMBEDDING_MODEL"] == "hash-test"
    assert app.config["PAGE_SIZE"] == 7
    assert app.config["MODE"] == "embedded"
