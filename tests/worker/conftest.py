"""A real ``celery worker`` process on Redis, sharing the test database and index folder."""

from __future__ import annotations

import os

import pytest
import redis
from workerkit import Worker

from market import create_app

REDIS_URL = os.environ.get("MARKET_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url():
    if not _redis_up():
        pytest.skip(f"Redis not reachable at {REDIS_URL} (CI provides it)")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def queue_app(app, redis_url):
    """The same database and index as ``app``, but tasks go to Redis instead of running inline."""
    celery = dict(app.config["CELERY"])
    celery.update(
        task_always_eager=False,
        broker_url=redis_url,
        result_backend=redis_url,
        task_ignore_result=False,
    )
    config = {
        k: app.config[k]
        for k in (
            "SQLALCHEMY_DATABASE_URI",
            "INDEX_DIR",
            "MODEL_DIR",
            "EMBEDDING_MODEL",
            "SECRET_KEY",
            "TESTING",
        )
    }
    other = create_app({**config, "CELERY": celery})
    with other.app_context():
        yield other
        from models import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def worker(queue_app, redis_url, tmp_path):
    w = Worker(queue_app, redis_url, tmp_path / "worker.log")
    w.start()
    yield w
    w.stop()
