"""Celery bound to Flask, and the one way the web side hands work to the worker.

The web process never imports ``workers``: it names tasks. A write stores the tasks it needs in
the ``outbox_task`` table in its own transaction (``commit_with``), so a write and its tasks
commit together; the outbox relay hands them to the broker after the commit, on a background
thread, so a request never waits for a broker that is away. Rows the broker refused stay in the
outbox and are relayed when it is back (the relay retries every few seconds; the worker's start
and beat's reconcile relay too). In the embedded default there is no broker: tasks run after the
commit, on the local background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from celery import Celery, Task
from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select

from models import OutboxTask, db

log = logging.getLogger(__name__)

TASK_MODULES = ["workers.tasks"]
RECOVERY_QUEUE = "recovery"  # consumed before the default queue: reconcile never waits long
RECOVERY_TASKS = ("workers.tasks.reconcile", "workers.tasks.relay_outbox")
# A relayed task is published with one quick retry (a pooled connection that broke while Redis
# restarted), never Celery's default of retrying for seconds: the outbox keeps what is refused.
RELAY_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
RELAY_BATCH = 500
RELAY_RETRY_SECONDS = 5.0  # while the broker refuses, how often each process tries again


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
        task_routes={name: {"queue": RECOVERY_QUEUE} for name in RECOVERY_TASKS},
        broker_transport_options={
            "socket_connect_timeout": 1,
            "max_retries": 2,
            # The worker reads its queues in the order given (-Q recovery,celery), not in turn.
            "queue_order_strategy": "priority",
            # A task a dead worker held goes back to the queue after this long (Redis's default
            # is an hour). Longer than any routine task (the longest, an import chunk's 200
            # outcomes, encodes in about 11 s on 2 cores), so a running task is not handed out
            # twice; one that is anyway is harmless (every task is idempotent).
            "visibility_timeout": app.config.get("TASK_VISIBILITY_TIMEOUT", 300),
        },
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


def _eager() -> bool:
    return bool(current_app.extensions["celery"].conf.task_always_eager)


def commit_with(*tasks: tuple) -> None:
    """Commit the session's write together with the tasks it needs, e.g.
    ``commit_with(("embed_listing", "demand", demand.id))``, then hand the tasks over without
    waiting for the broker. Only the commit can raise: once it returns, the write is stored."""
    if _eager():
        db.session.commit()
        for name, *args in tasks:
            try:
                enqueue(name, *args)
            except Exception:  # the write is committed; reconcile repairs what the task missed
                log.warning("task %s%s failed; reconcile will repair it", name, args, exc_info=True)
        return
    db.session.add_all(OutboxTask(name=name, args=list(args)) for name, *args in tasks)
    db.session.commit()
    if tasks:
        relay_soon()


def publish(name: str, *args) -> bool:
    """One quick attempt to give a task to the broker; False when it refuses."""
    celery: Celery = current_app.extensions["celery"]
    try:
        celery.send_task(f"workers.tasks.{name}", args=args, retry=True, retry_policy=RELAY_RETRY)
    except Exception as e:
        log.info("broker refused %s%s: %s", name, args, e)
        return False
    return True


def relay(limit: int = RELAY_BATCH) -> dict:
    """Hand the outbox's tasks to the broker, oldest first, deleting each one handed over;
    stops at the first refusal. Concurrent relays skip each other's rows on PostgreSQL; a task
    published twice anyway (a crash between publish and commit) is harmless: tasks are
    idempotent."""
    stmt = select(OutboxTask).order_by(OutboxTask.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.session.execute(
        stmt.with_only_columns(OutboxTask.id, OutboxTask.name, OutboxTask.args)
    ).all()
    sent: list[int] = []
    refused = None
    slowest = 0.0
    for row in rows:
        started = time.perf_counter()
        handed = publish(row.name, *row.args)
        slowest = max(slowest, time.perf_counter() - started)
        if not handed:
            refused = row.id
            break
        sent.append(row.id)
    # Statements, not ORM deletes: another relay may have handed the same rows over already.
    table = OutboxTask.__table__
    if sent:
        db.session.execute(table.delete().where(table.c.id.in_(sent)))
    if refused is not None:
        attempts = table.update().where(table.c.id == refused)
        db.session.execute(attempts.values(attempts=table.c.attempts + 1))
    pending = outbox_size()  # counted before the commit: no transaction is left open after it
    db.session.commit()
    return {"sent": len(sent), "pending": pending, "slowest_publish_s": round(slowest, 3)}


def outbox_size() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxTask)) or 0


class _Relay:
    """This process's outbox relay thread: woken after each commit that stored tasks, and
    every ``RELAY_RETRY_SECONDS`` while the broker refuses."""

    def __init__(self, app: Flask):
        self.app = app
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pending = False
        retry = self.app.config.get("OUTBOX_RETRY_SECONDS", RELAY_RETRY_SECONDS)
        while True:
            self.wake.wait(retry if pending else None)
            self.wake.clear()
            with self.app.app_context():
                try:
                    pending = relay()["pending"] > 0
                except Exception:
                    log.warning("outbox relay failed; retrying", exc_info=True)
                    pending = True
                finally:
                    db.session.remove()


_relays: dict[int, _Relay] = {}


def relay_soon() -> None:
    """Wake this process's relay thread (started on first use)."""
    app = current_app._get_current_object()
    with _local_lock:
        relay_thread = _relays.get(id(app))
        if relay_thread is None or not relay_thread.thread.is_alive():
            relay_thread = _relays[id(app)] = _Relay(app)
    relay_thread.wake.set()
