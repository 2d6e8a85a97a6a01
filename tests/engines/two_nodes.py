"""Run by test_two_nodes.py in its own process: a two-node Ray cluster on this machine (ray.cluster_utils.Cluster:
a head and a worker node, one CPU each, on the loopback address), joined through RAY_ADDRESS as a user would, and
ingest, styles' assignment and forecasting on it compared with the local engine. Prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "forecast"), str(HERE)]


def main(folder: Path) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    # Both nodes on this machine's own address. Pinning them to 127.0.0.1 (node_ip_address) hung the cluster's
    # start here (Ray 2.60 in this container), so the nodes take the address Ray picks for the host.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address  # trendgan.engines joins it, as `export RAY_ADDRESS=...` would
    out = {"address": cluster.address}
    try:
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        out["nodes"] = sum(node["Alive"] for node in ray.nodes())

        @ray.remote(num_cpus=1)
        def where():
            time.sleep(0.5)
            return ray.get_runtime_context().get_node_id()

        out["nodes_used"] = len(set(ray.get([where.remote() for _ in range(4)])))
        ray.shutdown()  # the stages below connect through RAY_ADDRESS themselves
        for check in (lambda: check_ingest(folder), check_styles, check_forecast):
            out.update(check())
            print(out, file=sys.stderr, flush=True)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    return out


def check_ingest(folder: Path) -> dict:
    from test_ingest_ray import catalog, counts, scraped_folder

    from trendgan.ingest import ingest
    from trendgan.store import Store

    pics = scraped_folder(folder / "scraped")
    local_store, ray_store = Store(folder / "local"), Store(folder / "ray")
    local = ingest([pics.root], store=local_store, workers=1, batch_size=4)
    on_ray = ingest([pics.root], store=ray_store, engine="ray", batch_size=4)
    return {"ingest_new": on_ray.new, "ingest_same": counts(local) == counts(on_ray)
            and catalog(local_store) == catalog(ray_store)}


def check_styles() -> dict:
    from trendgan.styles import nearest_style
    from trendgan.styles.cluster import normalise

    rng = np.random.default_rng(1)
    vectors, centroids = normalise(rng.normal(size=(20_000, 32))), normalise(rng.normal(size=(9, 32)))
    local = nearest_style(vectors, centroids, chunk_size=2048)
    on_ray = nearest_style(vectors, centroids, chunk_size=2048, engine="ray")
    return {"styles_same": bool(np.array_equal(local[0], on_ray[0]) and np.allclose(local[1], on_ray[1], atol=1e-6))}


def check_forecast() -> dict:
    import pandas as pd
    from test_forecast_ray import many_styles

    from trendgan.forecast.core import forecast_frame

    series = many_styles(n_styles=10)
    options = dict(horizon=6, models=("snaive", "theta", "ensemble"), backtest_windows=2, period="W")
    local = forecast_frame(series, n_jobs=1, **options)
    on_ray = forecast_frame(series, engine="ray", **options)
    same = True
    for name in ("forecasts", "labels", "backtests"):
        try:
            pd.testing.assert_frame_equal(getattr(local, name), getattr(on_ray, name), check_exact=False, rtol=1e-9)
        except AssertionError:
            same = False
    return {"forecast_same": same}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
