"""Benchmarks and fault drills for SceneBridge: ``flask --app market bench …``.

On top of every other package: it drives the app, its services and a real worker, and nothing
in market/, models/ or workers/ imports it (an import-linter contract in pyproject.toml).
"""
