"""Worker entry point: ``celery -A workers.celery_app worker`` / ``beat``."""

from __future__ import annotations

from celery.signals import task_postrun, worker_ready

from market import create_app
from market.health import record_heartbeat

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_ready.connect
def _reconcile_on_start(**_kwargs) -> None:
    # A worker that died mid-batch left listings unindexed; catch up as soon as one is back.
    record_heartbeat(flask_app.config)
    celery_app.send_task("workers.tasks.reconcile")


@task_postrun.connect
def _heartbeat(**_kwargs) -> None:
    # /healthz reads it; beat's 5-minute reconcile keeps it fresh on a quiet site.
    record_heartbeat(flask_app.config)
