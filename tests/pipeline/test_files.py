from pathlib import Path

import pytest

from trendgan.config import load_toml
from trendgan.demo import DEMO_PIPELINE
from trendgan.pipeline import STAGE_ORDER, STAGES

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"


def test_demo_toml_is_the_built_in_demo():
    assert load_toml(PIPELINES / "demo.toml") == DEMO_PIPELINE


@pytest.mark.parametrize("name", ["demo.toml", "weekly.toml"])
def test_shipped_pipelines_name_only_known_stages_in_order(name):
    pipeline = load_toml(PIPELINES / name)
    stages = [t for t in pipeline if t in STAGES]
    assert stages == [s for s in STAGE_ORDER if s in stages]
    assert set(pipeline) - set(stages) <= {"store", "pipeline"}
