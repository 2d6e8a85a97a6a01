"""The report in a real browser: headless Chromium renders every chart, logs no errors and runs no injected script."""

import shutil
from pathlib import Path

import pytest

from trendgan.report import write_report

pytestmark = pytest.mark.browser

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def chromium_binary() -> str | None:
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _skip_or_fail(reason: str):
    """Skip where a browser is optional; fail in CI (TRENDGAN_REQUIRE_BROWSER=1), where a skip would hide that the
    report was never opened in a browser."""
    import os

    if os.environ.get("TRENDGAN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and TRENDGAN_REQUIRE_BROWSER=1 (CI) requires the browser test to run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        _skip_or_fail("no Chromium binary found (install Debian's `chromium` to run the browser test)")
    try:
        from playwright import sync_api
    except ImportError:
        _skip_or_fail("the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def open_report(browser, path: Path):
    page = browser.new_page()
    problems, dialogs, requests = [], [], []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url) if not request.url.startswith(("file:", "data:")) else None)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    return page, problems, dialogs, requests


def test_report_renders_all_charts_without_errors(browser, full_store, tmp_path, synthetic):
    out = write_report(full_store, tmp_path / "report.html")
    page, problems, dialogs, requests = open_report(browser, out)
    assert page.locator(".js-plotly-plot").count() == 6
    assert page.locator(".js-plotly-plot .main-svg").count() >= 6
    assert page.locator("#trend-chart .legend .traces").count() == 4  # one legend entry per style
    assert problems == []
    assert dialogs == []  # the alert() in a style name and caption never ran
    assert requests == []  # the page fetched nothing
    # The bait is shown as text: in the leaderboard table and in the chart legend.
    assert synthetic.BAIT in page.locator("#leaderboards").inner_text()
    assert synthetic.BAIT in page.locator("#trend-chart .legend").text_content()
    # The style map shows every image; its slider picks out one period's images.
    assert page.locator("#style-map .scatterlayer .point").count() == 41
    page.evaluate("Plotly.restyle('style-map', document.getElementById('style-map').layout.sliders[0].steps[1].args[0])")
    picked = page.evaluate("document.getElementById('style-map').data.reduce((n, t) => n + (t.selectedpoints || []).length, 0)")
    assert picked == 4  # one image per style in the first week (the synthetic map puts image k in week k % 12)
    # Clicking a style in the legend hides both of its traces (history and forecast; its bands are in its panel).
    page.locator("#trend-chart .legend .legendtoggle").first.click()
    page.wait_for_timeout(1000)  # plotly waits out its double-click delay
    hidden = page.evaluate("document.getElementById('trend-chart').data.filter(t => t.visible === 'legendonly').length")
    assert hidden == 2
    # One panel per style, each titled with the style's call and expected change.
    titles = page.evaluate("document.getElementById('style-panels').layout.annotations.map(a => a.text)")
    assert len(titles) == 4 and "expected +80%" in titles[0]
    assert problems == []
    page.close()


def test_report_after_ingest_only_opens_cleanly(browser, ingest_only_store, tmp_path):
    out = write_report(ingest_only_store, tmp_path / "report.html")
    page, problems, dialogs, _ = open_report(browser, out)
    assert "Not run yet" in page.locator("#trends").inner_text()
    assert problems == [] and dialogs == []
    page.close()
