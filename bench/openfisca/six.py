"""OpenFisca's side of the comparison: the same six measures as a small tax-benefit system.

    python six.py POP.csv REGIONS.json AMOUNTS.csv

Reads the population kechuang's generator wrote, computes the six measures with OpenFisca
(money in float32, OpenFisca's float type), and prints timings as one JSON line. Each formula
transcribes the clause and the conditions of the kechuang measure of the same name
(policies/shenyang-2021-11.md, policies/liaocheng-2020-15.md).
"""

import json
import resource
import sys
import time

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.periods import DateUnit
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

YEAR = DateUnit.YEAR
PERIOD = "2023"

Applicant = build_entity(
    key="applicant", plural="applicants", label="申报主体 applicant", is_person=True
)

KINDS = [
    "enterprise",
    "university",
    "research_institute",
    "contract_registration_institution",
    "incubator",
    "industrial_park",
]
TYPES = ["tech_development", "tech_transfer", "tech_consulting", "tech_service"]
GRADES = ["excellent", "good", "qualified"]


def code(names, value):
    return names.index(value)


def input_variable(name, value_type):
    return type(
        name,
        (Variable,),
        {"value_type": value_type, "entity": Applicant, "definition_period": YEAR},
    )


def fen_floor(x):
    # The platform rounds down to the fen; in float32 that is as exact as float32 allows.
    return np.floor(x * 100) / 100


def in_kinds(kind, names):
    return np.isin(kind, [code(KINDS, n) for n in names])


class contract_registration_institution(Variable):
    """沈政发〔2021〕11号 (十八): 技术交易额的0.2‰,最高10万元."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        ok = (applicant("kind", period) == code(KINDS, "contract_registration_institution")) * applicant(
            "in_shenyang", period
        )
        return ok * fen_floor(np.minimum(0.0002 * applicant("reg_volume", period), 100_000))


class tech_sme_first(Variable):
    """沈政发〔2021〕11号 (五): 首次备案的科技型中小企业 2万元."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        ok = (
            (applicant("kind", period) == code(KINDS, "enterprise"))
            * applicant("in_shenyang", period)
            * applicant("cert_first", period)
        )
        return ok * 20_000.0


def contract(applicant, period, types, rate, cap):
    ok = (
        in_kinds(applicant("kind", period), ["enterprise", "university", "research_institute"])
        * applicant("in_liaocheng", period)
        * np.isin(applicant("contract_type", period), [code(TYPES, t) for t in types])
    )
    return ok * fen_floor(np.minimum(rate * applicant("contract_amount", period), cap))


class contract_dev_transfer(Variable):
    """聊政字〔2020〕15号 四(一): 技术开发、技术转让合同 1.5%,最高50万元/年."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        return contract(applicant, period, ["tech_development", "tech_transfer"], 0.015, 500_000)


class contract_consult_service(Variable):
    """聊政字〔2020〕15号 四(一): 技术咨询、技术服务合同 1‰,最高20万元/年."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        return contract(applicant, period, ["tech_consulting", "tech_service"], 0.001, 200_000)


class instrument_lease(Variable):
    """聊政字〔2020〕15号 五(三): 租赁费用10%或服务费用20%取较小额,每年最高50万元."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        ok = (
            in_kinds(applicant("kind", period), ["enterprise", "incubator", "industrial_park"])
            * applicant("in_liaocheng", period)
            * applicant("service_good", period)
        )
        amount = np.minimum(
            0.1 * applicant("lease_fee", period), 0.2 * applicant("test_fees", period)
        )
        return ok * fen_floor(np.minimum(amount, 500_000))


class platform_performance(Variable):
    """沈政发〔2021〕11号 (二): 优秀、良好的分别给予最高100万元、最高50万元."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        ok = in_kinds(
            applicant("kind", period),
            ["enterprise", "university", "research_institute"],
        ) * applicant("in_shenyang", period)
        grade = applicant("grade", period)
        tier = np.select(
            [grade == code(GRADES, "excellent"), grade == code(GRADES, "good")],
            [1_000_000.0, 500_000.0],
            0.0,
        )
        return ok * tier


