"""Chinese labels for every term-sheet field, enum value and unit, for the UI and the exports.

The engine speaks Chinese only; labels are marked with ``N_`` so the web layer can show them in
the reader's language (``gettext(label)``) where a page is translated, e.g. the change log.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark ``text`` for the translation catalogue without translating it here."""
    return text


FIELD_LABELS: dict[str, str] = {
    "base_price": N_("基准价格（报价/估值）"),
    "fee_form": N_("付费方式"),
    "entry_fee": N_("入门费"),
    "free_window_months": N_("免费使用期"),
    "free_window_max_months": N_("免费使用期上限"),
    "free_window_until_first_revenue": N_("免费期延至首笔销售收入"),
    "milestones": N_("里程碑支付"),
    "royalty_base": N_("提成基数"),
    "royalty_rate": N_("提成比例"),
    "annual_minimum": N_("年度最低提成"),
    "annual_cap": N_("年度提成上限"),
    "deferred_schedule": N_("延期支付计划"),
    "conversion_price": N_("后转价格（转为转让的价格）"),
    "conversion_opens_on": N_("后转选择权起始日"),
    "conversion_closes_on": N_("后转选择权截止日"),
    "conversion_credit_paid_fees": N_("已付许可费抵扣转让价款"),
    "exclusivity": N_("许可方式"),
    "territory": N_("许可地域"),
    "start_on": N_("许可起始日"),
    "end_on": N_("许可截止日"),
    "risk_instrument": N_("履约风险分担方式"),
    "risk_coverage": N_("风险保障金额"),
    "risk_provider": N_("担保/保险机构"),
    "exit_free_in_window": N_("免费期内可无偿退出"),
    "termination_notice_days": N_("解除通知期"),
    "cure_days": N_("违约补救期"),
    "team_income_share": N_("成果完成团队收益分配比例"),
    "broker_reward_share": N_("技术经纪人奖励比例（占服务补助）"),
    "notice_required": N_("协议定价须公示"),
    "notice_days": N_("公示期"),
    "pricing_method": N_("定价方式"),
    "equity_value": N_("作价金额（出资额）"),
    "equity_share_bps": N_("折合持股比例"),
    # Derived quantities that rules can bound.
    "milestone_total": N_("里程碑支付合计"),
    "deferred_total": N_("延期支付合计"),
    "fixed_fee_total": N_("固定费用合计"),
    "contract_amount": N_("合同成交额"),
    "term_months": N_("许可期限"),
    "conversion_window_months": N_("后转选择权期限"),
    "instalment_count": N_("延期支付期数"),
    "licensee_is_sme": N_("被许可方为中小企业"),
}

ENUM_LABELS: dict[str, dict[str, str]] = {
    "fee_form": {
        "milestone_royalty": N_("零门槛费＋里程碑支付＋收入提成"),
        "deferred": N_("延期支付"),
        "royalty": N_("入门费＋收入提成"),
        "lump_sum": N_("一次性支付"),
        "equity": N_("以成果作价出资、取得股权"),
    },
    "royalty_base": {"net_sales": N_("净销售额"), "profit": N_("利润"), "none": N_("不提成")},
    "exclusivity": {
        "ordinary": N_("普通许可"),
        "sole": N_("排他许可"),
        "exclusive": N_("独占许可"),
    },
    "risk_instrument": {"guarantee": N_("担保"), "insurance": N_("保险"), "none": N_("无")},
    "pricing_method": {
        "negotiated": N_("协议定价"),
        "listed": N_("挂牌交易"),
        "auction": N_("拍卖"),
    },
    "milestone_event": {
        "pilot_done": N_("中试完成"),
        "first_unit": N_("首台（套）产品交付"),
        "first_revenue": N_("取得首笔销售收入"),
        "revenue_at_least": N_("累计销售收入达到约定额"),
    },
    "scenario": {"low": N_("保守情景"), "base": N_("基准情景"), "high": N_("乐观情景")},
}

UNIT_LABELS: dict[str, str] = {
    "fen": N_("元"),
    "bps": "%",
    "bps_of_price": N_("% （占基准价格）"),
    "months": N_("个月"),
    "years": N_("年"),
    "days": N_("日"),
    "count": N_("期"),
    "date": N_("日期"),
    "bool": N_("是/否"),
    "enum": N_("选项"),
    "text": N_("文本"),
}

SOURCE_KIND_LABELS: dict[str, str] = {
    "rule": N_("政策规则"),
    "default": N_("实践默认值"),
    "edit": N_("人工修改"),
    "fact": N_("成果信息"),
    "core": N_("平台校验"),
}
