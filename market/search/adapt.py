"""Adapting the encoder to technology-transfer text: contrastive LoRA fine-tuning on the CPU.

multilingual-e5-small knows Chinese but not how an enterprise's need maps to a patent title or a
paper abstract. This module teaches it from four sources, each recorded in the model's recipe:

- **dev judgments** of ``shared/bench`` (queries ↔ documents judged relevant; tt-demand's judged
  0s as hard negatives) — they stand in for past broker decisions;
- **broker decisions** stored in the database (accepted pairs; rejections for 领域不匹配 as hard
  negatives);
- **taxonomy pairs**: an IPC main group's title ↔ one of its subgroups' titles, a GB/T 4754
  industry's name ↔ its scope note. Subclass definitions are never used: they are tt-ipc's queries.

Queries of a held-out fold (``fold_of``) are left out of training, so ``bench quality --fold``
measures the adapted model on queries it never saw (k-fold cross-validation).

Training is MultipleNegativesRankingLoss written out (in-batch negatives plus any hard negative,
cosine × 20, cross-entropy) over a LoRA adapter on the attention and feed-forward projections;
the 250k-row word embeddings stay frozen. The adapter (a few MB) is merged into a full
sentence-transformers directory, so serving costs exactly what the base model costs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from market.search.offline_e5 import sha256_file

log = logging.getLogger(__name__)

ADAPTED_PREFIX = "offline-e5-tt"
SHIPPED_ADAPTER = Path(__file__).with_name("adapters") / ADAPTED_PREFIX
RECIPE_FILE = "recipe.json"
ADAPTER_FILE = "adapter.safetensors"
LORA_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense")


@dataclass(frozen=True)
class Pair:
    """One training example: a need, a text that answers it, and optionally one that does not."""

    query: str
    positive: str
    negative: str | None
    source: str
    group: str  # pairs of one group never share a batch (their positives would be false negatives)


@dataclass
class Recipe:
    """Everything that decides the adapted weights; its hash is the model's version."""

    base_checksum: str
    steps: int = 120
    batch_size: int = 32
    learning_rate: float = 2e-4
    lora_rank: int = 16
    lora_alpha: int = 32
    max_tokens: int = 128
    scale: float = 20.0
    seed: int = 20261204
    per_query: int = 4
    taxonomy_pairs: int = 800
    holdout: str | None = None  # "i/k": the fold of every dev bench's queries left out
    data: dict = field(default_factory=dict)  # source → {"pairs": n, "queries": n, "sha256": …}

    def version(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------ folds


def fold_of(bench: str, qid: str, k: int) -> int:
    """The fold (0 … k-1) a benchmark query belongs to: stable across runs and machines."""
    digest = hashlib.sha256(f"{bench}:{qid}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % k


def parse_fold(text: str | None) -> tuple[int, int] | None:
    """``"2/5"`` → (1, 5): the second of five folds (given 1-based, returned 0-based)."""
    if not text:
        return None
    try:
        i, k = (int(part) for part in text.split("/"))
    except ValueError as e:
        raise ValueError(f"a fold is written i/k, e.g. 1/3, not {text!r}") from e
    if not (k >= 2 and 1 <= i <= k):
        raise ValueError(f"a fold i/k needs k ≥ 2 and 1 ≤ i ≤ k, not {text!r}")
    return i - 1, k


def in_fold(bench: str, qid: str, fold: tuple[int, int] | None) -> bool:
    return fold is None or fold_of(bench, qid, fold[1]) == fold[0]


# ------------------------------------------------------------------------------ data


def _jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def bench_document(doc: dict) -> tuple[str, str | None]:
    """A benchmark document as the product lists it: (title, abstract)."""
    title = (doc.get("title") or doc.get("text") or "")[:200]
    abstract = doc.get("text") if doc.get("title") else None
    return title, abstract


def bench_pairs(
    folder: Path, holdout: tuple[int, int] | None, per_query: int, rng: random.Random
) -> tuple[list[Pair], set[str]]:
    """Pairs from one dev split, leaving out the held-out fold's queries; also the ids trained on.

    Positives are the query's own source document (``exclude``: a keyword list's paper) and its
    documents at the top grade, at most ``per_query``; a document judged 0 (tt-demand) is the hard
    negative beside one.
    """
    from models.listings import outcome_text

    name = folder.name
    corpus = {
        str(d["_id"]): outcome_text(*bench_document(d)) for d in _jsonl(folder / "corpus.jsonl")
    }
    queries: dict[str, str] = {}
    own: dict[str, list[str]] = {}
    for q in _jsonl(folder / "queries.dev.jsonl"):
        queries[str(q["_id"])] = q["text"]
        own[str(q["_id"])] = [str(d) for d in q.get("exclude") or () if str(d) in corpus]
    grades: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.dev.tsv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) >= 3 and row[1] in corpus:
                grades.setdefault(row[0], {})[row[1]] = int(row[2])
    pairs: list[Pair] = []
    used: set[str] = set()
    for qid in sorted(queries):
        if holdout and fold_of(name, qid, holdout[1]) == holdout[0]:
            continue
        judged = grades.get(qid, {})
        top = max(judged.values(), default=0)
        # a keyword list's own paper is its surest answer; "same discipline" alone is too loose
        floor = 2 if own[qid] else 1
        positives = sorted(d for d, g in judged.items() if g == top and g >= floor)
        rng.shuffle(positives)
        positives = own[qid] + positives
        negatives = sorted(d for d, g in judged.items() if g == 0)
        rng.shuffle(negatives)
        for i, doc in enumerate(positives[:per_query]):
            negative = corpus[negatives[i % len(negatives)]] if negatives else None
            pairs.append(Pair(queries[qid], corpus[doc], negative, name, f"{name}:{qid}"))
        if positives:
            used.add(qid)
    return pairs, used


def taxonomy_pairs(ipc_path: Path, gbt_path: Path, count: int, rng: random.Random) -> list[Pair]:
    """Weak pairs from the classifications: main group ↔ subgroup titles, industry ↔ its note."""
    main_titles: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    with open(ipc_path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["level"] == "main_group":
                main_titles[row["code"]] = _clean_ipc_title(row["title_zh"])
            elif row["level"] == "subgroup":
                group = row["code"].split("/")[0] + "/00"
                children.setdefault(group, []).append(_clean_ipc_title(row["title_zh"]))
    ipc = []
    for code in sorted(main_titles):
        kids = [k for k in children.get(code, []) if len(k) >= 4]
        if kids and len(main_titles[code]) >= 4:
            ipc.append(Pair(main_titles[code], rng.choice(kids), None, "ipc", f"ipc:{code[:4]}"))
    industries = []
    with open(gbt_path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            note = (row.get("remark") or "").strip()
            if len(note) >= 12 and row["name"]:
                industries.append(
                    Pair(row["name"], note, None, "gbt4754", f"gbt:{row['code'][:3]}")
                )
    rng.shuffle(ipc)
    rng.shuffle(industries)
    gbt_share = min(len(industries), count // 4)
    return ipc[: count - gbt_share] + industries[:gbt_share]


def _clean_ipc_title(text: str) -> str:
    # "（用于…入A01C5/00）" cross-references carry codes, not meaning
    out, depth = [], 0
    for ch in text:
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out).replace(" ", "").strip("；;，,。 ")


def decision_pairs() -> list[Pair]:
    """Brokers' decisions in the database: accepted pairs, and field mismatches as negatives."""
    from sqlalchemy import select

    from models import Match, db

    accepted: dict[int, list[str]] = {}
    rejected: dict[int, list[str]] = {}
    queries: dict[int, str] = {}
    rows = db.session.scalars(
        select(Match).where(
            (Match.stage == "accepted")
            | ((Match.stage == "rejected") & (Match.rejection_reason == "field_mismatch"))
        )
    )
    for match in rows:
        queries[match.demand_id] = match.demand.embedding_text()
        target = accepted if match.stage == "accepted" else rejected
        target.setdefault(match.demand_id, []).append(match.outcome.embedding_text())
    pairs = []
    for demand_id, positives in sorted(accepted.items()):
        negatives = rejected.get(demand_id, [])
        for i, positive in enumerate(positives):
            negative = negatives[i % len(negatives)] if negatives else None
            pairs.append(
                Pair(queries[demand_id], positive, negative, "decisions", f"d:{demand_id}")
            )
    return pairs


def _digest(pairs: Iterable[Pair]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.query, p.positive, p.negative], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def collect_pairs(
    bench_dirs: list[Path],
    taxonomy: tuple[Path, Path] | None,
    recipe: Recipe,
    with_decisions: bool = True,
) -> list[Pair]:
    """Every training pair the recipe asks for; ``recipe.data`` records what was seen."""
    rng = random.Random(recipe.seed)
    holdout = parse_fold(recipe.holdout)
    pairs: list[Pair] = []
    for folder in bench_dirs:
        found, used = bench_pairs(Path(folder), holdout, recipe.per_query, rng)
        recipe.data[Path(folder).name] = {
            "pairs": len(found),
            "queries": len(used),
            "sha256": _digest(found),
        }
        pairs += found
    if taxonomy and recipe.taxonomy_pairs:
        found = taxonomy_pairs(*taxonomy, recipe.taxonomy_pairs, rng)
        recipe.data["taxonomy"] = {"pairs": len(found), "sha256": _digest(found)}
        pairs += found
    if with_decisions:
        found = decision_pairs()
        recipe.data["decisions"] = {"pairs": len(found), "sha256": _digest(found)}
        pairs += found
    return pairs


def batches(pairs: list[Pair], size: int, steps: int, seed: int) -> Iterator[list[Pair]]:
    """``steps`` batches cycling through shuffled pairs, no two pairs of one group in a batch."""
    rng = random.Random(seed)
    order: list[Pair] = []
    produced = 0
    while produced < steps:
        if len(order) < size:
            fresh = list(pairs)
            rng.shuffle(fresh)
            order += fresh
        batch, groups, rest = [], set(), []
        for pair in order:
            if len(batch) < size and pair.group not in groups:
                batch.append(pair)
                groups.add(pair.group)
            else:
                rest.append(pair)
        order = rest
        if len(batch) < 2:
            return
        produced += 1
        yield batch


# ------------------------------------------------------------------------------ training


def _with_lora(model, lora):
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():
        # peft asks transformers 5 for a property it has renamed; nothing for us to change
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        return get_peft_model(model, lora)


def _tokenize(tokenizer, texts: list[str], max_tokens: int):
    return tokenizer(
        texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
    )


def _embed(model, batch) -> object:
    import torch

    out = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
    pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def train(
    base_dir: Path,
    pairs: list[Pair],
    recipe: Recipe,
    progress: Callable[[int, int, float], None] | None = None,
):
    """Train a LoRA adapter over the base model; returns the peft model (adapter not merged)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModel, AutoTokenizer

    if len(pairs) < 2:
        raise ValueError("adapting the encoder needs at least two training pairs")
    torch.manual_seed(recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModel.from_pretrained(str(base_dir))
    lora = LoraConfig(
        r=recipe.lora_rank,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=0.05,
        target_modules=list(LORA_TARGETS),
    )
    model = _with_lora(model, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=0.01)
    warmup = max(1, recipe.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (recipe.steps - s) / recipe.steps),
    )
    started = time.perf_counter()
    for step, batch in enumerate(batches(pairs, recipe.batch_size, recipe.steps, recipe.seed)):
        queries = _embed(
            model,
            _tokenize(tokenizer, [f"query: {p.query}" for p in batch], recipe.max_tokens),
        )
        passages = [f"passage: {p.positive}" for p in batch]
        passages += [f"passage: {p.negative}" for p in batch if p.negative]
        docs = _embed(model, _tokenize(tokenizer, passages, recipe.max_tokens))
        logits = recipe.scale * queries @ docs.T
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        if progress:
            progress(step + 1, recipe.steps, float(loss.detach()))
    log.info("adapted in %.0f s", time.perf_counter() - started)
    return model


def write_model(base_dir: Path, model, recipe: Recipe, target_dir: Path) -> Path:
    """The merged weights as a sentence-transformers directory, with the adapter and the recipe.

    Written beside the target and renamed into place, so a reader never sees half a model.
    """
    from safetensors.torch import save_file

    tmp = target_dir.with_name(target_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base_dir, tmp)
    adapter = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in model.state_dict().items()
        if "lora_" in k
    }
    save_file(adapter, str(tmp / ADAPTER_FILE))
    merged = model.merge_and_unload()
    merged.save_pretrained(str(tmp), safe_serialization=True)
    checksum = sha256_file(tmp / "model.safetensors")
    (tmp / "checksum.sha256").write_text(f"{checksum}  model.safetensors\n", encoding="utf-8")
    payload = {**asdict(recipe), "version": recipe.version(), "checksum": checksum}
    (tmp / RECIPE_FILE).write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
    )
    shutil.rmtree(target_dir, ignore_errors=True)
    tmp.rename(target_dir)
    return target_dir


def read_recipe(model_dir: Path) -> dict | None:
    path = Path(model_dir) / RECIPE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def recipe_from(saved: dict | None) -> Recipe:
    """The recipe a model directory or a shipped adapter recorded."""
    if not saved:
        raise ValueError("no recipe.json beside the adapter")
    names = set(Recipe.__dataclass_fields__)
    return Recipe(**{k: v for k, v in saved.items() if k in names})


def adapter_identity(base_checksum: str, folder: Path) -> str:
    """sha256 of the base weights' checksum and the adapter file: what the vectors depend on."""
    digest = hashlib.sha256(base_checksum.encode())
    digest.update(sha256_file(Path(folder) / ADAPTER_FILE).encode())
    return digest.hexdigest()


def ship(model_dir: Path, target: Path = SHIPPED_ADAPTER) -> Path:
    """Copy an adapted model's adapter and recipe into the package (what ``offline-e5-tt`` uses)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in (ADAPTER_FILE, RECIPE_FILE):
        shutil.copyfile(Path(model_dir) / name, target / name)
    return target


def apply_adapter(base_dir: Path, adapter_path: Path, recipe: Recipe, target_dir: Path) -> Path:
    """Rebuild adapted weights from the base model and a saved adapter (no training)."""
    import torch
    from peft import LoraConfig
    from safetensors.torch import load_file
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(base_dir))
    lora = LoraConfig(
        r=recipe.lora_rank, lora_alpha=recipe.lora_alpha, target_modules=list(LORA_TARGETS)
    )
    model = _with_lora(model, lora)
    weights = {k: v.to(torch.float32) for k, v in load_file(str(adapter_path)).items()}
    missing = set(weights) - set(model.state_dict())
    if missing:
        raise ValueError(f"the adapter does not fit this base model ({len(missing)} tensors)")
    model.load_state_dict(weights, strict=False)
    return write_model(base_dir, model, recipe, target_dir)


def adapt_encoder(
    model_dir: Path,
    bench_dirs: list[Path],
    taxonomy: tuple[Path, Path] | None,
    recipe_overrides: dict,
    out_dir: Path | None = None,
    with_decisions: bool = True,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Train an adapted encoder from the bundled base model; returns what a report shows.

    The result is a new versioned directory ``offline-e5-tt-<version>`` under ``model_dir``
    (or ``out_dir``): point ``EMBEDDING_MODEL`` at it and the index re-embeds under the new
    model key while the old vectors keep serving (see README, "Adapting the encoder").
    """
    from market.search import offline_e5

    base_dir = offline_e5.build_offline_model(Path(model_dir) / offline_e5.OFFLINE_E5_DIRNAME)
    recipe = Recipe(base_checksum=offline_e5.read_checksum(base_dir) or "", **recipe_overrides)
    started = time.perf_counter()
    pairs = collect_pairs(bench_dirs, taxonomy, recipe, with_decisions=with_decisions)
    model = train(base_dir, pairs, recipe, progress=progress)
    target = Path(out_dir) if out_dir else Path(model_dir) / f"{ADAPTED_PREFIX}-{recipe.version()}"
    write_model(base_dir, model, recipe, target)
    return {
        "model_dir": str(target),
        "version": recipe.version(),
        "holdout": recipe.holdout,
        "pairs": len(pairs),
        "data": recipe.data,
        "steps": recipe.steps,
        "seconds": round(time.perf_counter() - started, 1),
        "adapter_bytes": (target / ADAPTER_FILE).stat().st_size,
        "checksum": read_recipe(target)["checksum"],
    }
