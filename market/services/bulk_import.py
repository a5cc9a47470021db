"""Bulk import of 科技成果 from a TTO spreadsheet (CSV in UTF-8/GBK, or .xlsx).

Three steps: ``preview`` reads and checks every row and stores the valid ones in an
``ImportBatch``; ``confirm`` queues the batch; ``run_import`` (in the worker) inserts the rows
chunk by chunk, one transaction per chunk, updating a ``Job`` so the page can show progress.
Uploaded files are untrusted: extension and content are both checked, macros and zip bombs are
refused before openpyxl sees the file, and rows are capped.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Conflict,
    ImportBatch,
    IpcCode,
    Job,
    Organization,
    Patent,
    User,
    ValidationError,
    db,
    utcnow,
)
from models.enums import COOPERATION_MODES, MATURITY, MATURITY_TRL, N_, PATENT_KINDS, PATENT_STATUS
from models.listings import TEXT_LIMIT, TITLE_LIMIT

from ..spreadsheets import append_row, csv_text, neutralise
from . import audit
from .listings import add_patent, post_outcome

log = logging.getLogger(__name__)

INVALID_CHOICE = N_("“%(value)s”不是有效的选项，可填：%(allowed)s")

# The template's column headers: the file format is Chinese; pages name a column in the reader's
# language (the headers are catalogue msgids) and quote the header as written.
HEADERS = [
    N_("成果名称"),
    N_("成果简介"),
    N_("成熟度"),
    "TRL",
    N_("转化方式"),
    N_("报价（万元）"),
    N_("是否支持先用后转"),
    N_("财政资助"),
    N_("团队赋权比例"),
    N_("专利号"),
    N_("专利类型"),
    N_("申请日"),
    N_("授权日"),
    N_("到期日"),
    N_("法律状态"),
    N_("IPC分类号"),
]
HELP = {
    "成果名称": "必填，不超过200字",
    "成果简介": "解决什么问题、关键性能、适用场景",
    "成熟度": "小试 / 中试 / 产业化",
    "TRL": "1–9 的整数；小试1–4，中试5–6，产业化7–9",
    "转化方式": "转让、许可、作价入股、合作开发、开放许可、先用后转，多个用；隔开",
    "报价（万元）": "数字，可留空表示面议",
    "是否支持先用后转": "是 / 否",
    "财政资助": "是 / 否",
    "团队赋权比例": "0–100 的整数，例如 70",
    "专利号": "多个用；隔开，例如 CN202310123456.7；CN202320654321.0",
    "专利类型": "发明专利、实用新型、外观设计、软件著作权；一个值适用于全部专利，或与专利号一一对应",
    "申请日": "例如 2023-05-18；多个专利时与专利号一一对应",
    "授权日": "同上",
    "到期日": "同上",
    "法律状态": "审查中、有效、已失效、已无效",
    "IPC分类号": "多个用；隔开，例如 G06T；B64C",
}
REQUIRED = ("成果名称",)
MAX_ROWS = 5000
MAX_ZIP_ENTRIES = 500
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200
CHUNK = 200
TRUE_WORDS = {"是", "y", "yes", "true", "1", "支持", "有", "√", "✓"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "不支持", "无", "×", "✗"}
KIND_WORDS = {
    **{label: code for code, label in PATENT_KINDS.items()},
    **{code: code for code in PATENT_KINDS},
    "发明": "invention",
    "外观": "design",
    "软著": "software",
}
STATUS_WORDS = {
    **{label: code for code, label in PATENT_STATUS.items()},
    **{code: code for code in PATENT_STATUS},
    "授权": "granted",
    "有效专利": "granted",
    "失效": "expired",
    "无效": "invalidated",
}
MATURITY_WORDS = {**{label: code for code, label in MATURITY.items()}, **{c: c for c in MATURITY}}
MODE_WORDS = {
    **{label: code for code, label in COOPERATION_MODES.items()},
    **{c: c for c in COOPERATION_MODES},
}
DATE_PATTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")

RESULT_LABELS = {
    "valid": N_("待导入"),
    "invalid": N_("有错误，未导入"),
    "imported": N_("已导入"),
    "failed": N_("导入失败"),
}


class UploadRejected(ValidationError):
    """The file itself is refused (type, content, size, macros, row count)."""

    def __init__(self, message: str, **params):
        super().__init__(message, "file", **params)


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cell values)


# ---------------------------------------------------------------- reading files


def read_table(filename: str, data: bytes) -> Table:
    """Check the upload by extension and by content, then read its first sheet."""
    ext = PurePath(filename or "").suffix.lower()
    if ext in (".xlsm", ".xltm", ".xlam"):
        raise UploadRejected(N_("不接受含宏的Excel文件（.xlsm），请另存为 .xlsx 后上传"))
    if ext in (".xls", ".xlsb"):
        raise UploadRejected(N_("不支持旧版Excel格式，请另存为 .xlsx 或 CSV 后上传"))
    if ext == ".csv":
        return _read_csv(data)
    if ext == ".xlsx":
        check_xlsx(data)
        return _read_xlsx(data)
    raise UploadRejected(N_("只支持 .xlsx 或 .csv 文件"))


def _read_csv(data: bytes) -> Table:
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:8192]:
        raise UploadRejected(N_("文件内容不是CSV文本，请确认文件类型"))
    text = _decode(data)
    rows: list[tuple[int, list[Any]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        for values in reader:
            if any((v or "").strip() for v in values):
                rows.append((reader.line_num, values))
                _check_row_cap(len(rows))
    except csv.Error as e:
        raise UploadRejected(
            N_("CSV格式有误（第%(line_num)s行）：%(e)s"), line_num=reader.line_num, e=e
        ) from e
    return Table(_headers(header), rows)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK, so files saved by Excel as "CSV (GBK)" read correctly.
        return data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise UploadRejected(N_("无法识别文件编码，请将CSV另存为UTF-8或GBK编码")) from e


def check_xlsx(data: bytes) -> None:
    """Refuse what is not a plain workbook before any XML is parsed."""
    if not data.startswith(b"PK\x03\x04"):
        raise UploadRejected(N_("文件内容不是有效的Excel（.xlsx）文件"))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise UploadRejected(N_("Excel文件已损坏，无法读取")) from e
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UploadRejected(N_("Excel文件结构异常（包含的部件过多），已拒绝"))
        names = {e.filename.lower() for e in entries}
        if any(n.endswith("vbaproject.bin") for n in names):
            raise UploadRejected(N_("文件包含宏代码，已拒绝。请另存为不含宏的 .xlsx 后上传"))
        _check_sizes(entries)
        if "xl/workbook.xml" not in names or "[content_types].xml" not in names:
            raise UploadRejected(N_("文件内容不是有效的Excel（.xlsx）文件"))
        types = archive.read("[Content_Types].xml")
        if b"macroEnabled" in types or b"vbaProject" in types:
            raise UploadRejected(N_("文件包含宏代码，已拒绝。请另存为不含宏的 .xlsx 后上传"))


def _check_sizes(entries: list[zipfile.ZipInfo]) -> None:
    # Python's zipfile stops at the declared size and checks the CRC, so a header that lies
    # about file_size fails to read rather than expanding past these limits.
    total = sum(e.file_size for e in entries)
    if total > MAX_UNCOMPRESSED:
        raise UploadRejected(N_("Excel文件解压后过大（疑似压缩炸弹），已拒绝"))
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > MAX_RATIO:
            raise UploadRejected(N_("Excel文件压缩比异常（疑似压缩炸弹），已拒绝"))


def _read_xlsx(data: bytes) -> Table:
    import openpyxl

    try:
        with warnings.catch_warnings():
            # Files saved by other tools often lack styles; openpyxl warns, we read anyway.
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for damaged files
        raise UploadRejected(N_("Excel文件无法读取，请确认文件没有损坏")) from e
    try:
        sheet = book.worksheets[0]
        header: list[Any] = []
        rows: list[tuple[int, list[Any]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number == 1:
                header = list(values)
            elif any(_cell_text(v) for v in values):
                rows.append((number, list(values)))
                _check_row_cap(len(rows))
    finally:
        book.close()
    return Table(_headers(header), rows)


def _check_row_cap(count: int) -> None:
    if count > MAX_ROWS:
        raise UploadRejected(
            N_("一次最多导入%(max_rows)s行，请拆分文件后分批上传"), max_rows=MAX_ROWS
        )


def _headers(values: Iterable[Any]) -> list[str]:
    cleaned = [_normalise_header(v) for v in values]
    missing = [h for h in REQUIRED if h not in cleaned]
    if missing:
        raise UploadRejected(
            N_("表头缺少必填列：%(value)s。请使用下载的模板填写"), value="、".join(missing)
        )
    return cleaned


def _normalise_header(value: Any) -> str:
    text = _cell_text(value).replace("\ufeff", "").replace(" ", "")
    text = text.replace("(", "（").replace(")", "）")
    return "TRL" if text.upper() == "TRL" else text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- checking rows


@dataclass
class RowCheck:
    number: int
    values: dict[str, Any]
    errors: list[dict] = field(default_factory=list)

    def text(self, column: str) -> str:
        return _cell_text(self.values.get(column))

    def error(self, column: str, template: str, **params: Any) -> None:
        """Record a problem: the Chinese text, and its msgid and values so pages can show it in
        the reader's language (market.i18n.row_error)."""
        message = template % params if params else template
        entry = {"column": column, "message": message, "template": template}
        self.errors.append({**entry, "params": params} if params else entry)


