"""A damaged index file is detected, reported and repaired, never served as an empty index in
silence (issue 20, item 11): a restarted process over a corrupted FAISS file says semantic
search is down (API, home page, `index status`), the worker's reconcile rewrites the files
from its intact copy (it checks the disk, not its own memory), and the damaged process adopts
the repaired files without a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from market.services import indexing
from market.services.listings import post_outcome
from models import db

TITLES = ["一种长航时巡检无人机", "锂电池热失控预警方法", "水产养殖溶解氧在线监测装置"]


@pytest.fixture
def indexed(app, institution):
    for title in TITLES:
        post_outcome(institution, {"title": title, "abstract": f"{title}的技术方案。"})
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    return Path(app.config["INDEX_DIR"]) / "outcome"


def corrupt(folder: Path) -> Path:
    """Flip bytes in the middle of the FAISS file, keeping its size (no cheap check sees it)."""
    path = next(folder.glob("index-*.faiss"))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return path


def restart() -> None:
    """What a new process sees: nothing loaded yet."""
    indexing.forget_indexes()


def test_a_restart_over_a_damaged_file_reports_semantic_search_down(app, client, runner, indexed):
    corrupt(indexed)
    restart()
    damaged = indexing.get_index("outcome")
    assert len(damaged) == 0 and "sha256" in damaged.problem
    assert indexing.status()["outcome"]["problem"] == damaged.problem
    body = client.get("/api/v1/search?kind=outcome&q=无人机巡检").get_json()
    assert body["unavailable"] == [{"retriever": "semantic", "reason": damaged.problem}]
    assert 'data-testid="index-problem"' in client.get("/").get_data(as_text=True)
    result = runner.invoke(args=["index", "status"])
    assert result.exit_code == 1 and "sha256" in result.output


def test_index_status_checks_the_files_in_full(runner, indexed):
    """A fresh `index status` process verifies checksums, not just the database's counts."""
    restart()
    assert runner.invoke(args=["index", "status"]).exit_code == 0
    corrupt(indexed)
    restart()
    result = runner.invoke(args=["index", "status"])
    assert result.exit_code == 1 and "fails its sha256 check" in result.output


def test_a_truncated_file_is_seen_by_the_cheap_check(indexed):
    path = next(indexed.glob("index-*.faiss"))
    path.write_bytes(path.read_bytes()[:100])
    restart()
    assert "bytes" in indexing.index_problem("outcome")  # no index loaded: sizes checked


def test_the_workers_reconcile_rewrites_damaged_files_from_its_intact_copy(app, indexed):
    worker_copy = indexing.get_index("outcome")  # loaded before the damage, intact
    corrupt(indexed)
    restart()
    web_copy = indexing.get_index("outcome")  # a web process restarted over the damage
    assert len(web_copy) == 0 and web_copy.problem

    key = (app.config["INDEX_DIR"], "outcome")
    indexing._indexes[key] = worker_copy  # now act as the worker, whose memory is fine
    report = indexing.reconcile()
    db.session.commit()
    assert "sha256" in report["outcome"]["files_repaired"]
    assert report["outcome"]["lost"] == 0  # nothing re-indexed: the files were rewritten
    assert worker_copy.disk_problem() is None

    assert web_copy.reload_if_changed() is True  # the web process adopts them, no restart
    assert len(web_copy) == len(TITLES) and web_copy.problem is None
    indexing._indexes[key] = web_copy
    assert indexing.search("outcome", "锂电池热失控预警", k=1)


def test_a_process_whose_copy_is_damaged_rebuilds_it_from_the_database(app, indexed):
    corrupt(indexed)
    restart()
    assert indexing.get_index("outcome").problem
    report = indexing.reconcile()  # stored vectors, no re-encoding
    db.session.commit()
    assert report["outcome"]["lost"] == len(TITLES)
    index = indexing.get_index("outcome")
    assert len(index) == len(TITLES) and index.problem is None
    assert index.disk_problem() is None
    assert indexing.status()["outcome"]["problem"] is None


def test_a_damaged_keyword_index_is_reported_too(app, indexed):
    """BM25 beside the vectors: unusable files leave an empty copy that says so, and a
    reconcile that rebuilds it clears the report."""
    lexical = indexed / "lexical"
    current = json.loads((lexical / "CURRENT").read_text())["version"]
    for path in (lexical / current).iterdir():
        path.write_bytes(b"\\x00garbage")
    restart()
    indexing.get_lexical("outcome")
    assert "LexicalIndex" in indexing.index_problem("outcome")
    indexing.reconcile()
    db.session.commit()
    assert indexing.index_problem("outcome") is None


def test_a_manifest_that_disagrees_on_the_count_is_refused(indexed):
    """Checksums match but the manifest promises more vectors than the file holds (a file
    from another save): the count is checked too."""
    manifest_path = indexed / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["count"] += 1
    manifest_path.write_text(json.dumps(manifest))
    restart()
    index = indexing.get_index("outcome")
    assert len(index) == 0 and "its manifest says" in index.problem
