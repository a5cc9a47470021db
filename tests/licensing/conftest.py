"""Fixtures for the 先用后转 licensing tests; builders live in licensing_support.py."""

from __future__ import annotations

import pytest
from licensing_support import profiles


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The licensing layer is pure; any socket use is a bug."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access in a licensing test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="session")
def all_profiles() -> dict:
    return profiles()
