"""/api/v1/taxonomies — IPC classification and GB/T 4754 national industries."""

from __future__ import annotations

from models import Industry, IpcCode

from ..services import codes
from . import lookups
from .common import get_or_404, paginate, resource_blueprint
from .schemas import (
    CodeSuggestArgs,
    CodeSuggestionsOut,
    IndustryArgs,
    IndustryOut,
    IndustryPage,
    IpcArgs,
    IpcOut,
    IpcPage,
)

blp = resource_blueprint("taxonomies", "/taxonomies", "分类表：IPC国际专利分类、国民经济行业分类")


@blp.route("/ipc")
@blp.arguments(IpcArgs, location="query")
@blp.response(200, IpcPage)
def list_ipc(args: dict):
    """按分类号（code）、分类号前缀（prefix）或名称关键词（q）查IPC分类。"""
    stmt = lookups.ipc_codes(code=args["code"], prefix=args["prefix"], text=args["q"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/ipc/<path:code>")
@blp.response(200, IpcOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_ipc(code: str):
    """一个IPC分类号（如 G06F 或 A01B1/00）。"""
    return get_or_404(IpcCode, code.strip().upper()[:32], f"未知的IPC分类号：{code[:32]}")


@blp.route("/industries")
@blp.arguments(IndustryArgs, location="query")
@blp.response(200, IndustryPage)
def list_industries(args: dict):
    """国民经济行业分类（GB/T 4754-2017），可按代码、上级、门类或名称筛选。"""
    stmt = lookups.industries(
        code=args["code"], parent=args["parent"], section=args["section"], text=args["q"]
    )
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/industries/<code>")
@blp.response(200, IndustryOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_industry(code: str):
    """一个行业代码。"""
    return get_or_404(Industry, code.strip().upper()[:8], f"未知的国民经济行业代码：{code[:8]}")


@blp.route("/suggest")
@blp.arguments(CodeSuggestArgs, location="query")
@blp.response(200, CodeSuggestionsOut)
def suggest_codes(args: dict):
    """建议分类：按文本推荐IPC小类与国民经济行业小类（附中文名称）；文本少于4个汉字时不建议。"""
    return codes.suggest_codes(args["text"], args["k"])