@dataclass
class Known:
    """What the database already holds, looked up once for the whole file."""

    ipc: set[str]
    patents: set[str]
    seen_patents: dict[str, int] = field(default_factory=dict)


def split_multi(text: str) -> list[str]:
    for sep in ("；", ";", "，", ","):
        text = text.replace(sep, "\n")
    return [part.strip() for part in text.split("\n") if part.strip()]


def normalise_patent_number(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def check_rows(table: Table) -> list[dict]:
    """Check every row; each result is {row, title, status, errors, data}."""
    records = [
        RowCheck(n, dict(zip(table.headers, values, strict=False))) for n, values in table.rows
    ]
    known = _lookup_known(records)
    return [_check_row(record, known) for record in records]


def _lookup_known(records: list[RowCheck]) -> Known:
    codes, numbers = set(), set()
    for record in records:
        codes.update(c.upper() for c in split_multi(record.text("IPC分类号")))
        numbers.update(normalise_patent_number(n) for n in split_multi(record.text("专利号")))
    ipc: set[str] = set()
    taken: set[str] = set()
    for chunk in _chunks(sorted(codes), 500):
        ipc.update(db.session.scalars(select(IpcCode.code).where(IpcCode.code.in_(chunk))))
    for chunk in _chunks(sorted(numbers), 500):
        taken.update(db.session.scalars(select(Patent.number).where(Patent.number.in_(chunk))))
    return Known(ipc=ipc, patents=taken)


def _check_row(record: RowCheck, known: Known) -> dict:
    outcome = _check_outcome(record)
    ipc = _check_ipc(record, known)
    patents = _check_patents(record, known, ipc)
    result = {
        "row": record.number,
        "title": record.text("成果名称")[:TITLE_LIMIT],
        "status": "invalid" if record.errors else "valid",
        "errors": record.errors,
    }
    if not record.errors:
        result["data"] = {"outcome": outcome, "ipc": ipc, "patents": patents}
    return result


def _check_outcome(record: RowCheck) -> dict:
    title = record.text("成果名称")
    if not title:
        record.error("成果名称", N_("不能为空"))
    elif len(title) > TITLE_LIMIT:
        record.error(
            "成果名称",
            N_("不能超过%(limit)s个字（当前%(n)s字）"),
            limit=TITLE_LIMIT,
            n=len(title),
        )
    abstract = record.text("成果简介")
    if len(abstract) > TEXT_LIMIT:
        record.error("成果简介", N_("不能超过%(limit)s个字"), limit=TEXT_LIMIT)
    maturity = _choice(record, "成熟度", MATURITY_WORDS, "小试、中试、产业化")
    return {
        "title": title,
        "abstract": abstract or None,
        "maturity": maturity,
        "trl": _trl(record, maturity),
        "transfer_modes": _modes(record),
        "asking_price_fen": _price(record),
        "use_first_eligible": _yes_no(record, "是否支持先用后转"),
        "fiscal_funded": _yes_no(record, "财政资助"),
        "team_share_pct": _share(record),
    }


def _choice(record: RowCheck, column: str, words: dict, allowed: str) -> str | None:
    text = record.text(column)
    if not text:
        return None
    if text not in words:
        record.error(column, INVALID_CHOICE, value=text, allowed=allowed)
        return None
    return words[text]


def _trl(record: RowCheck, maturity: str | None) -> int | None:
    text = record.text("TRL")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 9:
        record.error("TRL", N_("“%(value)s”无效，须为1到9的整数"), value=text)
        return None
    trl = int(text)
    span = MATURITY_TRL.get(maturity or "")
    if span and not span[0] <= trl <= span[1]:
        record.error(
            "TRL",
            N_("TRL %(trl)s 与成熟度“%(maturity_label)s”不符（应为%(low)s–%(high)s）"),
            trl=trl,
            maturity_label=MATURITY[maturity],
            low=span[0],
            high=span[1],
        )
    return trl


def _modes(record: RowCheck) -> list[str]:
    values = split_multi(record.text("转化方式"))
    unknown = [v for v in values if v not in MODE_WORDS]
    if unknown:
        allowed = "、".join(COOPERATION_MODES.values())
        record.error(
            "转化方式",
            N_("无法识别“%(value)s”，可填：%(allowed)s"),
            value="、".join(unknown),
            allowed=allowed,
        )
    return list(dict.fromkeys(MODE_WORDS[v] for v in values if v in MODE_WORDS))


def _price(record: RowCheck) -> int | None:
    column = "报价（万元）"
    text = record.text(column).replace(",", "").replace("，", "").removesuffix("万元")
    text = text.removesuffix("万").strip()
    if not text or text == "面议":
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        record.error(column, N_("“%(value)s”不是数字"), value=record.text(column))
        return None
    if amount < 0 or amount > 10_000_000:
        record.error(column, N_("须在0到1000万万元之间"))
        return None
    return int(amount * 1_000_000)


def _yes_no(record: RowCheck, column: str) -> bool:
    text = record.text(column).lower()
    if not text or text in FALSE_WORDS:
        return False
    if text in TRUE_WORDS:
        return True
    record.error(column, N_("“%(value)s”无效，请填“是”或“否”"), value=record.text(column))
    return False


def _share(record: RowCheck) -> int | None:
    column = "团队赋权比例"
    raw = record.values.get(column)
    text = record.text(column).removesuffix("%").removesuffix("％").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        record.error(column, N_("“%(value)s”不是数字"), value=record.text(column))
        return None
    if isinstance(raw, float) and 0 < value <= 1:
        value *= 100  # an Excel cell formatted as a percentage stores 70% as 0.7
    if value != value.to_integral_value() or not 0 <= value <= 100:
        record.error(column, N_("须为0到100之间的整数"))
        return None
    return int(value)


def _check_ipc(record: RowCheck, known: Known) -> list[str]:
    codes = list(dict.fromkeys(c.upper() for c in split_multi(record.text("IPC分类号"))))
    unknown = [c for c in codes if c not in known.ipc]
    if unknown:
        record.error("IPC分类号", N_("未知的分类号：%(codes)s"), codes="、".join(unknown))
    return [c for c in codes if c in known.ipc]


PATENT_COLUMNS = ("专利类型", "申请日", "授权日", "到期日", "法律状态")


def _check_patents(record: RowCheck, known: Known, ipc: list[str]) -> list[dict]:
    numbers = [normalise_patent_number(n) for n in split_multi(record.text("专利号"))]
    if not numbers:
        for column in PATENT_COLUMNS:
            if record.text(column):
                record.error(column, N_("填写了专利信息，但没有填写专利号"))
        return []
    _check_numbers(record, known, numbers)
    columns = {c: _per_patent(record, c, len(numbers)) for c in PATENT_COLUMNS}
    patents = []
    for i, number in enumerate(numbers):
        patent = {
            "number": number,
            "kind": _patent_word(record, "专利类型", columns["专利类型"][i], KIND_WORDS)
            or "invention",
            "applied_on": _date(record, "申请日", columns["申请日"][i]),
            "granted_on": _date(record, "授权日", columns["授权日"][i]),
            "expires_on": _date(record, "到期日", columns["到期日"][i]),
            "legal_status": _patent_word(record, "法律状态", columns["法律状态"][i], STATUS_WORDS)
            or "granted",
            "ipc_codes": ipc,
        }
        _check_patent_dates(record, patent)
        patents.append(patent)
    return patents


def _check_numbers(record: RowCheck, known: Known, numbers: list[str]) -> None:
    for number in numbers:
        if len(number) > 40:
            record.error("专利号", N_("专利号“%(number)s”过长"), number=number)
        elif number in known.patents:
            record.error("专利号", N_("专利号 %(number)s 已在平台登记"), number=number)
        elif number in known.seen_patents:
            record.error(
                "专利号",
                N_("专利号 %(number)s 与第%(row)s行重复"),
                number=number,
                row=known.seen_patents[number],
            )
        else:
            known.seen_patents[number] = record.number


def _per_patent(record: RowCheck, column: str, count: int) -> list[Any]:
    """One value per patent: none, a single value for all, or exactly one each."""
    raw = record.values.get(column)
    values: list[Any] = [raw] if isinstance(raw, date | datetime) else split_multi(_cell_text(raw))
    if not values:
        return [None] * count
    if len(values) == 1:
        return values * count
    if len(values) != count:
        record.error(
            column, N_("有%(n)s个值，与专利号个数（%(count)s）不一致"), n=len(values), count=count
        )
        return [None] * count
    return values


def _patent_word(record: RowCheck, column: str, value: Any, words: dict) -> str | None:
    if value is None:
        return None
    if value not in words:
        allowed = "、".join(k for k in words if not k.isascii())
        record.error(column, INVALID_CHOICE, value=value, allowed=allowed)
        return None
    return words[value]


def _date(record: RowCheck, column: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    match = DATE_PATTERN.match(text)
    if text.isdigit() and len(text) == 8:
        match = re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
    try:
        if not match:
            raise ValueError(text)
        return date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        record.error(
            column, N_("“%(value)s”不是有效日期，请写成 2023-05-18 这样的格式"), value=text
        )
        return None


def _check_patent_dates(record: RowCheck, patent: dict) -> None:
    applied, granted, expires = patent["applied_on"], patent["granted_on"], patent["expires_on"]
    if applied and granted and granted < applied:
        record.error("授权日", N_("专利 %(number)s 的授权日早于申请日"), number=patent["number"])
    if applied and expires and expires <= applied:
        record.error("到期日", N_("专利 %(number)s 的到期日早于申请日"), number=patent["number"])


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- the batch


def preview(org: Organization, user: User, filename: str, data: bytes) -> ImportBatch:
    """Read and check an upload; store the valid rows for a later confirmed import."""
    table = read_table(filename, data)
    if not table.rows:
        raise UploadRejected(N_("文件中没有数据行，请在表头下方填写成果"))
    checked = check_rows(table)
    valid = [{"row": r["row"], **r.pop("data")} for r in checked if r["status"] == "valid"]
    batch = ImportBatch(
        organization=org,
        user_id=user.id,
        filename=PurePath(filename).name[:255],
        total_rows=len(checked),
        valid_rows=len(valid),
        rows=valid,
        results=checked,
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        user.id, "import.preview", batch, after={"rows": len(checked), "valid": len(valid)}
    )
    return batch


def confirm(batch: ImportBatch, user: User, publish: bool) -> Job:
    """Queue the valid rows of a previewed batch; the caller commits, then enqueues by id."""
    if batch.status != "previewed":
        raise Conflict(N_("这批数据已经提交导入，请勿重复提交"))
    if not batch.valid_rows:
        raise ValidationError(N_("没有可以导入的有效行"), "file")
    job = Job(name="outcome_import", total=batch.valid_rows, status="queued")
    batch.job, batch.status, batch.publish = job, "queued", publish
    db.session.add(job)
    db.session.flush()
    audit.record(user.id, "import.confirm", batch, after={"rows": batch.valid_rows, "job": job.id})
    return job


def run_import(
    batch_id: int,
    chunk_size: int = CHUNK,
    after_chunk: Callable[[list[int]], None] | None = None,
) -> dict:
    """Insert a batch's valid rows, one transaction per chunk; safe to run again after a crash."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.job is None:
        log.warning("import batch %s not found or not confirmed", batch_id)
        return {"batch": batch_id, "imported": 0}
    if batch.status == "done":
        return batch.job.result or {}
    _set_running(batch)
    finished = {r["row"] for r in batch.results if r["status"] in ("imported", "failed")}
    todo = [row for row in batch.rows if row["row"] not in finished]
    try:
        for chunk in _chunks(todo, chunk_size):
            outcomes = _import_chunk(batch, chunk)
            if after_chunk and outcomes:
                after_chunk(outcomes)
    except Exception as e:
        db.session.rollback()
        _set_failed(batch_id, e)
        raise
    return _finish(batch)


def _set_running(batch: ImportBatch) -> None:
    batch.status = batch.job.status = "running"
    batch.job.message = "正在导入"
    db.session.commit()


def _import_chunk(batch: ImportBatch, chunk: list[dict]) -> list[int]:
    """All rows of a chunk in one transaction; if one fails, retry them one at a time."""
    outcomes: dict[int, int | str] = {}
    try:
        for row in chunk:
            outcomes[row["row"]] = _insert_row(batch, row)
        _record_chunk(batch, outcomes)
        db.session.commit()
    except (ValidationError, IntegrityError):
        db.session.rollback()
        outcomes = {row["row"]: _insert_alone(batch, row) for row in chunk}
        _record_chunk(batch, outcomes)
        db.session.commit()
    return [v for v in outcomes.values() if isinstance(v, int) and batch.publish]


def _insert_alone(batch: ImportBatch, row: dict) -> int | str:
    try:
        outcome_id = _insert_row(batch, row)
        db.session.commit()
        return outcome_id
    except (ValidationError, IntegrityError) as e:
        db.session.rollback()
        return getattr(e, "message", None) or "与已有数据冲突（专利号重复）"


def _insert_row(batch: ImportBatch, row: dict) -> int:
    data = {**row["outcome"], "status": "published" if batch.publish else "draft"}
    outcome = post_outcome(batch.organization, data, batch.user_id, ipc_codes=row["ipc"])
    for patent in row["patents"]:
        add_patent(outcome, _patent_values(patent), batch.user_id)
    return outcome.id


def _patent_values(patent: dict) -> dict:
    values = dict(patent)
    for name in ("applied_on", "granted_on", "expires_on"):
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return values


def _record_chunk(batch: ImportBatch, outcomes: dict[int, int | str]) -> None:
    results = []
    for result in batch.results:
        fate = outcomes.get(result["row"])
        if isinstance(fate, int):
            result = {**result, "status": "imported", "outcome_id": fate}
        elif isinstance(fate, str):
            result = {**result, "status": "failed", "errors": [{"column": "", "message": fate}]}
        results.append(result)
    batch.results = results  # reassign: JSON columns do not track in-place changes
    batch.job.done = min(batch.job.total, batch.job.done + len(outcomes))


def _finish(batch: ImportBatch) -> dict:
    imported = sum(1 for r in batch.results if r["status"] == "imported")
    failed = sum(1 for r in batch.results if r["status"] == "failed")
    result = {"batch": batch.id, "imported": imported, "failed": failed}
    job = batch.job
    job.status, job.done, job.finished_at = "done", job.total, utcnow()
    job.message = f"已导入{imported}条成果" + (f"，{failed}条失败" if failed else "")
    job.result = result
    batch.status = "done"
    audit.record(batch.user_id, "import.done", batch, after=result)
    db.session.commit()
    return result


def _set_failed(batch_id: int, error: Exception) -> None:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.job is None:
        return
    batch.status = batch.job.status = "failed"
    batch.job.message = "导入中断，已导入的部分已保存；请稍后重试或联系运营人员"
    batch.job.finished_at = utcnow()
    db.session.commit()
    log.error("import batch %s failed: %s", batch_id, error)


# ---------------------------------------------------------------- files we hand out


def safe_cell(value: Any) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    return neutralise(_cell_text(value))


def report_csv(batch: ImportBatch) -> str:
    rows = [["行号", "成果名称", "状态", "错误"]]
    for result in sorted(batch.results, key=lambda r: r["row"]):
        errors = "；".join(
            (f"「{e['column']}」" if e["column"] else "") + e["message"] for e in result["errors"]
        )
        status = RESULT_LABELS.get(result["status"], result["status"])
        rows.append([_cell_text(v) for v in (result["row"], result["title"], status, errors)])
    return csv_text(rows, bom=True)  # the BOM makes Excel open UTF-8 Chinese correctly


def template_csv() -> str:
    return csv_text([HEADERS], bom=True)


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "成果清单"
    append_row(sheet, HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    guide = book.create_sheet("填写说明")
    append_row(guide, ["列名", "怎么填"])
    for header in HEADERS:
        append_row(guide, [header, HELP[header]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
