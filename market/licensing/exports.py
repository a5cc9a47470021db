"""Exports of a term sheet: DOCX and PDF typeset in Chinese, and the 技术合同登记 record (JSON/CSV).

PDF needs a CJK TrueType font on disk (Debian: `apt-get install fonts-wqy-zenhei`); set
SCENEBRIDGE_CJK_FONT to a .ttf/.ttc path to choose another. Noto CJK's .ttc uses CFF outlines,
which reportlab cannot embed, so it is not a candidate.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from market.licensing.errors import CjkFontMissing
from market.licensing.formatting import chinese_date, format_value, yuan
from market.licensing.labels import ENUM_LABELS, FIELD_LABELS, N_, SOURCE_KIND_LABELS
from market.licensing.regions import region_code
from market.licensing.sheet import Term, TermSheet
from market.spreadsheets import FORMULA_PREFIXES, csv_text
from models.enums import COOPERATION_MODES

logger = logging.getLogger(__name__)

FONT_ENV = "SCENEBRIDGE_CJK_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT_INSTALL_HINT = "apt-get install -y fonts-wqy-zenhei"
DOCX_BODY_FONT, DOCX_HEADING_FONT, DOCX_LATIN_FONT = "宋体", "黑体", "Times New Roman"
CSV_DANGEROUS_PREFIXES = FORMULA_PREFIXES  # the name tests and callers already use

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        N_("一、价格与付费方式"),
        ("base_price", "fee_form", "entry_fee", "equity_value", "equity_share_bps"),
    ),
    (
        N_("二、免费使用期与提成"),
        (
            "free_window_months",
            "free_window_until_first_revenue",
            "free_window_max_months",
            "royalty_base",
            "royalty_rate",
            "annual_minimum",
            "annual_cap",
        ),
    ),
    (
        N_("三、后转选择权"),
        (
            "conversion_price",
            "conversion_opens_on",
            "conversion_closes_on",
            "conversion_credit_paid_fees",
        ),
    ),
    (N_("四、许可范围与期限"), ("exclusivity", "territory", "start_on", "end_on")),
    (
        N_("五、履约风险分担、解除与退出"),
        (
            "risk_instrument",
            "risk_coverage",
            "risk_provider",
            "exit_free_in_window",
            "termination_notice_days",
            "cure_days",
        ),
    ),
    (
        N_("六、收益分配与协议定价公示"),
        (
            "team_income_share",
            "broker_reward_share",
            "pricing_method",
            "notice_required",
            "notice_days",
        ),
    ),
)

REGISTRATION_LABELS: dict[str, str] = {
    "contract_type": "合同类型",
    "contract_subtype": "合同子类",
    "contract_name": "合同名称",
    "subject": "项目名称（技术标的）",
    "registration_no": "登记编号",
    "patent_numbers": "专利号",
    "ip_type": "知识产权类型",
    "seller": "卖方（许可方/让与方）",
    "seller_kind": "卖方单位性质",
    "seller_credit_code": "卖方统一社会信用代码",
    "seller_region": "卖方所在地区",
    "seller_region_code": "卖方行政区划代码",
    "seller_contact": "卖方联系人",
    "buyer": "买方（被许可方/受让方）",
    "buyer_kind": "买方单位性质",
    "buyer_credit_code": "买方统一社会信用代码",
    "buyer_region": "买方所在地区",
    "buyer_region_code": "买方行政区划代码",
    "buyer_contact": "买方联系人",
    "intermediary": "中介方",
    "technical_field": "技术领域",
    "technical_field_code": "技术领域代码（IPC）",
    "socio_economic_goal": "社会经济目标",
    "plan_source": "计划来源",
    "fiscal_funding": "财政资助",
    "signing_place": "签订地点",
    "performance_mode": "履行方式",
    "performance_place": "履行地点",
    "contract_amount_fen": "合同成交额（分）",
    "contract_amount": "合同成交额",
    "technology_amount_fen": "技术交易额（分）",
    "technology_amount": "技术交易额",
    "amount_breakdown": "成交额构成（固定价款）",
    "royalty": "提成约定（另计，不含在成交额内）",
    "payment_method": "支付方式",
    "exclusivity": "许可方式",
    "territory": "地域范围",
    "term_start": "合同有效期起",
    "term_end": "合同有效期止",
    "signed_on": "签订日期",
    "broker": "技术经纪人",
    "profile_key": "政策档案",
    "term_sheet_version": "条款书版本",
}
TO_FILL = "（待填写）"
REGISTRATION_NO_PLACEHOLDER = "（由技术合同登记机构填写）"
# A transfer moves the right itself: licence-only terms have no place on its sheet or record.
TRANSFER_HIDDEN_FIELDS = frozenset(
    {
        "free_window_months",
        "free_window_until_first_revenue",
        "free_window_max_months",
        "conversion_price",
        "conversion_opens_on",
        "conversion_closes_on",
        "conversion_credit_paid_fees",
        "exclusivity",
        "territory",
        "end_on",
        "exit_free_in_window",
    }
)
EQUITY_FIELDS = frozenset({"equity_value", "equity_share_bps"})
RIGHT_MOVES = ("transfer", "equity")  # modes that move the right itself to the other party


def hidden_fields(sheet: TermSheet) -> frozenset[str]:
    """Terms that have no place on this sheet: licence-only terms when the right itself moves,
    作价入股 terms on every other sheet."""
    hidden = TRANSFER_HIDDEN_FIELDS if sheet.mode in RIGHT_MOVES else frozenset()
    return hidden if sheet.mode == "equity" else hidden | EQUITY_FIELDS


ORG_KIND_REGISTRATION = {
    "university": "事业法人（高等院校）",
    "institute": "事业法人（科研院所）",
    "hospital": "事业法人（医疗卫生机构）",
    "enterprise": "企业法人",
    "service": "其他组织（技术服务机构）",
}
IP_TYPE_LABELS = {
    "invention": "发明专利",
    "utility": "实用新型专利",
    "design": "外观设计专利",
    "software": "计算机软件著作权",
}


@dataclass(frozen=True)
class PartyFacts:
    """One contracting party as the 技术合同登记表 asks for it."""

    kind: str = ""
    province: str = ""
    city: str = ""
    credit_code: str = ""
    contact: str = ""

    @property
    def region(self) -> str:
        return f"{self.province}{self.city if self.city != self.province else ''}"


@dataclass(frozen=True)
class ExportContext:
    """Names the sheet itself does not carry."""

    licensor_name: str
    licensee_name: str
    outcome_title: str
    patent_numbers: tuple[str, ...] = ()
    technical_field: str = ""
    broker_name: str = ""
    contract_name: str = ""
    signed_on: date | None = None
    licensor: PartyFacts = PartyFacts()
    licensee: PartyFacts = PartyFacts()
    patent_kinds: tuple[str, ...] = ()
    technical_field_code: str = ""
    fiscal_funded: bool | None = None
    plan_source: str = ""
    socio_economic_goal: str = ""
    signing_place: str = ""
    intermediary: str = ""


# --- rows shared by DOCX and PDF ------------------------------------------------------------


def source_label(term: Term) -> str:
    """Who set a term, in Chinese: the citation for rules and defaults, the editor for edits."""
    kind, _, rest = term.source.partition(":")
    if kind == "edit":
        return f"人工修改（{rest}）"
    if kind == "core" and term.citation.startswith("《"):
        return f"法律规定：{term.citation}"  # a statutory check every profile shares
    if term.citation:
        return f"{SOURCE_KIND_LABELS.get(kind, kind)}：{term.citation}"
    return SOURCE_KIND_LABELS.get(kind, term.source)


def display(name: str, term: Term) -> str:
    if term.value == "":
        return "（待定）"
    return format_value(term.value, term.unit, name)


def section_rows(sheet: TermSheet) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """[(section heading, [(label, value, basis), …]), …] in contract order."""
    sections = []
    hidden = hidden_fields(sheet)
    for heading, names in SECTIONS:
        rows = [
            (FIELD_LABELS[n], display(n, sheet.term(n)), source_label(sheet.term(n)))
            for n in names
            if n not in hidden
        ]
        if not rows:
            continue
        if heading.startswith("一"):
            rows.extend(_milestone_rows(sheet))
            rows.extend(_instalment_rows(sheet))
        sections.append((heading, rows))
    return sections


def _milestone_rows(sheet: TermSheet) -> list[tuple[str, str, str]]:
    rows = []
    for m in sheet.milestones:
        event = ENUM_LABELS["milestone_event"][m.event]
        if m.threshold is not None:
            event = f"{event}（{yuan(m.threshold.value)}）"
        rows.append((f"里程碑：{event}", yuan(m.amount.value), source_label(m.amount)))
    return rows


def _instalment_rows(sheet: TermSheet) -> list[tuple[str, str, str]]:
    return [
        (
            f"延期支付第{i}期（{chinese_date(inst.due_on.value)}）",
            yuan(inst.amount.value),
            source_label(inst.amount),
        )
        for i, inst in enumerate(sheet.deferred_schedule, start=1)
    ]


def _contract_kind(sheet: TermSheet | None) -> str:
    if sheet is None:
        return "技术合同"
    return "技术转让" if sheet.mode in RIGHT_MOVES else "技术许可"


def _heading_lines(sheet: TermSheet, context: ExportContext) -> list[str]:
    mode = COOPERATION_MODES.get(sheet.mode, sheet.mode)
    return [
        f"许可方（甲方）：{context.licensor_name}",
        f"被许可方（乙方）：{context.licensee_name}",
        f"技术标的：{context.outcome_title}",
        f"专利号：{'、'.join(context.patent_numbers) or '无'}",
        f"合作方式：{mode}　政策档案：{sheet.profile_key}　版本：第{sheet.version}版",
    ]


def document_title(sheet: TermSheet, context: ExportContext) -> str:
    if context.contract_name:
        return context.contract_name
    if sheet.mode == "equity":
        return "科技成果作价入股协议条款书"
    suffix = "（先用后转）" if sheet.mode == "use_first" else ""
    return f"{_contract_kind(sheet)}合同条款书{suffix}"


# --- DOCX -----------------------------------------------------------------------------------


def to_docx(sheet: TermSheet, context: ExportContext) -> bytes:
    """The term sheet as a Word document: 黑体 headings, 宋体 body, three-column term tables."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    _docx_fonts(doc)
    title = doc.add_heading(document_title(sheet, context), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in _heading_lines(sheet, context):
        doc.add_paragraph(line)
    for heading, rows in section_rows(sheet):
        doc.add_heading(heading, level=1)
        _docx_table(doc, rows)
    _docx_notes(doc, sheet)
    for paragraph in doc.paragraphs:
        paragraph.paragraph_format.space_after = Pt(4)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_fonts(doc: Any) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    for style_name, east_asian, size in (
        ("Normal", DOCX_BODY_FONT, 12),
        ("Title", DOCX_HEADING_FONT, 18),
        ("Heading 1", DOCX_HEADING_FONT, 14),
    ):
        style = doc.styles[style_name]
        style.font.name = DOCX_LATIN_FONT
        style.font.size = Pt(size)
        if style_name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
        # python-docx sets only the Latin font; Chinese text needs w:eastAsia on rFonts.
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), east_asian)


