#!/usr/bin/env python3
"""Generates the demo data under data/demo/: about fifty made-up applicants in Shenyang's
districts and Liaocheng's counties, each with events spread over 2020-2023, one
`kechuang/eval-input/v1` file per applicant (so `kechuang eval --input` runs on any of them).

Deterministic (fixed seed): re-running it rewrites the same files. Names are invented; the
统一社会信用代码 are well-formed with correct check characters (GB 32100-2015 for the whole
code, GB 11714-1997 for the organisation code inside it). Run from the repository root:

    python3 scripts/gen_demo.py
"""
import json
import os
import random

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def org_check(body8):
    """GB 11714: the 9th character of the organisation code."""
    def val(c):
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10
    r = 11 - sum(val(c) * w for c, w in zip(body8, ORG_WEIGHTS)) % 11
    return "X" if r == 10 else ("0" if r == 11 else str(r))


def uscc(prefix2, region6, rng):
    body8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY".replace("I", "")) for _ in range(8))
    body8 = body8.replace("O", "0").replace("S", "5").replace("V", "W").replace("Z", "2")
    code17 = prefix2 + region6 + body8 + org_check(body8)
    r = 31 - sum(USCC_CHARS.index(c) * w for c, w in zip(code17, USCC_WEIGHTS)) % 31
    return code17 + USCC_CHARS[0 if r == 31 else r]


SHENYANG = {
    "heping": "210102", "shenhe": "210103", "dadong": "210104", "huanggu": "210105",
    "tiexi": "210106", "sujiatun": "210111", "hunnan": "210112", "shenbei": "210113",
    "yuhong": "210114", "liaozhong": "210115", "kangping": "210123", "faku": "210124",
    "xinmin": "210181",
}
LIAOCHENG = {
    "dongchangfu": "371502", "chiping": "371503", "yanggu": "371521", "shenxian": "371522",
    "donge": "371524", "guanxian": "371525", "gaotang": "371526", "linqing": "371581",
}
SY_PLACES = {"heping": "和平", "shenhe": "沈河", "dadong": "大东", "huanggu": "皇姑", "tiexi": "铁西",
             "sujiatun": "苏家屯", "hunnan": "浑南", "shenbei": "沈北", "yuhong": "于洪", "liaozhong": "辽中",
             "kangping": "康平", "faku": "法库", "xinmin": "新民"}
LC_PLACES = {"dongchangfu": "东昌府", "chiping": "茌平", "yanggu": "阳谷", "shenxian": "莘县", "donge": "东阿",
             "guanxian": "冠县", "gaotang": "高唐", "linqing": "临清"}
WORDS = ["星河", "瑞科", "华锐", "启明", "北辰", "远航", "恒拓", "智源", "博睿", "天衡", "中科", "新材",
         "精工", "云图", "青禾", "金桥", "海川", "鼎盛", "泰和", "联创", "宏图", "卓越", "盛世", "汇智",
         "安泰", "隆基", "润泽", "明德", "兴业", "力拓"]
TRADES = ["精密机械", "智能装备", "生物医药", "新材料", "软件技术", "机器人", "电子科技", "检测技术",
          "环保科技", "医疗器械", "化工科技", "数控技术", "信息技术", "农业科技", "汽车零部件"]


