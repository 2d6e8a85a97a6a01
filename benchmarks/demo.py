"""Time `trendgan demo` stage by stage and score how well it recovered the simulated truth; prints one JSON object.

    python benchmarks/demo.py --quick                  # smaller corpus, short GAN run
    python benchmarks/demo.py                          # the full demo, as `trendgan demo` runs it
    python benchmarks/demo.py --set styles.k=8         # any demo setting (see pipelines/demo.toml)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the demo's --quick settings")
    parser.add_argument("--store", help="store folder (default: a fresh temporary one, so every stage runs)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="override a demo setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from trendgan.console import set_quiet
    from trendgan.demo import run_demo

    set_quiet(True)
    with tempfile.TemporaryDirectory(prefix="trendgan-demo-bench-") as scratch:
        store = args.store or os.path.join(scratch, "store")
        started = time.perf_counter()
        result = run_demo(store=store, quick=args.quick, seed=args.seed, overrides=args.overrides)
        seconds = time.perf_counter() - started
        recovery = result.recovery
        by_trend = {trend: bool(group["match"].all()) for trend, group in recovery.groupby("true_trend")}
        print(json.dumps({
            "benchmark": "demo",
            "quick": args.quick,
            "overrides": args.overrides,
            "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "seconds_total": round(seconds, 1),
            "seconds_by_stage": {s.stage: s.seconds for s in result.pipeline.stages},
            "simulated_styles": len(recovery),
            "labels_recovered": round(result.labels_recovered, 3),
            "recovered_by_true_trend": by_trend,
            "mean_share_mae": _mean(recovery["share_mae"]),
            "mean_forecast_mae": _mean(recovery["forecast_mae"]),
            "recovery": json.loads(recovery.to_json(orient="records")),
        }, indent=1))
    print(f"demo took {seconds / 60:.1f} min", file=sys.stderr)


def _mean(column) -> float | None:
    values = column.dropna()
    return round(float(values.mean()), 4) if len(values) else None


if __name__ == "__main__":
    main()