def _docx_table(doc: Any, rows: Sequence[tuple[str, str, str]]) -> None:
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("条款", "约定", "依据"), strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def _docx_notes(doc: Any, sheet: TermSheet) -> None:
    if not (sheet.notes or sheet.warnings):
        return
    doc.add_heading("七、政策依据与提示", level=1)
    for text in (*sheet.notes, *(f"提示：{w}" for w in sheet.warnings)):
        doc.add_paragraph(text, style="List Bullet")


# --- PDF ------------------------------------------------------------------------------------


def find_cjk_font() -> Path:
    """Path of an installed CJK TrueType font, or CjkFontMissing with the install hint."""
    configured = os.environ.get(FONT_ENV)
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        raise CjkFontMissing(f"{FONT_ENV}={configured} 不存在")
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise CjkFontMissing(
        f"未找到中文 TrueType 字体，请安装：{FONT_INSTALL_HINT}（或设置 {FONT_ENV}）"
    )


@lru_cache(maxsize=4)
def _register_font(path: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "SceneBridgeCJK-" + Path(path).stem
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except TTFError as e:
        raise CjkFontMissing(f"字体 {path} 无法嵌入 PDF（需 TrueType 轮廓）：{e}") from e
    return name


def register_cjk_font() -> str:
    """The installed CJK font, registered with reportlab once per process (its name)."""
    return _register_font(str(find_cjk_font()))


def to_pdf(sheet: TermSheet, context: ExportContext) -> bytes:
    """The term sheet as an A4 PDF with an embedded CJK font and CJK line breaking."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = register_cjk_font()
    styles = _pdf_styles(font)
    story: list[Any] = [Paragraph(_escape(document_title(sheet, context)), styles["title"])]
    story += [Paragraph(_escape(line), styles["body"]) for line in _heading_lines(sheet, context)]
    for heading, rows in section_rows(sheet):
        story += [Spacer(1, 3 * mm), Paragraph(_escape(heading), styles["heading"])]
        story.append(_pdf_table(rows, styles, font))
    if sheet.notes or sheet.warnings:
        story.append(Paragraph("七、政策依据与提示", styles["heading"]))
        for text in (*sheet.notes, *(f"提示：{w}" for w in sheet.warnings)):
            story.append(Paragraph(_escape(text), styles["body"]))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        title=document_title(sheet, context),
    )
    doc.build(story)
    return buffer.getvalue()


def _pdf_styles(font: str) -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    # wordWrap="CJK" lets lines break between any two Han characters, as Chinese typesetting does.
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=8
        ),
        "heading": ParagraphStyle("heading", parent=body, fontSize=13, leading=20, spaceAfter=4),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=14),
    }


def _pdf_table(rows: Sequence[tuple[str, str, str]], styles: Mapping[str, Any], font: str) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    data = [[Paragraph(_escape(t), styles["cell"]) for t in ("条款", "约定", "依据")]]
    data += [[Paragraph(_escape(t), styles["cell"]) for t in row] for row in rows]
    table = Table(data, colWidths=[50 * mm, 50 * mm, 70 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), font),
            ]
        )
    )
    return table


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- 技术合同登记 record ------------------------------------------------------------------------


def contract_registration_record(sheet: TermSheet, context: ExportContext) -> dict[str, Any]:
    """The fields a 技术合同认定登记 asks for (技术合同登记表), from the sheet and the parties.

    合同成交额 counts every fixed sum (entry fee, milestones, instalments, 后转 price); royalties are
    stated apart because their amount is not known at signing. For a licence or transfer of
    patents or software the whole 成交额 is 技术交易额 (no equipment, materials or other
    non-technical costs are part of these sheets). Fields the platform does not hold are
    "（待填写）"; the 登记编号 is the registration office's.
    """
    amount = sheet.value("contract_amount")
    transfer = sheet.mode in RIGHT_MOVES
    seller, buyer = context.licensor, context.licensee
    return {
        "contract_type": _contract_kind(sheet),
        "contract_subtype": _subtype(sheet, context),
        "contract_name": document_title(sheet, context).replace("条款书", ""),
        "subject": context.outcome_title,
        "registration_no": REGISTRATION_NO_PLACEHOLDER,
        "patent_numbers": "；".join(context.patent_numbers),
        "ip_type": _ip_type(context),
        "seller": context.licensor_name,
        "seller_kind": ORG_KIND_REGISTRATION.get(seller.kind, TO_FILL),
        "seller_credit_code": seller.credit_code or TO_FILL,
        "seller_region": seller.region or TO_FILL,
        "seller_region_code": region_code(seller.province, seller.city) or TO_FILL,
        "seller_contact": seller.contact or TO_FILL,
        "buyer": context.licensee_name,
        "buyer_kind": ORG_KIND_REGISTRATION.get(buyer.kind, TO_FILL),
        "buyer_credit_code": buyer.credit_code or TO_FILL,
        "buyer_region": buyer.region or sheet.licensee_region or TO_FILL,
        "buyer_region_code": region_code(buyer.province, buyer.city) or TO_FILL,
        "buyer_contact": buyer.contact or TO_FILL,
        "intermediary": context.intermediary or context.broker_name or "无",
        "technical_field": context.technical_field,
        "technical_field_code": context.technical_field_code or TO_FILL,
        "socio_economic_goal": context.socio_economic_goal or TO_FILL,
        "plan_source": context.plan_source or TO_FILL,
        "fiscal_funding": _fiscal(context.fiscal_funded),
        "signing_place": context.signing_place or seller.region or TO_FILL,
        "performance_mode": _performance_mode(sheet),
        "performance_place": buyer.region or sheet.licensee_region or TO_FILL,
        "contract_amount_fen": amount,
        "contract_amount": yuan(amount),
        "technology_amount_fen": amount,
        "technology_amount": yuan(amount),
        "amount_breakdown": _amount_breakdown(sheet),
        "royalty": _royalty_text(sheet),
        "payment_method": _payment_method(sheet),
        "exclusivity": "" if transfer else display("exclusivity", sheet.term("exclusivity")),
        "territory": "" if transfer else sheet.value("territory"),
        "term_start": sheet.value("start_on").isoformat(),
        "term_end": "" if transfer else sheet.value("end_on").isoformat(),
        "signed_on": context.signed_on.isoformat() if context.signed_on else "",
        "broker": context.broker_name,
        "profile_key": sheet.profile_key,
        "term_sheet_version": sheet.version,
    }


def _ip_type(context: ExportContext) -> str:
    kinds = dict.fromkeys(IP_TYPE_LABELS.get(k, k) for k in context.patent_kinds)
    return "、".join(kinds) or ("专利" if context.patent_numbers else "技术秘密")


def _fiscal(funded: bool | None) -> str:
    if funded is None:
        return TO_FILL
    return "是（财政资金资助形成的成果）" if funded else "否"


def _performance_mode(sheet: TermSheet) -> str:
    if sheet.mode == "equity":
        return "权利人以专利权（技术）作价出资，权利转移至被投资企业"
    if sheet.mode == "transfer":
        return "转让方将专利权（技术）转移给受让方"
    exclusivity = display("exclusivity", sheet.term("exclusivity"))
    return f"许可方以{exclusivity}方式许可被许可方实施"


def _amount_breakdown(sheet: TermSheet) -> str:
    parts = [f"入门费{yuan(sheet.value('entry_fee'))}"]
    if sheet.milestones:
        parts.append(f"里程碑{len(sheet.milestones)}项共{yuan(sheet.value('milestone_total'))}")
    if sheet.deferred_schedule:
        count = len(sheet.deferred_schedule)
        parts.append(f"延期支付{count}期共{yuan(sheet.value('deferred_total'))}")
    if sheet.value("conversion_price") is not None:
        parts.append(f"后转价格{yuan(sheet.value('conversion_price'))}")
    if sheet.value("equity_value") is not None:
        parts.append(f"作价出资{yuan(sheet.value('equity_value'))}")
    return "；".join(parts)


def _subtype(sheet: TermSheet, context: ExportContext) -> str:
    if sheet.mode == "equity":
        return "专利权作价入股" if context.patent_numbers else "技术秘密作价入股"
    if sheet.mode == "transfer":
        return "专利权转让" if context.patent_numbers else "技术秘密转让"
    return "专利实施许可" if context.patent_numbers else "技术秘密许可"


def _royalty_text(sheet: TermSheet) -> str:
    base = sheet.value("royalty_base")
    if base == "none":
        return "无"
    label = ENUM_LABELS["royalty_base"][base]
    return f"{label}的{format_value(sheet.value('royalty_rate'), 'bps')}"


def _payment_method(sheet: TermSheet) -> str:
    form, entry = sheet.value("fee_form"), sheet.value("entry_fee")
    if form == "equity":
        return "作价出资（取得股权）"
    if form == "lump_sum":
        return "一次总付"
    if form == "deferred":
        return f"分期支付（{len(sheet.deferred_schedule)}期）"
    if form == "milestone_royalty":
        return "里程碑支付＋提成支付" if sheet.milestones else "提成支付"
    return "入门费＋提成支付" if entry else "提成支付"


def to_csv(records: Iterable[Mapping[str, Any]], *, chinese_header: bool = True) -> str:
    """CSV of registration records; cells that a spreadsheet would run as a formula are quoted."""
    records = list(records)
    if not records:
        return ""
    keys = list(records[0])
    header = [REGISTRATION_LABELS.get(k, k) if chinese_header else k for k in keys]
    rows = [[record.get(k, "") for k in keys] for record in records]
    return csv_text([header, *rows], lineterminator="\r\n")
