"""/api/v1/cases — the public 标杆案例清单 (published cases only)."""

from __future__ import annotations

from ..services import cases
from .common import envelope, resource_blueprint
from .schemas import CasePage, PageArgs

blp = resource_blueprint("cases", "/cases", "标杆案例清单（已发布的签约案例）")


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CasePage)
def list_cases(args: dict):
    """已发布的标杆案例（公开，分页）。"""
    page = cases.published_cases(args["page"], args["per_page"])
    return envelope(page.items, page.total, page.page, page.per_page)
