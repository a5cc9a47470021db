"""Celery tasks. Each takes ids, calls one service, commits; all are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from market.services import indexing, matching
from market.tasks import enqueue, relay
from models import db, local_today

log = logging.getLogger(__name__)

RETRY = {
    # StaleDataError: a broker's decision changed a proposal while the matcher rewrote it.
    "autoretry_for": (OperationalError, OSError, StaleDataError),
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


BATCH_REFRESH = matching.BATCH_REFRESH


@shared_task(name="workers.tasks.embed_listing", **RETRY)
def embed_listing(kind: str, listing_id: int) -> dict:
    result = _committed(indexing.index_listings, kind, [listing_id])
    enqueue("match_listing", kind, listing_id)
    return result


@shared_task(name="workers.tasks.embed_batch", **RETRY)
def embed_batch(kind: str, listing_ids: list[int]) -> dict:
    result = _committed(indexing.index_listings, kind, listing_ids)
    if kind == "outcome" and len(listing_ids) > BATCH_REFRESH:
        enqueue("refresh_proposals")
    else:
        for listing_id in listing_ids:
            enqueue("match_listing", kind, listing_id)
    return result


@shared_task(name="workers.tasks.match_listing", **RETRY)
def match_listing(kind: str, listing_id: int) -> dict:
    propose = matching.propose_for_demand if kind == "demand" else matching.propose_for_outcome
    return _committed(propose, listing_id)


@shared_task(name="workers.tasks.refresh_proposals", **RETRY)
def refresh_proposals() -> dict:
    return _committed(matching.refresh_proposals)


@shared_task(name="workers.tasks.rebuild_index", **RETRY)
def rebuild_index(kind: str) -> dict:
    return _committed(indexing.rebuild, kind)


@shared_task(name="workers.tasks.refresh_neighbors", **RETRY)
def refresh_neighbors() -> dict:
    """Daily: recompute every listing's nearest-listing list (drops listings closed since)."""
    return {kind: _committed(indexing.refresh_neighbors, kind) for kind in indexing.KINDS}


@shared_task(name="workers.tasks.reconcile", **RETRY)
def reconcile() -> dict:
    """Repair everything a lost task or a lost index file left undone: relay the outbox,
    re-index stale listings, recompute missing or stale proposals. Runs on the recovery queue."""
    relayed = _committed(relay)
    report = _committed(indexing.reconcile)
    report["proposals"] = _committed(matching.repair_proposals)
    report["outbox"] = relayed
    return report


@shared_task(name="workers.tasks.relay_outbox", **RETRY)
def relay_outbox() -> dict:
    """Hand the outbox's tasks to the broker (the broker is back: this task came through it)."""
    return _committed(relay)


@shared_task(name="workers.tasks.import_outcomes", **RETRY)
def import_outcomes(batch_id: int) -> dict:
    from market.services import bulk_import
    from market.tasks import enqueue

    def index_chunk(outcome_ids: list[int]) -> None:
        enqueue("embed_batch", "outcome", outcome_ids)

    return _committed(bulk_import.run_import, batch_id, bulk_import.CHUNK, index_chunk)


@shared_task(name="workers.tasks.use_first_sweep", **RETRY)
def use_first_sweep(today: str | None = None) -> dict:
    """到期即转: mark due fiscal-funded outcomes for their owners' consent (daily, idempotent)."""
    from datetime import date

    from market.services import use_first

    day = date.fromisoformat(today) if today else local_today()
    return _committed(use_first.sweep_use_first, day)


@shared_task(name="workers.tasks.close_notice_windows", **RETRY)
def close_notice_windows() -> int:
    """Mark 公示 notices whose window has ended."""
    from market.services import notices

    return _committed(notices.close_expired)


@shared_task(name="workers.tasks.forget_sign_in_failures", **RETRY)
def forget_sign_in_failures() -> int:
    """Daily: drop per-address sign-in failure counts that have gone quiet."""
    from market.services import accounts

    return _committed(accounts.forget_sign_in_failures)


@shared_task(name="workers.tasks.forget_idempotency_keys", **RETRY)
def forget_idempotency_keys() -> int:
    """Daily: drop API Idempotency-Keys past their 24 hours."""
    from market.services import accounts

    return _committed(accounts.forget_idempotency_keys)
