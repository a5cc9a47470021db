"""What ``/healthz`` reports: the database, Redis, the worker's heartbeat and the search index,
each on its own, so an operator sees which part is down.

Only a database outage makes the site unusable (HTTP 503); without Redis the site still serves
pages (rate limits fall back to memory) and tasks wait, so that is "degraded", not down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import text

from models import db

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "scenebridge:worker:heartbeat"
HEARTBEAT_STALE_AFTER = 15 * 60  # beat runs reconcile every 5 minutes, so 3 missed rounds
HEARTBEAT_TTL = 24 * 3600
TIMEOUT = 0.5  # seconds; the container healthcheck must answer quickly even when Redis hangs


def redis_url(config) -> str | None:
    broker = config.get("CELERY", {}).get("broker_url", "")
    return broker if broker.startswith(("redis://", "rediss://")) else None


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)


def record_heartbeat(config) -> None:
    """A worker says it is alive (after each task, and when it starts)."""
    url = redis_url(config)
    if url is None:
        return
    try:
        _redis(url).set(HEARTBEAT_KEY, f"{time.time():.0f}", ex=HEARTBEAT_TTL)
    except Exception:  # a heartbeat must never fail the task it follows
        log.warning("could not record the worker heartbeat", exc_info=True)


def check_database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as e:
        db.session.rollback()
        log.warning("health: database unreachable: %s", e)
        return {"status": "down", "error": type(e).__name__}
    return {"status": "ok"}


def check_redis() -> tuple[dict[str, Any], Any]:
    url = redis_url(current_app.config)
    if url is None:
        return {"status": "not_configured"}, None
    client = _redis(url)
    try:
        client.ping()
    except Exception as e:
        log.warning("health: redis unreachable: %s", e)
        return {"status": "down", "error": type(e).__name__}, None
    return {"status": "ok"}, client


def check_worker(client) -> dict[str, Any]:
    if redis_url(current_app.config) is None:
        return {"status": "in_process"}  # embedded mode: tasks run inside the web process
    if client is None:
        return {"status": "unknown", "reason": "redis_down"}
    try:
        raw = client.get(HEARTBEAT_KEY)
    except Exception as e:
        return {"status": "unknown", "error": type(e).__name__}
    if raw is None:
        return {"status": "unknown", "reason": "no_heartbeat"}
    age = max(0, int(time.time() - float(raw)))
    return {"status": "ok" if age <= HEARTBEAT_STALE_AFTER else "stale", "last_seen_s": age}


def check_index() -> dict[str, Any]:
    from .services.indexing import status

    try:
        counts = status()
    except Exception as e:
        db.session.rollback()
        return {"status": "unknown", "error": type(e).__name__}
    behind = any(part["indexed"] < part["total"] for part in counts.values())
    return {"status": "catching_up" if behind else "ok", **counts}


def report() -> tuple[dict[str, Any], int]:
    """The health document and its HTTP status: 503 when the database is down."""
    database = check_database()
    redis_state, client = check_redis()
    checks = {
        "database": database,
        "redis": redis_state,
        "worker": check_worker(client),
        "index": check_index() if database["status"] == "ok" else {"status": "unknown"},
    }
    if database["status"] != "ok":
        return {"status": "down", **checks}, 503
    degraded = redis_state["status"] == "down" or checks["worker"]["status"] in ("stale",)
    return {"status": "degraded" if degraded else "ok", **checks}, 200


QUEUES = ("recovery", "celery")  # the worker reads them in this order
TASK_SECONDS = 0.5  # a queued embed or match task, on 2 cores (the backlog's ETA)
LISTINGS_PER_SECOND = 18.0  # encoding stale listings without stored vectors, on 2 cores


def backlog() -> dict[str, Any]:
    """What is waiting, for ``index status`` and the home page: tasks queued in Redis (and held
    by workers, unacknowledged), tasks still in the outbox, listings not yet indexed, listings
    whose proposals are missing or stale, and an ETA (the running catch-up's own rate when there
    is one, else the rates above)."""
    from .services.indexing import catch_up_eta, stale_ids
    from .services.matching import stale_proposals
    from .tasks import outbox_size

    queued: dict[str, Any] = {}
    url = redis_url(current_app.config)
    if url is not None:
        try:
            client = _redis(url)
            queued = {name: client.llen(name) for name in QUEUES}
            queued["unacked"] = client.hlen("unacked")
        except Exception as e:
            queued = {"error": type(e).__name__}
    stale = {kind: len(stale_ids(kind)) for kind in ("demand", "outcome")}
    proposals = {kind: len(ids) for kind, ids in stale_proposals().items()}
    outbox = outbox_size()
    tasks = sum(v for k, v in queued.items() if k in QUEUES) + outbox
    running = catch_up_eta()
    if running is not None and running["seconds_left"] is not None:
        seconds = running["seconds_left"]
    else:
        seconds = tasks * TASK_SECONDS + sum(stale.values()) / LISTINGS_PER_SECOND
        seconds += sum(proposals.values()) * TASK_SECONDS
    return {
        "queued": queued,
        "outbox": outbox,
        "stale_listings": stale,
        "stale_proposals": proposals,
        "eta_seconds": int(seconds + 0.999),
    }
