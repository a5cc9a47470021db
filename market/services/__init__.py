"""Verb-first operations. They flush but never commit: the caller (route, task, CLI) commits once."""
