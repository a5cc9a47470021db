"""Load taxonomies and the demo catalogue. Every step is idempotent: rows are keyed and skipped
when present, so running the seed twice changes nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select

from models import Demand, Industry, IpcCode, Organization, Outcome, Patent, User, db

from . import catalogue
from .listings import post_demand, wan_to_fen

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parents[2] / "seed_data"
Progress = Callable[[str, int, int], None]

PATENT_ORG = "org-u-patents"
PAPER_ORG = "org-i-papers"
DEMO_PASSWORD = "scenebridge-demo"
DEMO_USERS = [
    ("admin@demo.scenebridge.cn", "示例运营管理员", "admin", None),
    ("broker@demo.scenebridge.cn", "示例技术经纪人", "broker", None),
    ("enterprise@demo.scenebridge.cn", "示例企业用户", "enterprise", "enterprise"),
    ("tto@demo.scenebridge.cn", "示例高校技术转移办", "institution", PATENT_ORG),
    ("tto-zhuhai@demo.scenebridge.cn", "示例滨海理工大学技术转移中心", "institution", "org-u-001"),
    ("institute@demo.scenebridge.cn", "示例横琴研究院成果转化部", "institution", "org-i-001"),
]


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


def seed_all(
    progress: Progress = _noop, seed_dir: Path = SEED_DIR, outcome_limit: int | None = None
) -> dict[str, int]:
    """Load everything; returns how many rows each step added."""
    added = {
        "industries": load_industries(seed_dir / "gbt4754_2017_with_notes.tsv", progress),
        "ipc_codes": load_ipc(seed_dir / "ipc_zh_2026_01.tsv", progress),
        "organizations": load_organizations(seed_dir / "organizations.json"),
    }
    added["users"] = load_demo_users()
    from .terms import load_policy_profiles

    added["policy_profiles"] = load_policy_profiles()["added"]
    added["demands"] = load_demands(seed_dir / "demands.json", progress)
    catalogue = seed_dir / "catalogue"
    added["patent_outcomes"] = load_patent_outcomes(
        catalogue / "patent_titles.jsonl", progress, outcome_limit
    )
    added["paper_outcomes"] = load_paper_outcomes(
        catalogue / "paper_abstracts.jsonl", progress, outcome_limit
    )
    from .showcase import seed_showcase

    added.update(seed_showcase())
    return added


def _existing(column) -> set:
    return set(db.session.scalars(select(column)))


def _bulk_insert(table, rows: list[dict], stage: str, progress: Progress, chunk: int = 5000) -> int:
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(table), rows[start : start + chunk])
        progress(stage, min(start + chunk, len(rows)), len(rows))
    return len(rows)


def load_industries(path: Path, progress: Progress = _noop) -> int:
    known = _existing(Industry.code)
    rows = []
    with path.open(encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            if rec["code"] in known:
                continue
            known.add(rec["code"])
            level = int(rec["level"])
            parent = {1: None, 2: rec["section"], 3: rec["division"], 4: rec["group"]}[level]
            rows.append(
                {
                    "code": rec["code"],
                    "level": level,
                    "section": rec["section"],
                    "parent": parent or None,
                    "name": rec["name"],
                    "remark": rec["remark"] or None,
                }
            )
    return _bulk_insert(Industry.__table__, rows, "行业分类", progress)


def load_ipc(path: Path, progress: Progress = _noop) -> int:
    known = _existing(IpcCode.code)
    rows = []
    with path.open(encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for rec in reader:
            if rec["code"] in known:
                continue  # the source has one note fragment parsed as a duplicate code
            known.add(rec["code"])
            notes = (rec.get("notes_zh") or "").replace("\\n", "\n") or None
            rows.append(
                {
                    "code": rec["code"],
                    "level": rec["level"],
                    "parent": rec["parent"] or None,
                    "title": rec["title_zh"] or "",
                    "notes": notes,
                }
            )
    return _bulk_insert(IpcCode.__table__, rows, "IPC分类", progress)


def load_organizations(path: Path) -> int:
    known = _existing(Organization.key)
    added = 0
    for rec in json.loads(path.read_text(encoding="utf-8")):
        if rec["key"] in known:
            continue
        db.session.add(
            Organization(
                key=rec["key"],
                name=rec["name"],
                kind=rec["kind"],
                province=rec.get("province"),
                city=rec.get("city"),
                is_sme=bool(rec.get("is_sme")),
                is_demo=True,
                approved=True,
            )
        )
        added += 1
    db.session.flush()
    return added


def load_demo_users() -> int:
    known = _existing(User.email)
    enterprise = db.session.scalar(
        select(Organization)
        .where(Organization.kind == "enterprise", Organization.is_demo)
        .order_by(Organization.key)
    )
    added = 0
    for email, name, role, org_key in DEMO_USERS:
        if email in known:
            continue
        org = (
            enterprise
            if org_key == "enterprise"
            else (
                db.session.scalar(select(Organization).where(Organization.key == org_key))
                if org_key
                else None
            )
        )
        user = User(email=email, name=name, role=role, organization=org)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        added += 1
    db.session.flush()
    return added


def load_demands(path: Path, progress: Progress = _noop) -> int:
    known = _existing(Demand.key)
    orgs = {o.key: o for o in db.session.scalars(select(Organization))}
    records = [r for r in json.loads(path.read_text(encoding="utf-8")) if r["key"] not in known]
    for number, rec in enumerate(records, start=1):
        demand = post_demand(orgs[rec["organization"]], _demand_data(rec))
        demand.key = rec["key"]
        demand.is_demo = True
        progress("场景需求", number, len(records))
    db.session.flush()
    return len(records)


def _demand_data(rec: dict) -> dict:
    def day(value):
        return date.fromisoformat(value) if value else None

    return {
        "title": rec["title"],
        "description": rec["description"],
        "field": rec.get("field"),
        "scenario_type": rec["scenario_type"],
        "industry_code": rec.get("industry_code"),
        "indicators": rec.get("indicators") or [],
        "offered_resources": rec.get("offered_resources"),
        "budget_min_fen": wan_to_fen(rec.get("budget_min_wan"), "budget_min", "预算下限"),
        "budget_max_fen": wan_to_fen(rec.get("budget_max_wan"), "budget_max", "预算上限"),
        "cooperation_modes": rec.get("cooperation_modes") or [],
        "required_maturity": rec.get("required_maturity"),
        "deadline": day(rec.get("deadline")),
        "province": rec.get("province"),
        "city": rec.get("city"),
        "confidentiality": rec.get("confidentiality", "public"),
        "reward_fen": wan_to_fen(rec.get("challenge_reward_wan"), "reward", "揭榜奖励"),
        "challenge_deadline": day(rec.get("challenge_deadline")),
    }


def _jsonl(path: Path, limit: int | None) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f):
            if limit is not None and number >= limit:
                return
            yield json.loads(line)


def _demo_attributes(ref: str) -> dict:
    """Structured fields the public corpora do not carry, drawn deterministically from the id.

    The demo catalogue needs maturity, price and modes to exercise the product; they are
    synthetic and the listings are marked 示例 (see seed_data/SOURCES.md).
    """
    h = int(hashlib.sha256(ref.encode()).hexdigest()[:12], 16)
    maturity = ("lab", "pilot", "industrial")[h % 3]
    modes = [
        ("license", "use_first"),
        ("transfer", "license"),
        ("license", "joint_dev", "use_first"),
        ("open_license", "use_first"),
        ("equity", "joint_dev"),
    ][(h >> 4) % 5]
    return {
        "maturity": maturity,
        "trl": {"lab": 3, "pilot": 5, "industrial": 7}[maturity] + (h >> 8) % 2,
        "transfer_modes": list(modes),
        "asking_price_fen": ((h >> 12) % 50 + 1) * 10 * 10_000 * 100,
        "fiscal_funded": (h >> 20) % 10 < 6,
        "use_first_eligible": "use_first" in modes,
        "team_share_pct": 70 if (h >> 24) % 2 else None,
    }


PATENT_KIND_BY_SUFFIX = {
    "U": ("utility", "granted"),
    "B": ("invention", "granted"),
    "A": ("invention", "pending"),
    "S": ("design", "granted"),
}


def _new_outcome_rows(
    records: Iterable[dict],
    owner_of: Callable[[dict], Organization],
    known: set[str],
    title_of: Callable[[dict], str],
    abstract_of: Callable[[dict], str | None],
) -> list[dict]:
    rows = []
    for rec in records:
        key = f"demo-o-{rec['_id']}"
        if key in known:
            continue
        org = owner_of(rec)
        title, abstract = title_of(rec), abstract_of(rec)
        outcome = Outcome(title=title, abstract=abstract)  # runs the validators
        outcome.refresh_hash()
        rows.append(
            {
                "key": key,
                "organization_id": org.id,
                "title": outcome.title,
                "abstract": outcome.abstract,
                "source_ref": rec["_id"],
                "is_demo": True,
                "status": "published",
                "province": org.province,
                "city": org.city,
                "content_hash": outcome.content_hash,
                "indicators": [],
                "suggested_ipc": [],
                **_demo_attributes(rec["_id"]),
            }
        )
    return rows


def load_patent_outcomes(path: Path, progress: Progress = _noop, limit: int | None = None) -> int:
    org = db.session.scalar(select(Organization).where(Organization.key == PATENT_ORG))
    known = _existing(Outcome.key)
    rows = _new_outcome_rows(
        _jsonl(path, limit),
        lambda _r: org,
        known,
        lambda r: r["title"],
        lambda r: r.get("text") or None,
    )
    added = _bulk_insert(Outcome.__table__, rows, "专利成果", progress)
    _attach_patents(rows)
    return added


def _attach_patents(rows: list[dict]) -> None:
    if not rows:
        return
    ids = dict(
        db.session.execute(
            select(Outcome.key, Outcome.id).where(Outcome.key.in_([r["key"] for r in rows]))
        ).all()
    )
    known = _existing(Patent.number)
    patents = []
    for row in rows:
        number = row["source_ref"]
        if number in known:
            continue
        kind, status = PATENT_KIND_BY_SUFFIX.get(number[-1], ("invention", "granted"))
        patents.append(
            {
                "number": number,
                "outcome_id": ids[row["key"]],
                "title": row["title"],
                "kind": kind,
                "legal_status": status,
                "ipc_codes": [],
            }
        )
    db.session.execute(insert(Patent.__table__), patents)


PAPERS = SEED_DIR / "catalogue" / "paper_abstracts.jsonl"
REJECTED_REPORT = SEED_DIR / "catalogue" / "REJECTED.md"


def paper_catalogue(path: Path = PAPERS) -> list[dict]:
    return list(_jsonl(path, None))


def paper_records(path: Path, limit: int | None = None) -> Iterator[dict]:
    """The paper records that are technology outcomes (see ``catalogue.verdict``)."""
    for rec in _jsonl(path, limit):
        if catalogue.verdict(rec["text"], rec.get("title") or "").keep:
            yield rec


def load_paper_outcomes(path: Path, progress: Progress = _noop, limit: int | None = None) -> int:
    """Paper outcomes, each held by the demo organisation of its field, under a real title."""
    orgs = {
        org.key: org
        for org in db.session.scalars(
            select(Organization).where(
                Organization.key.in_([PAPER_ORG, *(key for key, _ in catalogue.OWNER_FIELDS)])
            )
        )
    }

    def owner(rec: dict) -> Organization:
        return orgs.get(catalogue.owner_for(rec["text"], PAPER_ORG)) or orgs[PAPER_ORG]

    known = _existing(Outcome.key)
    rows = _new_outcome_rows(
        paper_records(path, limit),
        owner,
        known,
        lambda r: catalogue.title_for(r)[0],
        lambda r: r["text"],
    )
    return _bulk_insert(Outcome.__table__, rows, "论文成果", progress)


def counts() -> dict[str, int]:
    return {
        name: db.session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("industries", Industry),
            ("ipc_codes", IpcCode),
            ("organizations", Organization),
            ("users", User),
            ("demands", Demand),
            ("outcomes", Outcome),
            ("patents", Patent),
        )
    }
