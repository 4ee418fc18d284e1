"""Browser tests: one headless Chromium for the session (Debian's, driven by Playwright; no
browser download), a real service per test, pages signed in as the directory's operators."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.integration.conftest import enrol, seat_of, service, start_service  # noqa: F401

CHROMIUM = Path(os.environ.get("FOUREYES_CHROMIUM", "/usr/bin/chromium"))
HAVE_CHROMIUM = CHROMIUM.exists()
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 10_000  # a generous bound for anything but the offer itself (a loaded machine)


@pytest.fixture(scope="session")
async def browser():
    if not HAVE_CHROMIUM:
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        yield b
        await b.close()


async def signed_in(browser: Browser, svc, operator_id: str, password: str, path: str = "/",
                    locale: str = "en-US") -> Page:
    """A fresh browser context (its own cookies) with the operator signed in at `path`."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale=locale)
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    await page.goto(f"{svc.console_url}login?next={path}")
    await page.fill("#operator_id", operator_id)
    await page.fill("#password", password)
    await page.click("#signin")
    await page.wait_for_url(f"{svc.console_url.rstrip('/')}{path}")
    return page


async def seat_page(browser: Browser, svc, operator_id: str, skills=("cash",), level: int = 2,
                    roles=("authorizer",), locale: str = "en-US") -> Page:
    """An authorizer whose seat page is open and connected."""
    password = enrol(svc, operator_id, level, skills, roles)
    page = await signed_in(browser, svc, operator_id, password, "/", locale)
    await page.wait_for_selector("#link[data-state=available]")
    return page


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name
