import json

from market.services.seed import DEMO_PASSWORD, PAPERS, SEED_DIR, counts, paper_records, seed_all
from models import Demand, Organization, Outcome, Patent, User, db


def test_seed_is_idempotent(app):
    first = seed_all(outcome_limit=40)
    db.session.commit()
    totals = counts()
    second = seed_all(outcome_limit=40)
    db.session.commit()
    assert all(v == 0 for v in second.values()), second
    assert counts() == totals
    assert first["demands"] == len(json.loads((SEED_DIR / "demands.json").read_text("utf-8")))
    assert first["demands"] >= 60
    kept = len(list(paper_records(PAPERS, 40)))  # of the first 40: those that are technology
    assert first["patent_outcomes"] == 40 and first["paper_outcomes"] == kept > 30
    assert totals["patents"] == 40 + 4  # the 示例 stories' deal, 到期即转 and 组合方案 outcomes
    assert first["showcase_deals"] == first["showcase_consents"] == 1


def test_seed_marks_demo_data_and_never_labels_benchmark_patents(app):
    seed_all(outcome_limit=30)
    db.session.commit()
    assert all(o.is_demo and "示例" in o.name for o in db.session.query(Organization))
    assert all(d.is_demo for d in db.session.query(Demand))
    outcomes = db.session.query(Outcome).all()
    assert all(o.is_demo and o.ipc == [] for o in outcomes)
    assert all(p.ipc_codes == [] for p in db.session.query(Patent))
    fields = {d.field for d in db.session.query(Demand)}
    assert {"低空经济", "海洋经济", "集成电路", "生物医药"} <= fields


def test_seed_demo_accounts_can_log_in(app):
    seed_all(outcome_limit=1)
    db.session.commit()
    roles = {u.role for u in db.session.query(User)}
    assert roles == {"admin", "broker", "enterprise", "institution"}
    assert all(u.check_password(DEMO_PASSWORD) for u in db.session.query(User))


def test_seed_cli_prints_totals(runner):
    result = runner.invoke(args=["seed", "--limit", "5", "--no-index"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    papers = len(list(paper_records(PAPERS, 5)))  # of the first five: those that are technology
    assert report["totals"]["outcomes"] == 5 + papers + 7  # seven outcomes in the 示例 stories
    assert report["added"]["industries"] == 0  # loaded by the session fixture already
