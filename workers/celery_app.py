"""Worker entry point: ``celery -A workers.celery_app worker`` / ``beat``."""

from __future__ import annotations

from celery.signals import worker_ready

from market import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_ready.connect
def _reconcile_on_start(**_kwargs) -> None:
    # A worker that died mid-batch left listings unindexed; catch up as soon as one is back.
    celery_app.send_task("workers.tasks.reconcile")
