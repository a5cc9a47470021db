"""Celery worker side: tasks take ids, call one service, commit."""
