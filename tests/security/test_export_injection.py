"""Formula injection: no CSV or XLSX file we hand out has a cell a spreadsheet would run.

Hostile text goes in through the normal ways (listing titles, organisation names, spreadsheet
uploads) and every export is downloaded through its real route, then parsed with ``csv`` and
openpyxl the way Excel would read it.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from market.services import bulk_import, terms
from market.spreadsheets import FORMULA_PREFIXES, append_row, csv_cell, csv_text, xlsx_cell
from models import db

from .conftest import World, sign_in

HOSTILE = (
    '=HYPERLINK("http://evil.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
)


def csv_cells(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def xlsx_cells(body: bytes) -> list:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(cells: list[str]) -> None:
    live = [cell for cell in cells if cell.startswith(FORMULA_PREFIXES)]
    assert not live, live


@pytest.mark.parametrize("value", HOSTILE)
def test_the_sanitiser_quotes_text_that_would_run(value):
    assert csv_cell(value) == "'" + value
    assert xlsx_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["普通文字", "'=already quoted", "1+1", "", "中=文"])
def test_the_sanitiser_leaves_plain_text_alone(value):
    assert csv_cell(value) == value and xlsx_cell(value) == value


def test_numbers_stay_numbers_in_xlsx_and_csv_text_is_all_quoted():
    assert [xlsx_cell(v) for v in (-5, 2.5, None, True)] == [-5, 2.5, None, True]
    assert csv_cell(None) == "" and csv_cell(-5) == "'-5"  # CSV has no types: text rules
    assert_no_formula(csv_cells(csv_text([HOSTILE, [-1, "ok"]]).encode()))
    book = openpyxl.Workbook()
    append_row(book.active, [*HOSTILE, -1])
    out = io.BytesIO()
    book.save(out)
    cells = xlsx_cells(out.getvalue())
    assert all(c.data_type != "f" for c in cells)
    assert_no_formula([c.value for c in cells if isinstance(c.value, str)])
    assert cells[-1].value == -1


# ---- term sheet: 技术合同登记 record as CSV --------------------------------------------------


@pytest.fixture
def hostile_sheet(world: World):
    """A term sheet whose outcome, field and both parties' names all start like a formula."""
    licensor, licensee = world.orgs["university_a"], world.orgs["enterprise_a"]
    licensor.name, licensee.name = "+1+1测试大学", "-2+3测试企业"
    demand = world.demand(licensee, title="@SUM(A1) 需求")
    outcome = world.outcome(licensor, title=HOSTILE[0], field="@SUM(A1)")
    from models import Match

    match = Match(demand_id=demand.id, outcome_id=outcome.id, score=0.9, explanation={})
    db.session.add(match)
    db.session.flush()
    row = terms.draft_for_match(match, None, "use_first", world.users["broker"])
    db.session.commit()
    return row


@pytest.mark.parametrize("role", ["broker", "enterprise", "institution"])
def test_term_sheet_csv_export(client, world, hostile_sheet, role):
    sign_in(client, world.users[role])
    response = client.get(f"/terms/{hostile_sheet.id}/export/csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    cells = csv_cells(response.data)
    assert_no_formula(cells)
    for value in (HOSTILE[0], "+1+1测试大学", "-2+3测试企业", "@SUM(A1)"):
        assert "'" + value in cells, value


def test_term_sheet_json_export_is_data_not_a_spreadsheet(client, world, hostile_sheet):
    """JSON is read by programs, not spreadsheets: values stay exactly as entered."""
    sign_in(client, world.users["broker"])
    record = client.get(f"/terms/{hostile_sheet.id}/export/json").get_json()
    assert record["subject"] == HOSTILE[0] and record["buyer"] == "-2+3测试企业"


# ---- bulk import: report CSV, templates --------------------------------------------------------


def blank_row(title: str, **cells) -> list[str]:
    row = [""] * len(bulk_import.HEADERS)
    row[0] = title
    for header, value in cells.items():
        row[bulk_import.HEADERS.index(header)] = value
    return row


def upload_csv(client, rows: list[list[str]]):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(bulk_import.HEADERS)
    writer.writerows(rows)
    return client.post(
        "/workspace/institution/import",
        data={"file": (io.BytesIO(out.getvalue().encode("utf-8-sig")), "成果.csv")},
        content_type="multipart/form-data",
    )


def test_import_report_csv(client, world):
    db.session.commit()
    sign_in(client, world.users["institution"])
    rows = [blank_row(title) for title in HOSTILE[:4]]
    rows.append(blank_row("-1 TRL 有误", TRL="=12"))
    response = upload_csv(client, rows)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    report_url = response.headers["Location"] + "/report.csv"
    preview = client.get(report_url)
    assert client.post(response.headers["Location"] + "/confirm").status_code == 302
    for report in (preview, client.get(report_url)):
        assert report.status_code == 200 and report.mimetype == "text/csv"
        cells = csv_cells(report.data)
        assert_no_formula(cells)
        for title in HOSTILE[:4]:
            assert "'" + title in cells


def test_import_templates(client, world, monkeypatch):
    """The templates are fixed text today; a help line that starts with "=" must still be safe."""
    db.session.commit()
    sign_in(client, world.users["institution"])
    first = bulk_import.HEADERS[0]
    monkeypatch.setitem(bulk_import.HELP, first, "=HYPERLINK(1)")

    csv_body = client.get("/workspace/institution/import/template.csv")
    assert csv_body.status_code == 200
    assert_no_formula(csv_cells(csv_body.data))

    xlsx = client.get("/workspace/institution/import/template.xlsx")
    assert xlsx.status_code == 200
    cells = xlsx_cells(xlsx.data)
    assert all(c.data_type != "f" for c in cells)
    assert_no_formula([c.value for c in cells if isinstance(c.value, str)])
    assert "'=HYPERLINK(1)" in [c.value for c in cells]
