"""Browser tests drive Debian's Chromium through Playwright (no downloaded browsers).

Without a Chromium they skip with a loud reason; with PORTAL_REQUIRE_BROWSER=1
(set by CI) a missing browser is a failure.

The flows users click through run in Debian's ``chromium`` (PORTAL_CHROMIUM
to use another). The accessibility audit, some two hundred page loads, runs
in Debian's ``chromium-headless-shell`` where it is installed: the same
Chromium release and Blink engine built as a headless shell, the build
Playwright itself uses for headless runs, at about half the CPU per page
(PORTAL_AUDIT_CHROMIUM to use another; without it the audit uses ``chromium``).
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        reason = "NO CHROMIUM FOUND: browser tests did not run. Install Debian's chromium (apt-get install chromium)."
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path):
    return {**browser_type_launch_args, "executable_path": chromium_path, "args": CHROMIUM_FLAGS, "headless": True}


def find_headless_shell() -> str | None:
    for candidate in (os.environ.get("PORTAL_AUDIT_CHROMIUM"), "/usr/bin/chromium-headless-shell", shutil.which("chromium-headless-shell")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def audit_browser(request, browser_type, browser_type_launch_args):
    """The browser for the accessibility audit: the headless shell, else the same as ``browser``."""
    shell = find_headless_shell()
    if shell is None:
        yield request.getfixturevalue("browser")
        return
    audit = browser_type.launch(**{**browser_type_launch_args, "executable_path": shell})
    yield audit
    audit.close()


@pytest.fixture
def csp_violations(page):
    """Console messages about blocked content; a working page has none."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


@pytest.fixture
def no_js_page(browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()
