"""``flask --app market backup`` / ``restore``: the database and the index folder, checksummed.

A backup folder holds the database dump (SQLite: a copy made with SQLite's online backup API;
PostgreSQL: ``pg_dump`` SQL when the tool is installed, otherwise a portable JSON dump of every
table), a copy of the index folder with its manifests, and ``backup.json`` listing every file's
SHA-256 and every table's row count. Restore refuses a folder whose checksums do not match,
reloads the database, swaps the index folder in and checks the row counts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import sqlite3
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from models import db, utcnow

log = logging.getLogger(__name__)

MANIFEST = "backup.json"
FORMATS = ("auto", "native", "json")
SKIP_IN_INDEX = {".lock"}


class BackupError(click.ClickException):
    """The backup cannot be made or trusted; the message says why."""


def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.option("--out", "out", type=click.Path(file_okay=False), default=None)
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="auto",
        show_default=True,
        help="native: SQLite backup API / pg_dump; json: every table as JSON",
    )
    def backup_command(out: str | None, fmt: str) -> None:
        """备份数据库与索引目录（含校验和）。"""
        folder = Path(out) if out else default_folder()
        click.echo(json.dumps(make_backup(folder, fmt), ensure_ascii=False, indent=1))

    @app.cli.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    @click.option("--yes", is_flag=True, help="不再确认，直接覆盖当前数据库与索引")
    def restore_command(folder: str, yes: bool) -> None:
        """从备份目录恢复数据库与索引（先校验文件）。"""
        if not yes:
            click.confirm("恢复将覆盖当前数据库与索引，是否继续？", abort=True)
        click.echo(json.dumps(restore_backup(Path(folder)), ensure_ascii=False, indent=1))


def default_folder() -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return Path(current_app.instance_path) / "backups" / stamp


# -- backup ------------------------------------------------------------------------------------


def make_backup(folder: Path, fmt: str = "auto") -> dict:
    """Write the dump, the index copy and the manifest into ``folder`` (which must be empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"备份目录不为空：{folder}")
    folder.mkdir(parents=True, exist_ok=True)
    db.session.commit()  # nothing of ours half-written; the dump sees committed rows only
    dialect = db.engine.dialect.name
    counts = row_counts()
    database = _dump_database(folder, dialect, fmt)
    index = _copy_index(Path(current_app.config["INDEX_DIR"]), folder / "index")
    manifest = {
        "created_at": utcnow().isoformat(),
        "dialect": dialect,
        "database": database,
        "index": index,
        "row_counts": counts,
        "files": {
            path.relative_to(folder).as_posix(): sha256(path)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != MANIFEST
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    log.info("backup written to %s (%s)", folder, database["format"])
    return {"folder": str(folder), **{k: manifest[k] for k in ("database", "row_counts")}}


def row_counts() -> dict[str, int]:
    return {
        table.name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
        for table in db.metadata.sorted_tables
    }


def _dump_database(folder: Path, dialect: str, fmt: str) -> dict:
    if fmt == "json":
        return _dump_json(folder / "database.json")
    if dialect == "sqlite":
        return _dump_sqlite(folder / "database.sqlite3")
    if dialect == "postgresql" and shutil.which("pg_dump"):
        return _dump_postgres(folder / "database.sql")
    if fmt == "native":
        raise BackupError(f"没有 {dialect} 的原生备份工具（pg_dump 未安装）")
    return _dump_json(folder / "database.json")


def _sqlite_path() -> Path:
    path = make_url(str(db.engine.url)).database
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份")
    return Path(path)


def _dump_sqlite(target: Path) -> dict:
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # consistent even while other processes write (WAL)
    finally:
        copy.close()
        source.close()
    return {"format": "sqlite", "file": target.name}


def libpq_url() -> str:
    """The database URL as pg_dump / psql understand it (no SQLAlchemy driver suffix)."""
    url = make_url(str(db.engine.url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _dump_postgres(target: Path) -> dict:
    command = ["pg_dump", "--clean", "--if-exists", "--no-owner", "--no-privileges"]
    result = subprocess.run(
        [*command, "--file", str(target), "--dbname", libpq_url()],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump 失败：{result.stderr.strip()[:500]}")
    return {"format": "pg_dump", "file": target.name}


def _dump_json(target: Path) -> dict:
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).mappings().all()
        tables[table.name] = [{k: _to_json(v) for k, v in row.items()} for row in rows]
    target.write_text(json.dumps({"tables": tables}, ensure_ascii=False), "utf-8")
    return {"format": "json", "file": target.name}


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$bytes":
            return base64.b64decode(raw)
        if tag == "$datetime":
            return datetime.fromisoformat(raw)
        if tag == "$date":
            return date.fromisoformat(raw)
        if tag == "$decimal":
            return Decimal(raw)
    return value


def _copy_index(source: Path, target: Path) -> dict:
    if not source.exists():
        target.mkdir(parents=True)
        return {"kinds": {}}
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SKIP_IN_INDEX))
    kinds = {}
    for manifest in sorted(target.glob("*/manifest.json")):
        data = json.loads(manifest.read_text("utf-8"))
        kinds[manifest.parent.name] = {k: data.get(k) for k in ("model", "dim", "count", "version")}
    return {"kinds": kinds}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- restore -----------------------------------------------------------------------------------


def verify(folder: Path) -> dict:
    """The manifest, once every listed file is present with its recorded checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise BackupError(f"备份清单 {MANIFEST} 缺失或损坏：{e}") from e
    bad = [
        name
        for name, digest in manifest["files"].items()
        if not (folder / name).is_file() or sha256(folder / name) != digest
    ]
    if bad:
        raise BackupError(f"备份文件缺失或校验和不符：{'、'.join(bad[:10])}")
    return manifest


def restore_backup(folder: Path) -> dict:
    """Verify, reload the database, swap the index folder in, and compare row counts."""
    from market.services import indexing

    manifest = verify(folder)
    database = manifest["database"]
    if database["format"] in ("sqlite", "pg_dump") and manifest["dialect"] != (
        db.engine.dialect.name
    ):
        raise BackupError(
            f"该备份来自 {manifest['dialect']}，当前数据库是 {db.engine.dialect.name}；"
            "请用 --format json 备份后再跨数据库恢复"
        )
    db.session.remove()
    {
        "sqlite": _restore_sqlite,
        "pg_dump": _restore_postgres,
        "json": _restore_json,
    }[database["format"]](folder / database["file"])
    db.session.remove()
    db.engine.dispose()
    _swap_index(folder / "index", Path(current_app.config["INDEX_DIR"]))
    indexing.forget_indexes()
    counts = row_counts()
    expected = manifest["row_counts"]
    mismatched = {t: (expected.get(t), n) for t, n in counts.items() if expected.get(t, 0) != n}
    if mismatched:
        raise BackupError(f"恢复后行数与备份不符：{mismatched}")
    return {"restored_from": str(folder), "row_counts": counts, "index": manifest["index"]}


def _restore_sqlite(source: Path) -> None:
    db.engine.dispose()
    backup = sqlite3.connect(source)
    live = sqlite3.connect(_sqlite_path())
    try:
        backup.backup(live)
    finally:
        live.close()
        backup.close()


def _restore_postgres(source: Path) -> None:
    db.engine.dispose()
    result = subprocess.run(
        ["psql", "--quiet", "-v", "ON_ERROR_STOP=1", "--file", str(source), libpq_url()],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"psql 恢复失败：{result.stderr.strip()[:500]}")


def _restore_json(source: Path) -> None:
    tables = json.loads(source.read_text("utf-8"))["tables"]
    db.metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for table in db.metadata.sorted_tables:
            rows = [
                {k: _from_json(v) for k, v in row.items()} for row in tables.get(table.name, [])
            ]
            if rows:
                conn.execute(insert(table), rows)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)


def _reset_sequences(conn) -> None:
    """After explicit ids were inserted, the next generated id must come after them."""
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.primary_key.columns
            if c.autoincrement is True
            or (
                c.autoincrement == "auto"
                and c.type.python_type is int
                and len(table.primary_key) == 1
            )
        ]
        for column in columns:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:t, :c), "
                    f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
                ),
                {"t": table.name, "c": column.name},
            )


def _swap_index(source: Path, target: Path) -> None:
    """Copy beside the live folder, then rename: readers never see half an index."""
    staging = target.with_name(target.name + ".restoring")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(source, staging)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
