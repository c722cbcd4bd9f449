"""Prints the side-by-side table of bench/openfisca/run.sh from the two sides' outputs.

    python compare.py WORK_DIR

WORK_DIR holds kc.json / of.json (timings, one JSON line each) and kc.csv / of.csv (each
applicant's amount per measure in fen, same rows in the same order).
"""

import json
import sys

import numpy as np


def main():
    work = sys.argv[1]
    kc = json.load(open(f"{work}/kc.json"))
    of = json.load(open(f"{work}/of.json"))
    a = np.loadtxt(f"{work}/kc.csv", delimiter=",", skiprows=1, usecols=range(1, 8), dtype=np.int64)
    b = np.loadtxt(f"{work}/of.csv", delimiter=",", skiprows=1, usecols=range(1, 8), dtype=np.int64)
    assert a.shape == b.shape, (a.shape, b.shape)
    n = kc["applicants"]
    rows = n * kc["formulas"]
    measures = a[:, :6]
    differ = int((measures != b[:, :6]).sum())
    awards = int(((measures != 0) | (b[:, :6] != 0)).sum())
    district = int((a[:, 6] != b[:, 6]).sum())
    total_kc, total_of = int(kc["total_fen"]), int(of["total_fen"])

    def rate(s):
        return rows / s if s > 0 else float("inf")

    lines = [
        ("", "kechuang", "OpenFisca", "kechuang speed-up"),
        (
            "calculation, formula-rows/s (one thread)",
            f"{rate(kc['calc_s']):,.0f}",
            f"{rate(of['calc_s']):,.0f}",
            f"{of['calc_s'] / kc['calc_s']:.2f}×",
        ),
        (
            "  seconds",
            f"{kc['calc_s']:.3f}",
            f"{of['calc_s']:.3f}",
            "",
        ),
        (
            "  CPU seconds (a shared machine slows the clock)",
            f"{kc.get('calc_cpu_s', float('nan')):.3f}",
            f"{of.get('calc_cpu_s', float('nan')):.3f}",
            f"{of.get('calc_cpu_s', float('nan')) / kc.get('calc_cpu_s', float('nan')):.2f}×",
        ),
        (
            "end to end from the CSV file, formula-rows/s",
            f"{rate(kc['end_to_end_s']):,.0f}",
            f"{rate(of['end_to_end_s']):,.0f}",
            f"{of['end_to_end_s'] / kc['end_to_end_s']:.2f}×",
        ),
        (
            "  seconds (read, lay out, calculate)",
            f"{kc['end_to_end_s']:.2f}",
            f"{of['end_to_end_s']:.2f}",
            "",
        ),
        (
            "peak memory, MB",
            f"{kc['peak_rss_kb'] / 1024:,.0f}",
            f"{of['peak_rss_kb'] / 1024:,.0f}",
            "",
        ),
        (
            "grand total, yuan",
            f"{total_kc / 100:,.2f}",
            f"{total_of / 100:,.2f}",
            f"difference {total_of - total_kc:+,} fen",
        ),
        ("money type", "exact decimal (fixed point)", of.get("dtype", "float"), ""),
    ]
    width = [max(len(str(r[i])) for r in lines) for i in range(4)]
    print(f"{n:,} applicants × {kc['formulas']} formulas = {rows:,} formula-rows")
    for r in lines:
        print("  ".join(str(c).ljust(width[i]) for i, c in enumerate(r)).rstrip())
    print(
        f"per-applicant amounts that differ at the fen: {differ:,} of {awards:,} non-zero "
        f"amounts ({100 * differ / max(awards, 1):.2f}%); district shares differing: {district:,}"
    )
    if kc.get("engine_pairs"):
        print(f"(kechuang: {kc['engine_pairs']:,} applicant-measure pairs by the per-applicant engine)")


if __name__ == "__main__":
    main()
