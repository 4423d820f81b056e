"""The UI in a real browser (headless Chromium driven by Playwright): search, open, compare, promote, a refused
move, a change from another process appearing live, a description with ``<script>`` shown as text, the same
actions with JavaScript off, and screenshots of each main page at laptop and phone widths (``docs/screenshots``).

Chromium comes from the distribution (``apt-get install chromium``; ``.ci/run`` installs it). These tests skip,
saying why, only where Playwright or a browser cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_sample import FixedClock, counting_ids, populate

from registry import Registry
from registry.ui import UIServer

# The screenshots in the docs are refreshed only on request (REGISTRY_UPDATE_SCREENSHOTS=1): a test run must not
# leave the checkout changed, and a fresh rendering differs by a few anti-aliased pixels between machines.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    return os.environ.get("REGISTRY_UI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (it is in the test extra: pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it)")
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:  # a browser that cannot start is the same as none
            pytest.skip(f"Chromium at {path} does not start: {exc}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, ui_server: UIServer) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, base_url=ui_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], f"the page's script failed: {errors}"


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect


def wait_live(page: Any) -> None:
    expect()(page.locator("#live")).to_have_class("live on")


def mark(page: Any) -> None:
    """Leave a mark in the page's JavaScript state: it survives only if the page is never reloaded."""
    page.evaluate("window.__noReload = true")


def still_marked(page: Any) -> bool:
    return bool(page.evaluate("window.__noReload === true"))


def test_list_and_search(page: Any) -> None:
    page.goto("/models")
    cards = page.locator(".model-card")
    expect()(cards).to_have_count(3)
    page.fill("#filter", "tags.team = 'risk'")
    page.press("#filter", "Enter")
    expect()(cards).to_have_count(1)
    expect()(cards.first).to_contain_text("fraud-detector")
    expect()(cards.first).to_contain_text("@champion → v1")
    assert "filter=tags.team" in page.url
    page.fill("#filter", "name LIKE")
    page.press("#filter", "Enter")
    expect()(page.locator(".parse-error")).to_be_visible()
    expect()(page.locator(".parse-error")).to_contain_text("LIKE")
    expect()(cards).to_have_count(0)


def test_open_a_model(page: Any) -> None:
    page.goto("/models")
    page.click("text=fraud-detector")
    expect()(page.locator("h1")).to_have_text("fraud-detector")
    expect()(page.locator("table.versions tbody tr")).to_have_count(3)
    row = page.locator("table.versions tbody tr", has_text="v1")
    expect()(row).to_contain_text("Production")
    expect()(row).to_contain_text("@champion")
    link = page.locator("#model .markdown a")
    expect()(link).to_have_attribute("href", "https://example.com/cards/fraud")
    expect()(page.locator(".timeline .event")).to_have_count(9)
    expect()(page.locator(".timeline .event").first).to_contain_text("alias @challenger -> version 2")


def test_compare_two_versions(page: Any) -> None:
    page.goto("/models/fraud-detector")
    form = page.locator("form.compare-form")
    form.locator("select[name=a]").select_option("1")
    form.locator("select[name=b]").select_option("2")
    form.locator("button").click()
    expect()(page.locator("h1")).to_have_text("fraud-detector: v1 and v2")
    assert "compare?a=1&b=2" in page.url
    expect()(page.locator("tr.differs", has_text="auc")).to_contain_text("0.81")
    expect()(page.locator("tr.differs", has_text="auc")).to_contain_text("0.88")
    expect()(page.locator("tr.differs:has(th code:text-is('merchant'))")).to_contain_text("string")
    expect()(page.locator("tr.same:has(th code:text-is('amount'))")).to_contain_text("double")


def test_promote_a_version_and_see_the_change(page: Any, ui_registry: Registry) -> None:
    page.goto("/models/fraud-detector/versions/2")
    wait_live(page)
    mark(page)
    page.select_option("select[name=stage]", "Production")
    page.check("input[name=archive_existing_versions]")
    page.click("button:has-text('Move')")
    expect()(page.locator(".notice-ok")).to_have_text(
        "Moved version 2 from Staging to Production, archiving the other versions in Production."
    )
    expect()(page.locator("#version .badge").first).to_have_text("Production")
    assert ui_registry.get_model_version("fraud-detector", 2).current_stage == "Production"
    assert still_marked(page)  # the script sent the form and swapped the page in: no reload
    page.click(".crumbs >> text=fraud-detector")
    expect()(page.locator("table.versions tbody tr", has_text="v2")).to_contain_text("Production")
    expect()(page.locator("table.versions tbody tr", has_text="v1")).to_contain_text("Archived")


def test_a_refused_transition_shows_the_policy_error(page: Any, ui_registry: Registry) -> None:
    page.goto("/models/fraud-detector/versions/3")
    page.select_option("select[name=stage]", "Production")
    page.click("button:has-text('Move')")
    error = page.locator(".notice-error")
    expect()(error).to_contain_text("Cannot move version 3 of model 'fraud-detector' from stage 'None' to 'Production'")
    expect()(error).to_contain_text("'lifecycle' stage policy")
    expect()(page.locator("#version .badge").first).to_have_text("None")
    assert page.url.endswith("/models/fraud-detector/versions/3")
    assert ui_registry.get_model_version("fraud-detector", 3).current_stage == "None"


