"""The transactional outbox: a write never waits for Redis, and its task survives an outage."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from sqlalchemy import func, select
from workerkit import wait_for

from market import create_app
from market.api.auth import issue_token
from market.tasks import RECOVERY_QUEUE, relay
from models import Demand, OutboxTask, User, db

OWN_REDIS_PORT = 6393  # a redis-server this test starts and stops itself
BROKER = f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"


@pytest.fixture
def broker_app(app):
    """The test database, with tasks going to a broker on OWN_REDIS_PORT (down at first)."""
    celery = dict(app.config["CELERY"])
    celery.update(task_always_eager=False, broker_url=BROKER, result_backend=None)
    keep = ("SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "MODEL_DIR", "EMBEDDING_MODEL", "TESTING")
    other = create_app(
        {
            **{k: app.config[k] for k in keep},
            "SECRET_KEY": "outbox",
            "CELERY": celery,
            "OUTBOX_RETRY_SECONDS": 0.5,
        }
    )
    with other.app_context():
        yield other
        db.session.remove()
        db.engine.dispose()
    app.extensions["celery"].set_default()


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    client = redis.Redis(port=OWN_REDIS_PORT, socket_connect_timeout=0.5)
    processes = []

    def start() -> redis.Redis:
        processes.append(
            subprocess.Popen(
                ["redis-server", "--port", str(OWN_REDIS_PORT), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        wait_for(_answers(client), timeout=20, interval=0.1, what="redis-server")
        return client

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _answers(client: redis.Redis):
    def ping() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    return ping


def _token(enterprise) -> str:
    user = User(email="outbox@example.com", name="出题人", role="enterprise")
    user.organization_id = enterprise.id
    user.set_password("correct-horse-1")
    db.session.add(user)
    db.session.flush()
    _row, plain = issue_token(user, "outbox")
    db.session.commit()
    return plain


def _outbox() -> list[tuple[str, list]]:
    db.session.expire_all()
    return [(row.name, row.args) for row in db.session.scalars(select(OutboxTask))]


def test_a_write_with_redis_away_answers_at_once_and_its_task_waits_in_the_outbox(
    broker_app, enterprise, redis_server
):
    token = _token(enterprise)
    client = broker_app.test_client()
    body = {
        "title": "海上风电无人机巡检",
        "description": "需要续航不低于45分钟、抗风6级的巡检无人机。",
        "scenario_type": "industry",
    }
    started = time.perf_counter()
    answer = client.post("/api/v1/demands", json=body, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    assert answer.status_code == 201, answer.json
    assert elapsed < 1.0  # Celery's own retries took 19-30 s here
    assert _outbox() == [("embed_listing", ["demand", answer.json["id"]])]
    assert db.session.scalar(select(func.count()).select_from(Demand)) == 1

    refused = relay()  # still away: kept, not lost, and no waiting for it
    assert (refused["sent"], refused["pending"]) == (0, 1)
    assert refused["slowest_publish_s"] < 1.0

    queue = redis_server()  # the broker is back: the process's relay thread hands it over
    wait_for(lambda: not _outbox(), timeout=20, interval=0.2, what="the relay")
    assert queue.llen("celery") == 1


def test_reconcile_and_the_relay_go_to_the_recovery_queue(broker_app):
    router = broker_app.extensions["celery"].amqp.router
    for name in ("workers.tasks.reconcile", "workers.tasks.relay_outbox"):
        assert router.route({}, name)["queue"].name == RECOVERY_QUEUE
    assert router.route({}, "workers.tasks.embed_listing")["queue"].name == "celery"


def test_the_embedded_default_runs_tasks_after_the_commit_and_stores_no_outbox(
    client, app, enterprise
):
    token = _token(enterprise)
    answer = client.post(
        "/api/v1/demands",
        json={
            "title": "海上风电无人机巡检",
            "description": "需要续航不低于45分钟、抗风6级的巡检无人机。",
            "scenario_type": "industry",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201
    assert _outbox() == []
    assert db.session.get(Demand, answer.json["id"]).indexed_hash is not None