class district_share(Variable):
    """The 1:1 city/district split of the Shenyang measures (附则): the district's half,
    rounded down to the fen per award; the city takes the remainder."""

    value_type = float
    entity = Applicant
    definition_period = YEAR

    def formula(applicant, period):
        total = 0
        for m in ["contract_registration_institution", "tech_sme_first", "platform_performance"]:
            total = total + fen_floor(applicant(m, period) * 0.5)
        return total


MEASURES = [
    "contract_registration_institution",
    "tech_sme_first",
    "contract_dev_transfer",
    "contract_consult_service",
    "instrument_lease",
    "platform_performance",
]


def system():
    tbs = TaxBenefitSystem([Applicant])
    for name, t in [
        ("kind", int),
        ("in_shenyang", bool),
        ("in_liaocheng", bool),
        ("cert_first", bool),
        ("reg_volume", float),
        ("contract_type", int),
        ("contract_amount", float),
        ("lease_fee", float),
        ("test_fees", float),
        ("service_good", bool),
        ("grade", int),
    ]:
        tbs.add_variable(input_variable(name, t))
    for v in [
        contract_registration_institution,
        tech_sme_first,
        contract_dev_transfer,
        contract_consult_service,
        instrument_lease,
        platform_performance,
        district_share,
    ]:
        tbs.add_variable(v)
    return tbs


def main():
    pop, regions_path, out = sys.argv[1:4]
    start = time.perf_counter()
    regions = json.load(open(regions_path))
    shenyang, liaocheng = set(regions["shenyang"]), set(regions["liaocheng"])
    cols = {}
    with open(pop) as f:
        header = f.readline().strip().split(",")
        raw = [line.rstrip("\n").split(",") for line in f]
    data = dict(zip(header, zip(*raw)))
    ids = data["id"]
    n = len(ids)
    cols["kind"] = np.array([code(KINDS, k) for k in data["kind"]], dtype=np.int32)
    cols["in_shenyang"] = np.array([r in shenyang for r in data["region"]])
    cols["in_liaocheng"] = np.array([r in liaocheng for r in data["region"]])
    cols["cert_first"] = np.array([v == "true" for v in data["cert_first"]])
    cols["service_good"] = np.array([v == "true" for v in data["service_good"]])
    cols["contract_type"] = np.array([code(TYPES, t) for t in data["contract_type"]], dtype=np.int32)
    cols["grade"] = np.array([code(GRADES, g) for g in data["grade"]], dtype=np.int32)
    for c in ["reg_volume", "contract_amount", "lease_fee", "test_fees"]:
        cols[c] = np.array(data[c], dtype=np.float32)
    del raw, data
    loaded = time.perf_counter() - start

    tbs = system()
    sim = SimulationBuilder().build_default_simulation(tbs, count=n)
    for k, v in cols.items():
        sim.set_input(k, PERIOD, v)
    t, cpu = time.perf_counter(), time.process_time()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    results = {m: sim.calculate(m, PERIOD) for m in MEASURES + ["district_share"]}
    # The clock, and the process's CPU time (the machine may be shared).
    calc, calc_cpu = time.perf_counter() - t, time.process_time() - cpu
    # Fresh pages the kernel zeroed during the calculation (kechuang's side prints the same).
    calc_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    end_to_end = time.perf_counter() - start

    fen = {m: np.rint(results[m].astype(np.float64) * 100).astype(np.int64) for m in results}
    total = sum(int(fen[m].sum()) for m in MEASURES)
    with open(out, "w") as f:
        f.write("id," + ",".join(MEASURES) + ",district_share\n")
        table = np.column_stack([fen[m] for m in MEASURES + ["district_share"]])
        for i in range(n):
            f.write(ids[i] + "," + ",".join(str(x) for x in table[i]) + "\n")
    print(
        json.dumps(
            {
                "engine": "openfisca-core",
                "applicants": n,
                "formulas": len(MEASURES),
                "load_s": loaded,
                "calc_s": calc,
                "calc_cpu_s": calc_cpu,
                "calc_minor_faults": calc_faults,
                "end_to_end_s": end_to_end,
                "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "total_fen": str(total),
                "dtype": str(results[MEASURES[0]].dtype),
            }
        )
    )


if __name__ == "__main__":
    main()
