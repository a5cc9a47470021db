"""Bulk import of outcomes from a TTO spreadsheet: checks, preview, job, report, hostile files."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from market.services import bulk_import
from market.services.listings import add_patent
from models import ImportBatch, Job, Outcome, Patent, db

from .conftest import page

H = bulk_import.HEADERS
FORMULA_TITLE = '=HYPERLINK("http://evil.example","点我")'
ROWS = [
    # row 2: valid, two patents with one type each
    [
        "智能巡检无人机",
        "续航50分钟",
        "中试",
        "6",
        "许可；先用后转",
        "80",
        "是",
        "是",
        "70",
        "CN202310000001.1；CN202310000002.2",
        "发明专利；实用新型",
        "2023-01-05；2023-02-06",
        "2024-03-01；2023-09-01",
        "2043-01-05；2033-02-06",
        "有效",
        "B64C；G06T",
    ],
    # row 3: bad TRL
    [
        "水质在线监测传感器",
        "溶解氧精度0.1mg/L",
        "小试",
        "12",
        "转让",
        "",
        "否",
        "否",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # row 4: valid, title that a spreadsheet would run as a formula
    [
        FORMULA_TITLE,
        "",
        "产业化",
        "8",
        "许可",
        "120",
        "否",
        "是",
        "80",
        "CN202310000003.3",
        "发明",
        "2023/3/3",
        "",
        "",
        "审查中",
        "G06T",
    ],
    # row 5: two errors in one row
    [
        "储能电池热管理",
        "",
        "中试",
        "5",
        "合作开发",
        "很贵",
        "也许",
        "否",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # row 6: valid, minimal
    ["高精度农业遥感算法", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
]
EXPECTED_ERRORS = [
    (3, "TRL", "“12”无效，须为1到9的整数"),
    (5, "报价（万元）", "“很贵”不是数字"),
    (5, "是否支持先用后转", "“也许”无效，请填“是”或“否”"),
]


def csv_bytes(rows=ROWS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(H)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows=ROWS) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(H)
    for row in rows:
        sheet.append(row)
    # Excel stores dates and percentages as typed cells, not text.
    sheet["L2"] = "2023-01-05；2023-02-06"
    sheet["L4"] = datetime(2023, 3, 3)
    sheet["I4"] = 0.8
    sheet["D4"] = 8
    sheet["A4"].data_type = "s"  # a text cell that merely starts with "=", not a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, content: bytes, name: str):
    return client.post(
        "/workspace/institution/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def latest_batch() -> ImportBatch:
    return db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()


@pytest.fixture
def tto(client, auth, institution_user):
    auth.login(institution_user.email)
    return client


@pytest.mark.parametrize(
    "name, content",
    [
        ("成果清单.csv", csv_bytes()),
        ("成果清单.xlsx", xlsx_bytes()),
        ("gbk.csv", csv_bytes(encoding="gbk")),
    ],
)
def test_preview_lists_row_and_column_errors_then_imports_valid_rows(
    tto, institution, name, content
):
    response = upload(tto, content, name)
    assert response.status_code == 302
    html = page(tto.get(response.headers["Location"]))
    assert "共5行，其中3行可以导入，2行有错误。" in html
    listed = re.findall(
        r'<li data-row="(\d+)" data-column="([^"]*)">第\d+行「[^」]*」：([^<]*)</li>', html
    )
    assert [(int(r), c, m) for r, c, m in listed] == EXPECTED_ERRORS
    assert "导入这3行有效数据" in html and "储能电池热管理" in html
    assert db.session.scalars(select(Outcome)).all() == []  # nothing imported before confirming

    batch = latest_batch()
    response = tto.post(f"/workspace/institution/import/{batch.id}/confirm", data={"publish": "y"})
    assert response.status_code == 302
    progress = tto.get(f"/workspace/institution/import/{batch.id}/progress").get_json()
    assert progress["status"] == "done" and progress["percent"] == 100
    assert (progress["done"], progress["total"], progress["finished"]) == (3, 3, True)
    assert progress["message"] == "已导入3条成果"

    outcomes = {o.title: o for o in db.session.scalars(select(Outcome))}
    assert set(outcomes) == {"智能巡检无人机", FORMULA_TITLE, "高精度农业遥感算法"}
    drone = outcomes["智能巡检无人机"]
    assert drone.organization_id == institution.id and drone.status == "published"
    assert (drone.maturity, drone.trl, drone.asking_price_fen, drone.team_share_pct) == (
        "pilot",
        6,
        80 * 10**6,
        70,
    )
    assert drone.use_first_eligible and drone.transfer_modes == ["license", "use_first"]
    assert sorted(drone.ipc_codes) == ["B64C", "G06T"]
    kinds = {p.number: (p.kind, p.applied_on.isoformat(), p.legal_status) for p in drone.patents}
    assert kinds == {
        "CN202310000001.1": ("invention", "2023-01-05", "granted"),
        "CN202310000002.2": ("utility", "2023-02-06", "granted"),
    }
    formula = outcomes[FORMULA_TITLE]
    assert (
        formula.team_share_pct == 80 and formula.patents[0].applied_on.isoformat() == "2023-03-03"
    )
    assert formula.patents[0].legal_status == "pending"
    assert all(o.indexed_hash == o.content_hash for o in outcomes.values())  # embedded per chunk

    page_html = page(tto.get(f"/workspace/institution/import/{batch.id}"))
    assert 'value="100"' in page_html and "/static/js/import_progress.js" in page_html

    report = tto.get(f"/workspace/institution/import/{batch.id}/report.csv")
    assert report.headers["Content-Disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["行号", "成果名称", "状态", "错误"]
    assert lines[1] == ["2", "智能巡检无人机", "已导入", ""]
    assert lines[2] == [
        "3",
        "水质在线监测传感器",
        "有错误，未导入",
        "「TRL」“12”无效，须为1到9的整数",
    ]
    assert lines[3][1] == "'" + FORMULA_TITLE and lines[3][2] == "已导入"
    assert (
        lines[4][3]
        == "「报价（万元）」“很贵”不是数字；「是否支持先用后转」“也许”无效，请填“是”或“否”"
    )
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_confirm_twice_is_refused(tto):
    upload(tto, csv_bytes(), "a.csv")
    batch = latest_batch()
    tto.post(f"/workspace/institution/import/{batch.id}/confirm", data={"publish": ""})
    response = tto.post(f"/workspace/institution/import/{batch.id}/confirm", data={"publish": "y"})
    assert response.status_code == 409 and "请勿重复提交" in page(response)
    statuses = set(db.session.scalars(select(Outcome.status)))
    assert statuses == {"draft"} and len(db.session.scalars(select(Outcome)).all()) == 3


def test_duplicate_patents_within_file_and_platform(tto, institution):
    add_patent(None, {"number": "CN202310000009.9"})
    db.session.commit()
    rows = [
        ["甲成果", "", "", "", "", "", "", "", "", "CN202310000009.9", "", "", "", "", "", ""],
        ["乙成果", "", "", "", "", "", "", "", "", "CN202310000008.8", "", "", "", "", "", ""],
        [
            "丙成果",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "cn202310000008.8",
            "发明；实用新型",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    upload(tto, csv_bytes(rows), "dup.csv")
    html = page(tto.get(f"/workspace/institution/import/{latest_batch().id}"))
    assert "第2行「专利号」：专利号 CN202310000009.9 已在平台登记" in html
    assert "第4行「专利号」：专利号 CN202310000008.8 与第3行重复" in html
    assert "第4行「专利类型」：有2个值，与专利号个数（1）不一致" in html


def test_chunks_commit_separately_and_a_late_conflict_fails_only_its_row(
    app, tto, institution_user
):
    upload(tto, csv_bytes(), "late.csv")
    batch = latest_batch()
    bulk_import.confirm(batch, institution_user, publish=False)
    # Someone registers row 4's patent between preview and import.
    add_patent(None, {"number": "CN202310000003.3"})
    db.session.commit()
    seen: list[int] = []
    result = bulk_import.run_import(batch.id, chunk_size=2, after_chunk=lambda ids: seen.append(1))
    assert result == {"batch": batch.id, "imported": 2, "failed": 1}
    assert seen == []  # drafts are not indexed
    job = db.session.get(Job, batch.job_id)
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    failed = [r for r in batch.results if r["status"] == "failed"]
    assert [r["row"] for r in failed] == [4] and "已存在" in failed[0]["errors"][0]["message"]
    assert (
        db.session.scalar(select(Patent.outcome_id).where(Patent.number == "CN202310000003.3"))
        is None
    )
    # running the task again (a retried message) imports nothing twice
    assert bulk_import.run_import(batch.id) == result
    assert len(db.session.scalars(select(Outcome)).all()) == 2


def _xlsx_with(extra: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("宏.xlsm", xlsx_bytes(), "不接受含宏的Excel文件"),
        (
            "藏宏.xlsx",
            _xlsx_with({"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"0" * 64}),
            "文件包含宏代码",
        ),
        (
            "炸弹.xlsx",
            _xlsx_with({"xl/media/image1.bin": b"\0" * (20 * 1024 * 1024)}),
            "疑似压缩炸弹",
        ),
        ("假的.xlsx", b"just text pretending to be a workbook", "不是有效的Excel"),
        ("压缩包.csv", _xlsx_with({}), "不是CSV文本"),
        ("清单.txt", csv_bytes(), "只支持 .xlsx 或 .csv 文件"),
        ("旧版.xls", b"\xd0\xcf\x11\xe0", "不支持旧版Excel格式"),
        ("无表头.csv", "名称,简介\n甲,乙\n".encode(), "表头缺少必填列：成果名称"),
        ("空.csv", csv_bytes([]), "没有数据行"),
    ],
)
def test_hostile_or_wrong_files_are_refused(tto, name, content, message):
    response = upload(tto, content, name)
    html = page(response)
    assert response.status_code == 422
    assert re.search(r'data-field-error="file">[^<]*' + re.escape(message), html)
    assert db.session.scalars(select(ImportBatch)).all() == []


def test_row_cap(tto):
    rows = [[f"成果{i}"] + [""] * (len(H) - 1) for i in range(bulk_import.MAX_ROWS + 1)]
    response = upload(tto, csv_bytes(rows), "big.csv")
    assert response.status_code == 422 and "一次最多导入5000行" in page(response)


def test_upload_size_limit(app, tto, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024)
    response = upload(tto, csv_bytes() * 20, "big.csv")
    assert response.status_code == 422 and "文件超过" in page(response)


def test_templates_have_the_chinese_headers(tto):
    text = tto.get("/workspace/institution/import/template.csv").get_data(as_text=True)
    assert text.startswith("\ufeff") and next(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == H
    response = tto.get("/workspace/institution/import/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book.worksheets[0][1]] == H
    assert book.worksheets[1].title == "填写说明"


def test_other_organisations_cannot_see_a_batch(tto, client, auth, create_org, create_user):
    upload(tto, csv_bytes(), "mine.csv")
    batch = latest_batch()
    auth.logout()
    rival = create_org("另一所示例大学", "university")
    create_user("other@example.edu.cn", "institution", rival)
    db.session.commit()
    auth.login("other@example.edu.cn")
    for path in ("", "/progress", "/report.csv"):
        response = client.get(f"/workspace/institution/import/{batch.id}{path}")
        assert response.status_code == 403
    assert client.post(f"/workspace/institution/import/{batch.id}/confirm").status_code == 403
    assert db.session.get(ImportBatch, batch.id).status == "previewed"


def test_formula_cells_are_neutralised():
    assert [bulk_import.safe_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "普通", 3)] == [
        "'=1+1",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "普通",
        "3",
    ]
