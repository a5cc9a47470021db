"""End to end through a real Celery worker on Redis: nothing posted is ever lost."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import func, select
from workerkit import Worker, wait_for

from market.services import indexing
from market.services.listings import post_outcome
from market.tasks import enqueue
from models import Outcome, db

pytestmark = pytest.mark.worker


def _post(org, count: int, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        outcome = post_outcome(
            org,
            {
                "title": f"示例成果{n}：一种编号为{n}的传感装置",
                "abstract": f"第{n}号成果，测量精度0.{n % 9 + 1}mm。",
            },
        )
        ids.append(outcome.id)
    db.session.commit()
    return ids


def _unindexed() -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count())
        .select_from(Outcome)
        .where((Outcome.indexed_hash.is_(None)) | (Outcome.indexed_hash != Outcome.content_hash))
    )


def _searchable(ids: list[int]) -> bool:
    indexing.forget_indexes()
    return set(ids) <= set(indexing.get_index("outcome").ids().tolist())


def test_two_hundred_listings_indexed_by_a_real_worker(queue_app, worker, institution):
    ids = _post(institution, 200)
    for start in range(0, 200, 50):
        assert enqueue("embed_batch", "outcome", ids[start : start + 50])
    wait_for(lambda: _unindexed() == 0, what=f"200 outcomes indexed; log:\n{worker.log()[-2000:]}")
    assert _searchable(ids)
    hit = indexing.search("outcome", "示例成果17：一种编号为17的传感装置", k=1)
    assert hit[0][0] == ids[17]


def test_worker_killed_mid_batch_loses_nothing(queue_app, worker, institution):
    # Its start-up reconcile runs first (recovery queue): let it finish, or it indexes the whole
    # batch at once before the kill.
    wait_for(lambda: "workers.tasks.reconcile[" in worker.log() and " succeeded " in worker.log())
    ids = _post(institution, 300)
    for outcome_id in ids:
        enqueue("embed_listing", "outcome", outcome_id)
    wait_for(lambda: _unindexed() < 290, what="the worker to start")
    worker.kill()
    left = _unindexed()
    assert left > 0, "the worker finished before it could be killed; make the batch larger"
    worker.start()  # on start it runs reconcile, and acks_late redelivers the lost task
    wait_for(lambda: _unindexed() == 0, what=f"recovery; log:\n{worker.log()[-2000:]}")
    assert _searchable(ids)
    assert len(indexing.get_index("outcome")) == 300  # no duplicates


def test_posting_works_while_redis_is_down(
    queue_app, institution, monkeypatch, redis_url, tmp_path
):
    celery = queue_app.extensions["celery"]
    monkeypatch.setattr(celery.conf, "broker_url", "redis://127.0.0.1:1/0")
    celery.pool.force_close_all()
    ids = _post(institution, 20)
    handed_over = [enqueue("embed_listing", "outcome", i) for i in ids[:3]]
    assert handed_over == [False, False, False]
    assert db.session.scalar(select(func.count()).select_from(Outcome)) == 20  # writes kept
    monkeypatch.undo()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1).ping()
    w = Worker(queue_app, redis_url, tmp_path / "worker.log")
    w.start()  # broker back: the worker's start-up reconcile catches up
    try:
        wait_for(lambda: _unindexed() == 0, what=f"reconcile after outage; log:\n{w.log()[-2000:]}")
    finally:
        w.stop()
    assert _searchable(ids)
