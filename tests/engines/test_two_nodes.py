"""A two-node Ray cluster on the loopback address, started inside the test: the Ray engines give the local results
when their tasks are spread over two nodes (the driver connects through RAY_ADDRESS, as on a real cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.cluster_utils", reason="the [ray] extra is not installed")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_engines_on_a_two_node_cluster(tmp_path):
    # Its own process: a Ray already running in this one (the session fixture) would be joined instead.
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("two_nodes.py")), str(tmp_path)],
                          capture_output=True, text=True, timeout=560, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 2 and result["nodes_used"] == 2, result
    assert result["ingest_new"] == 18 and result["ingest_same"], result
    assert result["styles_same"] and result["forecast_same"], result
