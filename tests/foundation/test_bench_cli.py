"""``flask --app market bench …`` reaches Flask's CLI from benchmarks/, through an entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from flask.cli import FlaskGroup

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = {
    "adapt-cv",
    "bundles",
    "embed",
    "fault",
    "index",
    "learn",
    "load",
    "match",
    "pages",
    "quality",
    "relevance",
    "retrieval",
    "tune",
}


def test_the_bench_group_is_a_flask_command_entry_point():
    (found,) = [ep for ep in entry_points(group="flask.commands") if ep.name == "bench"]
    assert found.value == "benchmarks.bench:bench"


@pytest.fixture
def flask_cli(runner):
    """Flask's own command group (plugins from entry points included), on the test app."""

    def invoke(*args: str):
        return runner.invoke(FlaskGroup(load_dotenv=False), list(args))

    return invoke


def test_every_bench_subcommand_is_listed(flask_cli):
    result = flask_cli("bench", "--help")
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line}
    assert listed == SUBCOMMANDS


def test_bench_index_runs_through_the_cli(flask_cli):
    result = flask_cli("bench", "index", "--vectors", "300", "--dim", "16")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["n_vectors"] == 300 and row["flat"]["recall@10"] == 1.0


def test_matching_learn_points_to_bench_learn_for_the_dev_comparison(flask_cli, tmp_path):
    result = flask_cli("matching", "learn", "--bench-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "bench learn" in result.output


def test_the_installed_flask_command_lists_bench():
    """The real ``flask --app market bench --help``, as a shell runs it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MARKET_SECRET_KEY": "cli-test"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "market", "bench", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in SUBCOMMANDS)
