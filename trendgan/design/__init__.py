"""Designs for people: restyle a garment toward a style, image or prompt, and render designs from a person's taste.

    from trendgan.design import restyle, design_for
    restyle(store, "my-coat.jpg", to="quilted puffers", strength=0.7)
    design_for(store, liked=["a.jpg", "b.jpg"], trend_weight=0.3)

Both write ``designs/<run>/``: PNGs, ``index.json`` (inputs, targets, scores) for the report, and ``config.json``.
"""

from trendgan.design.personal import DesignResult, TrendDirection, design_for, person_taste, trend_direction
from trendgan.design.quality import structural_similarity
from trendgan.design.restyle import RestyleResult, restyle
from trendgan.design.targets import Target, resolve_target



def render_trends(store, forecast_run=None, top: int = 5, per_style: int = 8, seed: int = 0, **kwargs):
    """Renders of the styles forecast to trend: the gan stage's ``render``, so ``trendgan.render_trends`` works."""
    from trendgan.gan import render

    return render(store, forecast_run=forecast_run, top=top, per_style=per_style, seed=seed, **kwargs)


__all__ = [
    "DesignResult",
    "RestyleResult",
    "Target",
    "TrendDirection",
    "design_for",
    "person_taste",
    "render_trends",
    "resolve_target",
    "restyle",
    "structural_similarity",
    "trend_direction",
]
