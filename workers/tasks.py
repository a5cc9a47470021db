"""Celery tasks. Each takes ids, calls one service, commits; all are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError

from market.services import indexing
from models import db

log = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (OperationalError, OSError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


def _committed(fn, *args):
    try:
        result = fn(*args)
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


@shared_task(name="workers.tasks.embed_listing", **RETRY)
def embed_listing(kind: str, listing_id: int) -> dict:
    return _committed(indexing.index_listings, kind, [listing_id])


@shared_task(name="workers.tasks.embed_batch", **RETRY)
def embed_batch(kind: str, listing_ids: list[int]) -> dict:
    return _committed(indexing.index_listings, kind, listing_ids)


@shared_task(name="workers.tasks.rebuild_index", **RETRY)
def rebuild_index(kind: str) -> dict:
    return _committed(indexing.rebuild, kind)


@shared_task(name="workers.tasks.reconcile", **RETRY)
def reconcile() -> dict:
    return _committed(indexing.reconcile)