def money(rng, lo, hi, step=100):
    return "%.2f" % (rng.randrange(lo // step, hi // step) * step)


def date(rng, year, lo_month=1, hi_month=12):
    m = rng.randint(lo_month, hi_month)
    d = rng.randint(1, 28)
    return "%04d-%02d-%02d" % (year, m, d)


def enterprise_events(rng, region_city, n):
    events = []
    for i in range(n):
        year = rng.choice([2020, 2021, 2022, 2023])
        kind = rng.choice(["cert", "rd", "loan", "voucher", "contract", "lease"] if region_city == "liaocheng"
                          else ["cert", "cert", "rd", "loan", "voucher"])
        eid = "e%d" % (i + 1)
        if kind == "cert":
            cert = rng.choice(["tech_sme", "high_tech", "gazelle_provincial", "little_giant"])
            events.append({"id": eid, "kind": "certified", "date": date(rng, year), "cert": cert, "first": rng.random() < 0.8})
        elif kind == "rd":
            events.append({"id": eid, "kind": "rd_project_invested", "date": date(rng, year),
                           "field": rng.choice(["smart_system", "smart_product", "smart_line", "smart_factory", "other_field"]),
                           "rd_investment": money(rng, 500_000, 45_000_000, 1000)})
        elif kind == "loan":
            events.append({"id": eid, "kind": "ip_pledge_loan_costs_paid", "date": date(rng, year),
                           "interest": money(rng, 20_000, 260_000), "appraisal_fee": money(rng, 2_000, 20_000),
                           "guarantee_fee": money(rng, 0, 30_000)})
        elif kind == "voucher":
            events.append({"id": eid, "kind": "voucher_service_purchased", "date": date(rng, year),
                           "service_amount": money(rng, 10_000, 400_000),
                           "provider_region": rng.choice(list(SHENYANG) if region_city == "shenyang" else list(LIAOCHENG)),
                           "via_platform": rng.random() < 0.85})
        elif kind == "contract":
            ct = rng.choice(["tech_development", "tech_transfer", "tech_consulting", "tech_service"])
            events.append({"id": eid, "kind": "contract_registered", "date": date(rng, year), "contract_type": ct,
                           "amount": money(rng, 100_000, 30_000_000, 1000), "activity": "HT-%d-%04d" % (year, rng.randint(1, 9999)),
                           "item": "项目%03d" % rng.randint(1, 40), "local_conversion": rng.random() < 0.7})
        else:
            events.append({"id": eid, "kind": "instrument_lease_year", "date": date(rng, year),
                           "lease_fee": money(rng, 100_000, 6_000_000), "external_test_fees": money(rng, 50_000, 3_000_000),
                           "service_good": rng.random() < 0.8})
    return events


def main():
    rng = random.Random(20261123)
    out_dir = os.path.join(os.path.dirname(__file__), "..", "data", "demo")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith(".json"):
            os.remove(os.path.join(out_dir, f))
    plan = ([("shenyang", "enterprise")] * 22 + [("shenyang", "university")] * 3 + [("shenyang", "research_institute")] * 2
            + [("shenyang", "tech_transfer_institution"), ("shenyang", "contract_registration_institution"), ("shenyang", "rural_st_team")]
            + [("liaocheng", "enterprise")] * 12 + [("liaocheng", "university")] * 2 + [("liaocheng", "service_institution")] * 3
            + [("liaocheng", "incubator"), ("liaocheng", "industrial_park"), ("liaocheng", "research_institute")])
    used_names = set()
    for n, (city, kind) in enumerate(plan, start=1):
        regions = SHENYANG if city == "shenyang" else LIAOCHENG
        places = SY_PLACES if city == "shenyang" else LC_PLACES
        region = rng.choice(sorted(regions))
        city_zh = "沈阳" if city == "shenyang" else "聊城"
        while True:
            word = rng.choice(WORDS)
            if kind == "enterprise":
                name = "%s%s%s有限公司" % (city_zh, word, rng.choice(TRADES))
            elif kind == "university":
                name = "%s%s大学" % (city_zh, word)
            elif kind == "research_institute":
                name = "%s%s研究院" % (city_zh, word)
            elif kind == "service_institution":
                name = "%s%s科技服务有限公司" % (places[region], word)
            elif kind == "tech_transfer_institution":
                name = "%s%s技术转移中心" % (city_zh, word)
            elif kind == "contract_registration_institution":
                name = "%s区技术合同登记站" % places[region]
            elif kind == "rural_st_team":
                name = "%s农村科技特派团" % places[region]
            elif kind == "incubator":
                name = "%s%s科技企业孵化器有限公司" % (places[region], word)
            else:
                name = "%s%s产业园区管理有限公司" % (places[region], word)
            if name not in used_names:
                used_names.add(name)
                break
        prefix = "91" if kind in ("enterprise", "service_institution", "incubator", "industrial_park") else (
            "12" if kind in ("university", "research_institute") else "52")
        applicant = {"id": uscc(prefix, regions[region], rng), "name": name, "kind": kind, "region": region}
        events = []
        if kind == "enterprise":
            applicant["size"] = rng.choice(["large", "medium", "medium", "small", "small", "small", "micro"])
            certs = []
            if rng.random() < 0.6:
                certs.append({"cert": "tech_sme", "date": date(rng, rng.choice([2019, 2020, 2021]))})
            if rng.random() < 0.3:
                certs.append({"cert": "high_tech", "date": date(rng, rng.choice([2019, 2020]))})
            applicant["certifications"] = certs
            applicant["figures"] = {str(y): {"rd_investment": money(rng, 200_000, 30_000_000, 1000),
                                             "revenue": money(rng, 2_000_000, 900_000_000, 10_000)} for y in (2020, 2021, 2022)}
            events = enterprise_events(rng, city, rng.randint(2, 5))
        elif kind in ("university", "research_institute"):
            for i in range(rng.randint(2, 4)):
                year = rng.choice([2020, 2021, 2022, 2023])
                if city == "shenyang":
                    # One service base per host (the reward is keyed per base and year).
                    events.append({"id": "e%d" % (i + 1), "kind": "service_base_graded", "date": date(rng, year, 3, 6),
                                   "base": "分析测试中心",
                                   "grade": rng.choice(["excellent", "good", "qualified"]), "assessment_year": year - 1})
                else:
                    ct = rng.choice(["tech_development", "tech_transfer", "tech_service"])
                    events.append({"id": "e%d" % (i + 1), "kind": "contract_registered", "date": date(rng, year), "contract_type": ct,
                                   "amount": money(rng, 200_000, 25_000_000, 1000), "activity": "HT-%d-%04d" % (year, rng.randint(1, 9999)),
                                   "item": "成果%03d" % rng.randint(1, 20), "local_conversion": True})
        elif kind == "tech_transfer_institution":
            for i, year in enumerate([2021, 2022, 2023]):
                events.append({"id": "e%d" % (i + 1), "kind": "transfer_demo_institution_graded", "date": date(rng, year, 3, 5),
                               "grade": rng.choice(["excellent", "good"]), "assessment_year": year - 1})
        elif kind == "contract_registration_institution":
            for i, year in enumerate([2021, 2022, 2023]):
                events.append({"id": "e%d" % (i + 1), "kind": "contract_registration_volume", "date": date(rng, year + 1 if year < 2023 else year, 1, 3),
                               "registration_year": year, "registered_volume": money(rng, 50_000_000, 900_000_000, 10_000)})
        elif kind == "rural_st_team":
            events.append({"id": "e1", "kind": "rural_team_recognized", "date": date(rng, 2022)})
        elif kind == "service_institution":
            for i, year in enumerate([2021, 2022, 2023]):
                events.append({"id": "e%d" % (i + 1), "kind": "voucher_service_delivered", "date": date(rng, year, 10, 12),
                               "contract_amount": money(rng, 500_000, 12_000_000)})
            events.append({"id": "e4", "kind": "provincial_service_award_received", "date": date(rng, 2022),
                           "provincial_award": money(rng, 50_000, 300_000, 10_000)})
        else:
            for i, year in enumerate([2021, 2022]):
                events.append({"id": "e%d" % (i + 1), "kind": "instrument_lease_year", "date": date(rng, year, 11, 12),
                               "lease_fee": money(rng, 200_000, 5_000_000), "external_test_fees": money(rng, 100_000, 2_000_000),
                               "service_good": True})
        doc = {"schema": "kechuang/eval-input/v1", "as_of": "2023-12-31", "applicant": applicant,
               "events": sorted(events, key=lambda e: e["date"]), "history": []}
        fname = "%02d-%s-%s.json" % (n, city, kind.replace("_", "-"))
        with open(os.path.join(out_dir, fname), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=2)
            f.write("\n")
    print("wrote %d applicants to data/demo/" % len(plan))


if __name__ == "__main__":
    main()
