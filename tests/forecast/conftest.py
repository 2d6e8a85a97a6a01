"""Makes the simulated-series helpers (forecast_sim.py) importable under pytest's importlib mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
