"""行政区划代码 (GB/T 2260) for the 技术合同登记 record: every province-level division, and the
prefecture-level cities of 广东省 where the seed profiles apply. Unknown places give ''."""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "北京": "110000", "天津": "120000", "河北": "130000", "山西": "140000", "内蒙古": "150000",
    "辽宁": "210000", "吉林": "220000", "黑龙江": "230000", "上海": "310000", "江苏": "320000",
    "浙江": "330000", "安徽": "340000", "福建": "350000", "江西": "360000", "山东": "370000",
    "河南": "410000", "湖北": "420000", "湖南": "430000", "广东": "440000", "广西": "450000",
    "海南": "460000", "重庆": "500000", "四川": "510000", "贵州": "520000", "云南": "530000",
    "西藏": "540000", "陕西": "610000", "甘肃": "620000", "青海": "630000", "宁夏": "640000",
    "新疆": "650000", "台湾": "710000", "香港": "810000", "澳门": "820000",
}  # fmt: skip
GUANGDONG_CITIES: dict[str, str] = {
    "广州": "440100", "韶关": "440200", "深圳": "440300", "珠海": "440400", "汕头": "440500",
    "佛山": "440600", "江门": "440700", "湛江": "440800", "茂名": "440900", "肇庆": "441200",
    "惠州": "441300", "梅州": "441400", "汕尾": "441500", "河源": "441600", "阳江": "441700",
    "清远": "441800", "东莞": "441900", "中山": "442000", "潮州": "445100", "揭阳": "445200",
    "云浮": "445300",
}  # fmt: skip


def region_code(province: str | None, city: str | None = None) -> str:
    """The most precise code known for a place written in Chinese ("广东省", "珠海市" …)."""
    province, city = _short(province), _short(city)
    if province == "广东" and city in GUANGDONG_CITIES:
        return GUANGDONG_CITIES[city]
    if not province and city in GUANGDONG_CITIES:
        return GUANGDONG_CITIES[city]
    return PROVINCES.get(province, "")


def _short(name: str | None) -> str:
    name = (name or "").strip()
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
