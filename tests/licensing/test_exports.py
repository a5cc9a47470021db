"""Exports read back: PDF text extraction, python-docx, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import docx
import pytest
from licensing_support import draft
from pypdf import PdfReader

from market.licensing import CjkFontMissing, apply_edit
from market.licensing.exports import (
    ExportContext,
    PartyFacts,
    contract_registration_record,
    find_cjk_font,
    section_rows,
    to_csv,
    to_docx,
    to_pdf,
)

CONTEXT = ExportContext(
    licensor_name="珠海某某大学",
    licensee_name="珠海市某某科技有限公司",
    outcome_title="一种锂电池隔膜涂覆方法",
    patent_numbers=("ZL202010000001.X",),
    technical_field="新能源",
    broker_name="李经纪",
    signed_on=date(2026, 4, 1),
    licensor=PartyFacts("university", "广东省", "珠海市", "12440400MB0000000X", "张老师"),
    licensee=PartyFacts("enterprise", "广东省", "深圳市"),
    patent_kinds=("invention",),
    technical_field_code="H01M",
    fiscal_funded=True,
)


@pytest.fixture(scope="module")
def sheet():
    return draft("zhuhai-2025", "use_first")


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # Table cells wrap, so compare without line breaks.
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def test_pdf_reads_back_in_chinese(sheet) -> None:
    data = to_pdf(sheet, CONTEXT)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    for expected in (
        "技术许可合同条款书（先用后转）",
        "珠海某某大学",
        "珠海市某某科技有限公司",
        "ZL202010000001.X",
        "免费使用期",
        "12个月",
        "担保",
        "珠府办函〔2025〕13号",
        "七、政策依据与提示",
    ):
        assert expected in text, expected


def test_pdf_embeds_the_cjk_font(sheet) -> None:
    reader = PdfReader(io.BytesIO(to_pdf(sheet, CONTEXT)))
    embedded = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                embedded.append(str(font["/BaseFont"]))
    # Subset TrueType fonts are named "ABCDEF+<PostScript name>".
    assert embedded and all("+" in name for name in embedded)


def test_pdf_without_font_gives_the_install_hint(sheet, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SCENEBRIDGE_CJK_FONT", str(tmp_path / "none.ttf"))
    with pytest.raises(CjkFontMissing):
        to_pdf(sheet, CONTEXT)
    monkeypatch.delenv("SCENEBRIDGE_CJK_FONT")
    monkeypatch.setattr("market.licensing.exports.FONT_CANDIDATES", ())
    with pytest.raises(CjkFontMissing, match="fonts-wqy-zenhei"):
        find_cjk_font()


def test_docx_reads_back_with_east_asian_fonts(sheet) -> None:
    document = docx.Document(io.BytesIO(to_docx(sheet, CONTEXT)))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "技术许可合同条款书（先用后转）"
    assert "许可方（甲方）：珠海某某大学" in paragraphs
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    assert {"零门槛费＋里程碑支付＋收入提成", "0.00元", "3%", "无"} <= cells
    assert any("措施7" in p for p in paragraphs)  # the notes cite 措施7 (risk sharing optional)
    normal = document.styles["Normal"].element.rPr.rFonts
    assert (
        normal.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")
        == "宋体"
    )


def test_docx_shows_edits_with_the_editor(sheet) -> None:
    from licensing_support import outcome, profile

    edited = apply_edit(sheet, {"royalty_rate": 450}, profile("zhuhai-2025"), outcome(), "王律师")
    document = docx.Document(io.BytesIO(to_docx(edited, CONTEXT)))
    rows = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert ["提成比例", "4.5%", "人工修改（王律师）"] in rows


def test_registration_record_fields(sheet) -> None:
    record = contract_registration_record(sheet, CONTEXT)
    assert record["contract_type"] == "技术许可"
    assert record["contract_subtype"] == "专利实施许可"
    assert record["seller"] == "珠海某某大学" and record["buyer"] == "珠海市某某科技有限公司"
    # 合同成交额 counts the 后转 price too (issue 18; it used to count the licence fees only).
    assert record["contract_amount_fen"] == sheet.value("fixed_fee_total") + sheet.value(
        "conversion_price"
    )
    assert record["technology_amount_fen"] == record["contract_amount_fen"]
    assert "后转价格1,000,000.00元" in record["amount_breakdown"]
    assert record["registration_no"] == "（由技术合同登记机构填写）"
    assert (record["seller_region_code"], record["buyer_region_code"]) == ("440400", "440300")
    assert record["seller_kind"] == "事业法人（高等院校）" and record["buyer_kind"] == "企业法人"
    assert record["seller_credit_code"] == "12440400MB0000000X"
    assert record["buyer_credit_code"] == "（待填写）" and record["seller_contact"] == "张老师"
    assert record["ip_type"] == "发明专利" and record["technical_field_code"] == "H01M"
    assert record["fiscal_funding"].startswith("是") and record["signing_place"] == "广东省珠海市"
    assert record["performance_mode"] == "许可方以普通许可方式许可被许可方实施"
    assert record["intermediary"] == "李经纪"
    assert record["payment_method"] == "里程碑支付＋提成支付"
    assert record["royalty"] == "净销售额的3%"
    assert (record["term_start"], record["term_end"]) == ("2026-03-01", "2036-03-01")
    assert record["technical_field"] == "新能源"
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record


def test_transfer_record_is_a_technology_transfer() -> None:
    transfer = draft("zhuhai-2025", "transfer")
    record = contract_registration_record(transfer, CONTEXT)
    assert (record["contract_type"], record["payment_method"]) == ("技术转让", "一次总付")
    assert record["contract_subtype"] == "专利权转让"
    # A transfer carries no licence dates or exclusivity, in the record or on the sheet.
    assert record["term_end"] == record["exclusivity"] == record["territory"] == ""
    shown = {label for _, rows in section_rows(transfer) for label, _, _ in rows}
    assert not shown & {
        "许可方式",
        "许可截止日",
        "许可地域",
        "免费使用期",
        "后转价格（转为转让的价格）",
    }


def test_deferred_record_payment_method() -> None:
    record = contract_registration_record(
        draft("zhuhai-2025", "use_first", fee_form="deferred"), CONTEXT
    )
    assert record["payment_method"] == "分期支付（3期）"


@pytest.mark.parametrize("evil", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=1"])
def test_csv_neutralises_formulas(sheet, evil: str) -> None:
    record = {**contract_registration_record(sheet, CONTEXT), "subject": evil}
    rows = list(csv.reader(io.StringIO(to_csv([record]))))
    assert rows[1][3] == "'" + evil


def test_csv_round_trip_with_chinese_header(sheet) -> None:
    record = contract_registration_record(sheet, CONTEXT)
    rows = list(csv.reader(io.StringIO(to_csv([record, record]))))
    assert rows[0][0] == "合同类型" and len(rows) == 3
    assert rows[1][rows[0].index("买方（被许可方/受让方）")] == "珠海市某某科技有限公司"
    keys = list(csv.reader(io.StringIO(to_csv([record], chinese_header=False))))[0]
    assert keys[0] == "contract_type"
    assert to_csv([]) == ""
