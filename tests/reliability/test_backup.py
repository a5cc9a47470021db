"""Backup → wipe → restore gives back the same rows and a searchable index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from market import backup
from market.services import indexing
from market.services.listings import post_outcome
from models import db


@pytest.fixture
def catalogue(app, institution, create_user):
    create_user("admin@example.cn", "admin")
    ids = [
        post_outcome(
            institution,
            {"title": f"第{n}号成果：一种高精度{n}型传感装置", "abstract": f"测量精度0.{n}mm。"},
        ).id
        for n in range(1, 13)
    ]
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    return ids


def _wipe(app) -> None:
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    indexing.forget_indexes()
    shutil.rmtree(app.config["INDEX_DIR"])


def _top_hit(query: str) -> int:
    indexing.forget_indexes()
    return indexing.search("outcome", query, k=1)[0][0]


@pytest.mark.parametrize("fmt", ["auto", "json"])
def test_backup_wipe_restore(app, runner, catalogue, tmp_path, fmt):
    counts = backup.row_counts()
    assert counts["outcome"] == 12 and counts["ipc_code"] > 0
    out = tmp_path / "backup"
    made = runner.invoke(args=["backup", "--out", str(out), "--format", fmt])
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "backup.json").read_text("utf-8"))
    assert manifest["row_counts"] == counts
    assert manifest["index"]["kinds"]["outcome"]["count"] == 12
    assert any(name.startswith("index/outcome/") for name in manifest["files"])

    _wipe(app)
    restored = runner.invoke(args=["restore", str(out), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert backup.row_counts() == counts
    assert _top_hit("第7号成果：一种高精度7型传感装置") == catalogue[6]
    assert indexing.status()["outcome"] == {"total": 12, "indexed": 12, "problem": None}


def test_restore_refuses_a_tampered_backup(app, runner, catalogue, tmp_path):
    out = tmp_path / "backup"
    assert runner.invoke(args=["backup", "--out", str(out)]).exit_code == 0
    manifest = json.loads((out / "backup.json").read_text("utf-8"))
    victim = out / next(name for name in manifest["files"] if name.startswith("index/"))
    victim.write_bytes(victim.read_bytes() + b"x")
    refused = runner.invoke(args=["restore", str(out), "--yes"])
    assert refused.exit_code != 0 and "校验和不符" in refused.output
    assert backup.row_counts()["outcome"] == 12  # nothing was touched


def test_backup_refuses_a_non_empty_folder(app, runner, tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    refused = runner.invoke(args=["backup", "--out", str(tmp_path)])
    assert refused.exit_code != 0 and "不为空" in refused.output
    assert Path(tmp_path / "keep.txt").exists()
