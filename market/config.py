"""Configuration: an embedded default that needs nothing, and production from the environment.

Every setting can be overridden with a ``MARKET_``-prefixed environment variable: the
setting ``EMBEDDING_MODEL`` by ``MARKET_EMBEDDING_MODEL=BAAI/bge-small-zh-v1.5``, ``SECRET_KEY`` by
``MARKET_SECRET_KEY``. ``DATABASE_URL`` and ``REDIS_URL`` are read unprefixed because that is what
hosting platforms and docker-compose set.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from models.base import json_loads

DEFAULT_SECRET = "dev-only-not-secret"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to change."""


def defaults(instance_path: str) -> dict:
    instance = Path(instance_path)
    return {
        "SECRET_KEY": DEFAULT_SECRET,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'scenebridge.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "json_deserializer": json_loads},
        "MODE": "embedded",
        "INDEX_DIR": str(instance / "index"),
        "MODEL_DIR": str(instance / "models"),
        "EMBEDDING_MODEL": "offline-e5",
        "FLAT_INDEX_LIMIT": 200_000,
        "PAGE_SIZE": 20,
        "TEXT_LIMIT": 20_000,
        "TITLE_LIMIT": 200,
        "SEED_EMBED_LIMIT": 3_000,
        # Web workers load the model and indexes when they start (gunicorn.conf.py), not on a
        # user's first request.
        "WARM_INDEXES": True,
        "POLICY_DIR": str(Path(__file__).resolve().parent.parent / "seed_data" / "policies"),
        "CELERY": {
            "task_always_eager": True,
            "task_eager_propagates": True,
            "broker_url": "memory://",
            "result_backend": None,
            "task_ignore_result": True,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            "beat_schedule": {
                "reconcile": {"task": "workers.tasks.reconcile", "schedule": 300.0},
                "relay-outbox": {"task": "workers.tasks.relay_outbox", "schedule": 60.0},
                "use-first-sweep": {"task": "workers.tasks.use_first_sweep", "schedule": 86400.0},
                "refresh-neighbors": {
                    "task": "workers.tasks.refresh_neighbors",
                    "schedule": 86400.0,
                },
                "forget-idempotency-keys": {
                    "task": "workers.tasks.forget_idempotency_keys",
                    "schedule": 86400.0,
                },
                "forget-sign-in-failures": {
                    "task": "workers.tasks.forget_sign_in_failures",
                    "schedule": 86400.0,
                },
            },
        },
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parents[1] / "translations"),
        "LANGUAGES": {"zh": "简体中文", "en": "English"},
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # "记住我" lasts two weeks, not Flask-Login's default year; secure in production.
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
    }


def apply_environment(config: dict, environ: dict[str, str] | None = None) -> None:
    """Switch to production when DATABASE_URL / REDIS_URL are set."""
    env = os.environ if environ is None else environ
    database_url = env.get("DATABASE_URL")
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(database_url)
        config["MODE"] = "production"
    redis_url = env.get("REDIS_URL")
    if redis_url:
        celery = dict(config["CELERY"])
        celery.update(
            task_always_eager=False,
            broker_url=redis_url,
            result_backend=redis_url,
            task_ignore_result=False,
        )
        config["CELERY"] = celery
        config["MODE"] = "production"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_production(config: dict) -> None:
    """Refuse to run production with settings that are unsafe or cannot work."""
    if config.get("MODE") != "production" or config.get("TESTING"):
        return
    if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET):
        raise ConfigError(
            "生产模式必须设置 MARKET_SECRET_KEY（随机长字符串）。"
            " Production needs MARKET_SECRET_KEY set to a long random value."
        )
    config["SESSION_COOKIE_SECURE"] = True


def check_services(config: dict) -> None:
    """Fail at start, with a clear message, when production services cannot be reached."""
    if config.get("MODE") != "production" or config.get("TESTING"):
        return
    from sqlalchemy import create_engine, text

    url = config["SQLALCHEMY_DATABASE_URI"]
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as e:
        raise ConfigError(f"无法连接数据库 DATABASE_URL（{_safe(url)}）：{e}") from e
    broker = config["CELERY"].get("broker_url", "")
    if broker.startswith("redis"):
        import redis

        try:
            redis.Redis.from_url(broker, socket_connect_timeout=3).ping()
        except Exception as e:
            raise ConfigError(f"无法连接 Redis（REDIS_URL={_safe(broker)}）：{e}") from e


def _safe(url: str) -> str:
    """Hide the password part of a URL in messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
