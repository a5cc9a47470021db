"""Celery bound to Flask, and the one way the web side hands work to the worker.

The web process never imports ``workers``: it enqueues tasks by name, after its commit, so a
broker that is down loses nothing — the reconcile task finds what was not processed.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import Celery, Task
from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

TASK_MODULES = ["workers.tasks"]


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # In a context of its own (its own database session), of the app that is active
            # when the task is applied eagerly from a request or a command; a worker thread has
            # none and uses the app Celery was built with.
            target = current_app._get_current_object() if has_app_context() else app
            with target.app_context():
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


_local_worker: ThreadPoolExecutor | None = None
_local_lock = threading.Lock()


def _run_locally(task: Task, args: tuple) -> None:
    """The embedded default's stand-in for a worker: one background thread, tasks in order, so a
    request that publishes a demand returns at once and its page shows matching in progress."""
    global _local_worker
    with _local_lock:
        if _local_worker is None:
            _local_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasks")
    future = _local_worker.submit(task.apply, args=args)
    future.add_done_callback(_report_failure)


def drain(timeout: float = 60.0) -> bool:
    """Wait until the background thread has run everything queued so far (tests, shutdown)."""
    with _local_lock:
        worker = _local_worker
    if worker is None:
        return True
    return worker.submit(lambda: None).exception(timeout=timeout) is None


def _report_failure(future) -> None:
    result = future.exception() or getattr(future.result(), "traceback", None)
    if result:
        log.warning("background task failed; reconcile will repair it: %s", result)


def enqueue(name: str, *args) -> bool:
    """Send a task by name; True when handed over (or run, in eager mode: in a background
    thread unless ``TASKS_IN_BACKGROUND`` is false; it defaults to false under ``TESTING``)."""
    celery: Celery = current_app.extensions["celery"]
    full_name = f"workers.tasks.{name}"
    if full_name not in celery.tasks:
        celery.loader.import_default_modules()
    task = celery.tasks[full_name]
    background = current_app.config.get("TASKS_IN_BACKGROUND")
    if background is None:
        background = not current_app.testing
    if celery.conf.task_always_eager and background:
        _run_locally(task, args)
        return True
    try:
        task.apply_async(args=args)
    except Exception as e:  # broker down: the DB already holds the truth
        if celery.conf.task_always_eager:
            raise
        log.warning("could not enqueue %s%s (%s); reconcile will repair it", name, args, e)
        return False
    return True
