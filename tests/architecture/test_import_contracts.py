"""The layering README states, as import-linter contracts (pyproject.toml, ``[tool.importlinter]``).

The first test checks this checkout; the others build a throwaway tree with the same contracts
and one forbidden import each, so a contract that stopped catching anything would fail here too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LINT, "--config", "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_every_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_ignored_import_says_why():
    """An ``ignore_imports`` entry is an exception to the plan: each has a comment with its reason."""
    text = PYPROJECT.read_text(encoding="utf-8")
    for block in re.findall(r"ignore_imports = \[(.*?)\]", text, flags=re.S):
        for line in block.strip().splitlines():
            if line.strip() and not line.strip().startswith("#"):
                assert "#" in line, f"ignore_imports entry without a reason: {line.strip()}"


def _fake_tree(root: Path) -> None:
    """Empty packages named as the contracts name them, with the real contracts."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    for package in config["root_packages"]:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    for contract in config["contracts"]:
        for container in contract.get("containers", []):
            for layer in contract["layers"]:
                for name in re.split(r"[|:]", layer):
                    folder = root / container / name.strip()
                    folder.mkdir()
                    (folder / "__init__.py").write_text("")
    section = PYPROJECT.read_text(encoding="utf-8").split("[tool.importlinter]", 1)[1]
    (root / "pyproject.toml").write_text("[tool.importlinter]" + section, encoding="utf-8")


def test_a_tree_without_forbidden_imports_passes(tmp_path):
    _fake_tree(tmp_path)
    (tmp_path / "market" / "public" / "pages.py").write_text("import market.services\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "files",
    [
        {"market/__init__.py": "import benchmarks\n"},
        {"workers/tasks.py": "import benchmarks.bench\n"},
        {"workers/tasks.py": "import market.workspace\n"},
        {"models/base.py": "import market.services\n"},
        {"market/public/pages.py": "import market.workspace\n"},
        {"market/accounts/routes.py": "from market.auth import sessions\n"},
        {"market/services/deals.py": "import market.public\n"},
        {"market/services/listings.py": "import market.tasks\n"},
        {"market/licensing/exports.py": "import market.services\n"},
        {"market/search/index.py": "import market.policy\n"},
        {"market/queries/listings.py": "import market.services\n"},
        {
            "market/services/deals.py": "from . import notices\n",
            "market/services/notices.py": "from . import deals\n",
        },
    ],
    ids=lambda files: " + ".join(f"{path}: {code.strip()}" for path, code in files.items()),
)
def test_a_forbidden_import_breaks_a_contract(tmp_path, files):
    _fake_tree(tmp_path)
    for path, code in files.items():
        (tmp_path / path).write_text(code)
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
