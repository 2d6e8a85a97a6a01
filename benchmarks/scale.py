"""Local vs Ray at growing sizes: style assignment, ingest and forecasting, so the growth per stage is visible.

Each (stage, engine, size) runs in a fresh Python process, so its peak memory is its own; Ray runs join one Ray
instance the benchmark starts first (as a user joins a running cluster through RAY_ADDRESS), so Ray's start-up is
not counted. Peak memory is the driver's (the process running the stage); Ray's workers and object store are not in
it. Prints one JSON object on stdout: per stage and size, seconds and peak memory for each engine, the cost per
item and per million items, and the Ray/local time ratio; progress goes to stderr.

- styles: N simulated unit vectors (512-d, 50 styles, dated over 104 weeks) assigned to their nearest centroid,
  their distance to it measured (``nearest_style``, ``distance_to_style``: the passes ``--engine ray`` runs in Ray
  tasks, chunks of 65,536 as the stage uses) and the weekly series counted from the assignments on the driver.
- ingest: N small generated images (64 px, PNG and JPEG, in dated folders) ingested into a fresh store.
- forecast: N simulated weekly share series (156 weeks) through ``forecast_frame`` with the default models,
  backtests and trend calls; the Ray engine fits the series and final calls in Ray tasks.

    python benchmarks/scale.py --quick                 # a minute or two: the smallest size of each stage
    python benchmarks/scale.py                         # styles 1e4..1e6, ingest 1e4..1e5, forecast 1e3..1e5
    python benchmarks/scale.py --styles 10000,100000 --ingest 10000 --forecast 1000,10000 --cpus 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIM, STYLES, WEEKS = 512, 50, 104


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()] if text else []


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", default="1e4,1e5,1e6", help="vector counts for style assignment")
    parser.add_argument("--ingest", default="1e4,3e4,1e5", help="image counts for ingest")
    parser.add_argument("--forecast", default="1e3,1e4,1e5", help="series counts for forecasting")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--quick", action="store_true", help="only the smallest size of each stage")
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs of the Ray instance (default: all)")
    parser.add_argument("--workdir", type=Path, default=None, help="where images and stores go (default: a temp dir)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one run may take before it is recorded as such")
    parser.add_argument("--one", nargs=3, metavar=("STAGE", "ENGINE", "N"), help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args(argv)
    if args.quick:
        args.styles, args.ingest, args.forecast = "1e4", "2e3", "1e3"
    return args


# --------------------------------------------------------------------------------------- one run (child process)


def peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def run_styles(n: int, engine: str, workdir: Path) -> dict:
    import numpy as np
    import pandas as pd

    from trendgan.styles.cluster import nearest_style, normalise
    from trendgan.styles.series import style_series
    from trendgan.styles.stage import distance_to_style

    rng = np.random.default_rng(0)
    centroids = normalise(rng.normal(size=(STYLES, DIM)))
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # looks around the centroids, made in slices to keep memory flat
        part = rng.integers(0, STYLES, size=min(100_000, n - start))
        vectors[start:start + len(part)] = centroids[part] + rng.normal(0, 0.05, (len(part), DIM)).astype(np.float32)
    vectors = normalise(vectors)
    periods = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, WEEKS, n) * 7, unit="D")
    started = time.perf_counter()
    labels, _ = nearest_style(vectors, centroids, 65_536, engine)
    distance = distance_to_style(vectors, labels, centroids, 65_536, engine)
    assigned = time.perf_counter()
    series = style_series(pd.DataFrame({"style_id": labels, "period": periods}), "W")
    done = time.perf_counter()
    return {"seconds": done - started, "assign_seconds": assigned - started, "series_seconds": done - assigned,
            "series_rows": len(series), "check": float(np.nanmean(distance))}


def run_ingest(n: int, engine: str, workdir: Path) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ingest import generate  # the ingest benchmark's garment pictures

    from trendgan.ingest import ingest
    from trendgan.store import Store

    images = workdir / f"images-{n}"
    if not (images / ".complete").exists():
        log(f"  generating {n:,} images in {images}")
        generate(images, n, 64, 0)
        (images / ".complete").write_text("")
    store = Store(workdir / f"store-{engine}-{n}-{time.time_ns()}")
    started = time.perf_counter()
    result = ingest([images], store=store, engine=engine, near_duplicate_distance=-1)
    return {"seconds": time.perf_counter() - started, "new": result.new, "rejected": result.rejected_total}


def simulated_series(n: int, weeks: int = 156, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    level = rng.uniform(0.2, 1.0, (n, 1))
    slope = rng.normal(0, 0.004, (n, 1))
    season = rng.uniform(0, 0.3, (n, 1)) * np.sin(2 * np.pi * (t + rng.integers(0, 52, (n, 1))) / 52)
    raw = np.clip(level * (1 + slope * t + season) + rng.normal(0, 0.03, (n, weeks)), 1e-3, None)
    shares = raw / raw.sum(axis=0, keepdims=True)
    totals = 20 * n
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(n), weeks),
        "ds": np.tile(pd.date_range("2022-01-03", periods=weeks, freq="7D").to_numpy(), n),
        "y": shares.ravel(), "count": np.round(shares.ravel() * totals), "total": totals,
    })


def run_forecast(n: int, engine: str, workdir: Path) -> dict:
    from trendgan.forecast.core import forecast_frame

    series = simulated_series(n)
    started = time.perf_counter()
    result = forecast_frame(series, 13, period="W", engine=engine)
    return {"seconds": time.perf_counter() - started, "series": int(len(result.labels)),
            "failures": int(len(result.failures))}


RUNS = {"styles": run_styles, "ingest": run_ingest, "forecast": run_forecast}


def child(stage: str, engine: str, n: int, workdir: Path) -> None:
    if engine == "ray":
        import ray

        ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False, logging_level="ERROR")
    out = RUNS[stage](n, engine, workdir)
    out["peak_rss_mib"] = peak_mib()
    print(json.dumps(out))


# --------------------------------------------------------------------------------------- the benchmark (parent)


def measure(stage: str, engine: str, n: int, workdir: Path, env: dict, timeout: int) -> dict:
    command = [sys.executable, __file__, "--one", stage, engine, str(n), "--workdir", str(workdir)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.one:
        stage, engine, n = args.one
        child(stage, engine, int(n), args.workdir)
        return {}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    plan = {"styles": sizes(args.styles), "ingest": sizes(args.ingest), "forecast": sizes(args.forecast)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    report = {"benchmark": "scale", "cpus": os.cpu_count(), "ray_cpus": args.cpus if "ray" in engines else None,
              "load_before": load(), "stages": {}}
    cluster = None
    with tempfile.TemporaryDirectory(prefix="trendgan-scale-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            if "ray" in engines:
                from ray.cluster_utils import Cluster

                started = time.perf_counter()
                cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus, "include_dashboard": False})
                env["RAY_ADDRESS"] = cluster.address
                report["ray_start_seconds"] = round(time.perf_counter() - started, 1)
            for stage, counts in plan.items():
                rows = []
                for n in counts:
                    row = {"n": n}
                    for engine in engines:
                        log(f"{stage} {engine} n={n:,} (load {load()})")
                        result = measure(stage, engine, n, workdir, env, args.timeout)
                        if "seconds" in result:
                            result["us_per_item"] = round(result["seconds"] / n * 1e6, 2)
                            result["seconds_per_million"] = round(result["seconds"] / n * 1e6, 1)
                            result["seconds"] = round(result["seconds"], 3)
                        result["load_1min"] = load()[0]
                        row[engine] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}
                    if all("seconds" in row.get(e, {}) for e in ("local", "ray")):
                        row["ray_over_local"] = round(row["ray"]["seconds"] / row["local"]["seconds"], 2)
                    rows.append(row)
                    log(f"  {json.dumps(row)}")
                report["stages"][stage] = rows
        finally:
            if cluster is not None:
                cluster.shutdown()
    report["load_after"] = load()
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
