"""Celery bound to Flask, and the one way the web side hands work to the worker.

The web process never imports ``workers``: it enqueues tasks by name, after its commit, so a
broker that is down loses nothing — the reconcile task finds what was not processed.
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from flask import Flask, current_app

log = logging.getLogger(__name__)

TASK_MODULES = ["workers.tasks"]


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask, include=TASK_MODULES)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.update(
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        broker_transport_options={"socket_connect_timeout": 2, "max_retries": 2},
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def enqueue(name: str, *args) -> bool:
    """Send a task by name; True when handed over (or run, in eager mode)."""
    celery: Celery = current_app.extensions["celery"]
    full_name = f"workers.tasks.{name}"
    if full_name not in celery.tasks:
        celery.loader.import_default_modules()
    try:
        celery.tasks[full_name].apply_async(args=args)
    except Exception as e:  # broker down: the DB already holds the truth
        if celery.conf.task_always_eager:
            raise
        log.warning("could not enqueue %s%s (%s); reconcile will repair it", name, args, e)
        return False
    return True
