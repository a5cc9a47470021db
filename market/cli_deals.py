"""CLI: ``flask --app market policies load`` and ``flask --app market use-first sweep``."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime

import click
from flask import Flask

from models import db, local_today

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.cli.group("policies")
    def policies_group() -> None:
        """政策档案（先用后转条款的依据）。"""

    @policies_group.command("load")
    @click.option("--dir", "directory", default=None, help="档案目录（默认 seed_data/policies）")
    def load(directory: str | None) -> None:
        """把政策档案 TOML 载入数据库（可重复运行）。"""
        from .services.terms import load_policy_profiles

        counts = load_policy_profiles(directory)
        db.session.commit()
        click.echo(json.dumps(counts, ensure_ascii=False))

    @app.cli.group("use-first")
    def use_first_group() -> None:
        """到期即转：财政资助成果转入先用后转成果池。"""

    @use_first_group.command("sweep")
    @click.option("--today", default=None, help="按哪一天判断（YYYY-MM-DD，默认今天）")
    @click.option(
        "--profile", default=None, help="政策档案键（默认按每项成果权利人所在地区选档案）"
    )
    def sweep(today: str | None, profile: str | None) -> None:
        """找出到期未实施的成果，标记为待权利人确认（可重复运行）。"""
        from .services.use_first import sweep_use_first

        day = _parse_day(today)
        result = sweep_use_first(day, profile)
        db.session.commit()
        click.echo(json.dumps({"today": day.isoformat(), **result}, ensure_ascii=False))


def _parse_day(raw: str | None) -> date:
    if not raw:
        return local_today()
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError as e:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD", param_hint="--today") from e
