"""Controlled vocabularies shared by models, services and UI.

Codes are stored in English; the Chinese labels are what users see. Each label is also a msgid
of the translation catalogue: ``N_`` marks it for `make translations-extract`, and pages show it
through the ``label`` filter (market/i18n.py), which looks it up in the reader's language.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark ``text`` for the translation catalogue without translating it here."""
    return text


ORG_KINDS = {
    "enterprise": N_("企业"),
    "university": N_("高校"),
    "institute": N_("科研院所"),
    "hospital": N_("医疗卫生机构"),
    "service": N_("服务机构"),
}

ROLES = {
    "enterprise": N_("企业用户"),
    "institution": N_("高校院所用户"),
    "broker": N_("技术经纪人"),
    "admin": N_("运营管理员"),
}

SCENARIO_TYPES = {
    "industry": N_("产业发展"),
    "governance": N_("城市治理"),
    "infrastructure": N_("基础设施"),
    "livelihood": N_("社会民生"),
    "major_project": N_("重大项目"),
}

COOPERATION_MODES = {
    "transfer": N_("转让"),
    "license": N_("许可"),
    "equity": N_("作价入股"),
    "joint_dev": N_("合作开发"),
    "open_license": N_("开放许可"),
    "use_first": N_("先用后转"),
}

# Maturity stages and the TRL range each covers (TRL 1–9).
MATURITY = {
    "lab": N_("小试"),
    "pilot": N_("中试"),
    "industrial": N_("产业化"),
}
MATURITY_TRL = {"lab": (1, 4), "pilot": (5, 6), "industrial": (7, 9)}
MATURITY_ORDER = {"lab": 0, "pilot": 1, "industrial": 2}

# The kind of research an outcome comes from; 到期即转 (珠海 措施8) covers 应用技术类 only.
RESEARCH_TYPES = {
    "basic": N_("基础研究"),
    "applied": N_("应用技术"),
    "other": N_("其他"),
}

CONFIDENTIALITY = {
    "public": N_("公开"),
    "desensitized": N_("脱敏"),
    "broker_only": N_("仅经纪人可见"),
}

LISTING_STATUS = {
    "draft": N_("草稿"),
    "published": N_("已发布"),
    "closed": N_("已关闭"),
}

PATENT_KINDS = {
    "invention": N_("发明专利"),
    "utility": N_("实用新型"),
    "design": N_("外观设计"),
    "software": N_("软件著作权"),
}

PATENT_STATUS = {
    "pending": N_("审查中"),
    "granted": N_("有效"),
    "expired": N_("已失效"),
    "invalidated": N_("已无效"),
}

MATCH_STAGES = {
    "proposed": N_("系统推荐"),
    "accepted": N_("经纪人已接受"),
    "rejected": N_("经纪人已拒绝"),
    "withdrawn": N_("已撤回"),
}

# 组合方案: 2–3 outcomes of one organisation proposed together for one demand.
BUNDLE_STAGES = {
    "proposed": N_("系统推荐"),
    "accepted": N_("经纪人已接受"),
    "rejected": N_("经纪人已拒绝"),
}

# Per indicator of a demand: does an outcome (or a bundle) meet its target?
COVERAGE_STATUSES = {
    "met": N_("满足"),
    "not_met": N_("不满足"),
    "unknown": N_("未知"),
}

REJECTION_REASONS = {
    "unclear_benefit": N_("效益不明确"),
    "too_early": N_("技术尚不成熟"),
    "price_gap": N_("价格差距过大"),
    "field_mismatch": N_("领域不匹配"),
    "duplicate": N_("重复推荐"),
    "not_genuine": N_("需求不真实"),
    "other": N_("其他"),
}

DEAL_STAGES = {
    "proposed": N_("推荐"),
    "reviewed": N_("已审核"),
    "introduced": N_("已对接"),
    "negotiating": N_("洽谈中"),
    "notice": N_("公示中"),
    "signed": N_("已签约"),
    "registered": N_("已登记"),
    "lost": N_("已终止"),
}

INDICATOR_OPS = {">=": "≥", "<=": "≤", ">": "＞", "<": "＜", "=": "＝", "~": N_("约")}

# 揭榜挂帅 entries: submitted → shortlisted → winner; the rest become not_selected.
SUBMISSION_STATES = {
    "submitted": N_("已揭榜"),
    "shortlisted": N_("已入围"),
    "winner": N_("揭榜方"),
    "not_selected": N_("未入选"),
    "withdrawn": N_("已撤回"),
}
