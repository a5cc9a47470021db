"""Dev script: lexical retrieval variants on the BEIR dev benchmarks, printed as JSON.

    python scripts/eval_retrieval.py                       # default grid on tt-ipc and tt-csl
    python scripts/eval_retrieval.py --tokenizers bigram --k1 1.2 --b 0.75
    python scripts/eval_retrieval.py --ipc-suggest          # IPC suggestion accuracy on tt-ipc

Dev splits only: the test splits are never read here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from market.search.evaluation import BeirDataset, evaluate, load_beir  # noqa: E402
from market.search.fusion import rrf  # noqa: E402
from market.search.lexical import LexicalIndex  # noqa: E402

logger = logging.getLogger("eval_retrieval")

BENCH = Path(os.environ.get("SCENEBRIDGE_BENCH", "/work/shared/bench"))
IPC_TSV = Path(os.environ.get("SCENEBRIDGE_IPC_TSV", "/work/shared/data/ipc_zh_2026_01.tsv"))


def run_lexical(index: LexicalIndex, data: BeirDataset, depth: int = 100) -> dict[str, list[str]]:
    run: dict[str, list[str]] = {}
    for qid, text in data.queries.items():
        excluded = data.excludes.get(qid, set())
        hits = index.search(text, k=depth + len(excluded), exclude=excluded)
        run[qid] = [str(doc_id) for doc_id, _ in hits]
    return run


def eval_variant(data: BeirDataset, tokenizer: str, k1: float, b: float) -> dict:
    started = time.perf_counter()
    ids = list(data.corpus)
    index = LexicalIndex(tokenizer, k1=k1, b=b).build(ids, [data.doc_text(i) for i in ids])
    built = time.perf_counter()
    run = run_lexical(index, data)
    searched = time.perf_counter()
    metrics = evaluate(run, data.qrels, data.excludes, qids=_judged(data))
    metrics.update(
        build_s=round(built - started, 2),
        ms_per_query=round(1000 * (searched - built) / max(len(data.queries), 1), 2),
    )
    return {"run": run, "metrics": metrics}


def _judged(data: BeirDataset) -> list[str]:
    return [q for q in data.queries if any(g > 0 for g in data.qrels.get(q, {}).values())]


def _rounded(metrics: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def lexical_grid(args: argparse.Namespace) -> dict:
    report: dict = {}
    for name in args.bench:
        data = load_beir(BENCH / name)
        runs = {}
        for tok in args.tokenizers:
            for k1 in args.k1:
                for b in args.b:
                    label = f"bm25-{tok}-k1={k1}-b={b}"
                    result = eval_variant(data, tok, k1, b)
                    runs[label] = result["run"]
                    report.setdefault(name, {})[label] = _rounded(result["metrics"])
                    logger.info("%s %s %s", name, label, report[name][label])
        if args.fuse and len(runs) > 1:
            fused = {
                qid: [d for d, _ in rrf([r[qid] for r in runs.values()], k=60)][:100]
                for qid in data.queries
            }
            report[name]["rrf-all-lexical"] = _rounded(
                evaluate(fused, data.qrels, data.excludes, qids=_judged(data))
            )
    return report


def ipc_suggest_report(args: argparse.Namespace) -> dict:
    from market.search.ipc_suggest import IpcSuggester, evaluate_suggester

    data = load_beir(BENCH / "tt-ipc")
    report = {}
    for variant in args.ipc_variants:
        suggester = IpcSuggester.from_tsv(IPC_TSV, **_ipc_kwargs(variant))
        report[variant] = _rounded(evaluate_suggester(suggester, data))
    return {"ipc_suggest": report}


def _ipc_kwargs(variant: str) -> dict:
    parts = dict(p.split("=") for p in variant.split(",") if "=" in p)
    return {
        "tokenizer": parts.get("tok", "unibigram"),
        "include_main_groups": parts.get("groups", "1") == "1",
        "include_notes": parts.get("notes", "1") == "1",
        "include_subgroups": parts.get("subgroups", "1") == "1",
        "k1": float(parts.get("k1", 1.2)),
        "b": float(parts.get("b", 0.75)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bench", nargs="+", default=["tt-ipc", "tt-csl"])
    parser.add_argument("--tokenizers", nargs="+", default=["bigram", "jieba", "combined"])
    parser.add_argument("--k1", nargs="+", type=float, default=[1.2])
    parser.add_argument("--b", nargs="+", type=float, default=[0.75])
    parser.add_argument("--fuse", action="store_true", help="also RRF all lexical variants")
    parser.add_argument("--ipc-suggest", action="store_true")
    parser.add_argument("--ipc-variants", nargs="+", default=["tok=unibigram"])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    report = ipc_suggest_report(args) if args.ipc_suggest else lexical_grid(args)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