def test_a_change_by_another_process_appears_live(page: Any, ui_registry: Registry) -> None:
    page.goto("/models/fraud-detector")
    wait_live(page)
    mark(page)
    code = (
        "import sys; from registry import Registry\n"
        "r = Registry(sys.argv[1], user='ci-bot')\n"
        "r.set_registered_model_alias('fraud-detector', 'canary', 3)\n"
        "r.transition_model_version_stage('fraud-detector', 3, 'Staging')\n"
    )
    subprocess.run([sys.executable, "-c", code, ui_registry.uri], check=True, timeout=60)
    expect()(page.locator("#aliases")).to_contain_text("@canary")
    expect()(page.locator("table.versions tbody tr", has_text="v3")).to_contain_text("Staging")
    expect()(page.locator(".timeline .event").first).to_contain_text("version 3: None -> Staging")
    expect()(page.locator(".timeline .event").first).to_contain_text("ci-bot")
    expect()(page.locator("#toast")).to_contain_text("fraud-detector")
    assert still_marked(page)


def test_live_updates_leave_a_form_being_typed_in_alone(page: Any, ui_registry: Registry) -> None:
    page.goto("/models/fraud-detector")
    wait_live(page)
    page.fill("#aliases input[name=alias]:not([type=hidden])", "half-typed")
    page.focus("#model summary")  # typing stopped and the focus moved on: the typed text must survive
    ui_registry.set_registered_model_alias("fraud-detector", "other", 2)
    expect()(page.locator("#versions")).to_contain_text("@other")  # the rest of the page did update
    assert page.input_value("#aliases input[name=alias]:not([type=hidden])") == "half-typed"


def test_a_description_with_script_is_shown_as_text(page: Any, ui_registry: Registry) -> None:
    page.goto("/models/fraud-detector")
    attack = '<script>window.__pwned = 1</script> **bold** <img src=x onerror="window.__pwned = 2">'
    page.click("#model summary")
    page.fill("#model-description", attack)
    page.click("#model button:has-text('Save description')")
    expect()(page.locator(".notice-ok")).to_contain_text("Saved the description")
    shown = page.locator("#model .markdown")
    expect()(shown).to_contain_text("<script>window.__pwned = 1</script>")
    expect()(shown).to_contain_text('<img src=x onerror="window.__pwned = 2">')
    expect()(shown.locator("strong")).to_have_text("bold")
    assert shown.locator("script, img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert ui_registry.get_registered_model("fraud-detector").description == attack
    page.goto("/models")  # the list renders descriptions too
    assert page.locator(".model-card script, .model-card img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_everything_works_without_javascript(browser: Any, ui_server: UIServer, ui_registry: Registry) -> None:
    context = browser.new_context(viewport=LAPTOP, base_url=ui_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto("/models")
        page.fill("#filter", "name LIKE 'churn%'")
        page.click("button:has-text('Search')")
        expect()(page.locator(".model-card")).to_have_count(1)
        page.goto("/models/fraud-detector/versions/2")
        page.select_option("select[name=stage]", "Production")
        page.click("button:has-text('Move')")
        expect()(page.locator(".notice-ok")).to_contain_text("Moved version 2 from Staging to Production")
        page.fill("#aliases input[name=alias]:not([type=hidden])", "nojs")
        page.click("#aliases button:has-text('Point here')")
        expect()(page.locator(".notice-ok")).to_contain_text("@nojs now points at version 2")
        page.select_option("select[name=stage]", "None")
        page.click("button:has-text('Move')")
        expect()(page.locator(".notice-error")).to_contain_text("'lifecycle' stage policy")
        assert ui_registry.get_registered_model("fraud-detector").aliases["nojs"] == 2
    finally:
        context.close()


# -- screenshots ----------------------------------------------------------------------------------------------------

PAGES = {
    "models": "/models",
    "search-error": "/models?filter=name+LIKE",
    "model": "/models/fraud-detector",
    "version": "/models/fraud-detector/versions/2",
    "compare": "/models/fraud-detector/compare?a=1&b=2",
}


@pytest.fixture(scope="module")
def demo_server() -> Iterator[UIServer]:
    """The sample registry at a fixed place, so the screenshots show the same paths on every run (the clock, the
    ids and the files are fixed too: a screenshot changes only when the page does)."""
    root = Path(tempfile.gettempdir()) / "registry-ui-demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    reg = Registry(str(root / "mlregistry"), policy="lifecycle", clock=FixedClock(), user="ana", ids=counting_ids())
    populate(reg, root)
    server = UIServer(reg, port=0, poll_interval=0.05).start()
    yield server
    server.shutdown()
    reg.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(("width", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_and_no_sideways_scrolling(
    browser: Any, demo_server: UIServer, width: str, viewport: Any, tmp_path: Path
) -> None:
    SCREENSHOTS = DOCS_SCREENSHOTS if os.environ.get("REGISTRY_UPDATE_SCREENSHOTS") == "1" else tmp_path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, base_url=demo_server.url, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        for name, path in PAGES.items():
            page.goto(path)
            wait_live(page)
            # Usable at this width: nothing wider than the window (tables scroll inside their own box).
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a {width} window"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        refused = "/models/fraud-detector/versions/3"
        page.goto(refused)
        page.select_option("select[name=stage]", "Production")
        page.click("button:has-text('Move')")
        expect()(page.locator(".notice-error")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"refused-{width}.png"), full_page=False)
    finally:
        context.close()
