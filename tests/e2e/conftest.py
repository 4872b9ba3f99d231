"""End-to-end harness: the real app in a real headless Chromium, against the Baseten emulator.

Fixtures
--------
``e2e_emulator`` (session)
    An in-process :class:`baseten_llm.emulator.EmulatorServer` on 127.0.0.1 whose webhook
    secret is :data:`WEBHOOK_SECRET`. It is reset before every test (log, faults, config,
    jobs), and keeps that secret.
``app_server`` (session)
    ``streamlit run app.py`` as a subprocess on a free port, pointed at the emulator
    (``BASETEN_API_KEY``, ``BASETEN_MODEL_APIS_URL``, ``BASETEN_DEPLOYMENT_URL``), with a
    temporary data directory, ``BASETEN_WEBHOOK_SECRETS`` = :data:`WEBHOOK_SECRET` and
    ``BASETEN_CHAT_PUBLIC_URL`` = its own ``http://127.0.0.1:PORT``. ``.url``, ``.data_dir``,
    ``.log_path``; ``.restart()`` stops and starts the server on the same port and data dir.
``page`` (function)
    A fresh browser context and page already on the app with the first run finished. On
    teardown a full-page screenshot is saved as ``artifacts/<test name>.png``
    (:func:`open_app_page` does the same for an app server of a test's own).
``artifacts_dir``
    ``tests/e2e/artifacts`` (git-ignored): screenshots for a person to look at.
``signin_server`` (module)
    The app with sign-in (``[auth]``) through the session's loopback OpenID Connect provider
    (``oidc_provider``, ``tests/oidc.py``), an allow-list, the emulator's key not shared with
    signed-in people; helpers to sign in and out are in ``tests/e2e/signin.py``.
``new_page`` (function)
    ``new_page()`` opens a page in a fresh browser context (one person, their own cookies);
    every page is screenshotted as ``artifacts/<test name>_<n>.png`` when the test ends.

Helpers: :func:`wait_for_app_idle` (the script has finished its run),
:func:`goto_page` (open a page of the navigation by its title),
:func:`sidebar` (the sidebar locator).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from baseten_llm.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WEBHOOK_SECRET = "whsec_E2eTestSecretAbCdEfGhIjKlMnOpQrStUvWxYz0123"
CHROMIUM = os.environ.get("BASETEN_CHAT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 90.0
RUN_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def _e2e_emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer.start(EmulatorConfig(webhook_secrets=[WEBHOOK_SECRET]), port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def e2e_emulator(_e2e_emulator_server: EmulatorServer) -> EmulatorServer:
    """The emulator, reset before the test, with the app's webhook secret."""
    _e2e_emulator_server.reset()
    _e2e_emulator_server.configure(webhook_secrets=[WEBHOOK_SECRET])
    return _e2e_emulator_server


@dataclass
class AppServer:
    """``streamlit run app.py`` in a subprocess, restartable on the same port and data."""

    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    #: How often to ask ``/_stcore/health`` while starting (the chat bench times cold starts).
    poll_s: float = 0.25
    #: ``time.perf_counter()`` at the last spawn and when it first answered healthy.
    spawned_at: float = 0.0
    healthy_at: float = 0.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
        log = self.log_path.open("ab")
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_healthy()
        self.healthy_at = time.perf_counter()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(self.poll_s)
        raise RuntimeError(f"streamlit did not become healthy; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def app_server(
    _e2e_emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    emu = _e2e_emulator_server
    root = tmp_path_factory.mktemp("app")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
    env.update(
        BASETEN_API_KEY=emu.api_key,
        BASETEN_MODEL_APIS_URL=emu.model_apis_url,
        BASETEN_DEPLOYMENT_URL=emu.deployment_url,
        BASETEN_CHAT_DATA_DIR=str(root / "data"),
        BASETEN_WEBHOOK_SECRETS=WEBHOOK_SECRET,
        BASETEN_CHAT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    server = AppServer(port=port, data_dir=root / "data", log_path=root / "streamlit.log", env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def keyless_app_server(root: Path) -> Iterator[AppServer]:
    """The app as on a first start: no API key, no Baseten URLs, no webhook secret and no
    public URL (every ``BASETEN_*`` and ``STREAMLIT_*`` variable removed), data under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
    env.update(BASETEN_CHAT_DATA_DIR=str(root / "data"), PYTHONUNBUFFERED="1")
    server = AppServer(port=free_port(), data_dir=root / "data", log_path=root / "app.log", env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def open_app_page(browser: Browser, url: str, screenshot: Path) -> Iterator[Page]:
    """A fresh context and page on ``url`` after its first run; a screenshot when done."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(RUN_TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(url)
    wait_for_app_idle(tab)
    try:
        yield tab
    finally:
        try:
            tab.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()


def screenshot_path(artifacts_dir: Path, request: pytest.FixtureRequest) -> Path:
    return artifacts_dir / (re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + ".png")


@pytest.fixture()
def page(
    browser: Browser,
    app_server: AppServer,
    e2e_emulator: EmulatorServer,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    with open_app_page(browser, app_server.url, screenshot_path(artifacts_dir, request)) as tab:
        yield tab


def wait_for_app_idle(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until the app is connected and its script has finished running."""
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def goto_page(page: Page, title: str) -> None:
    """Open a page of the navigation by its title, and wait for its run to finish."""
    sidebar(page).locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_for_app_idle(page)


@pytest.fixture(scope="module")
def signin_server(
    oidc_provider: Any,
    _e2e_emulator_server: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    """The app with sign-in through ``oidc_provider``, the allow-list
    ``tests.e2e.signin.ALLOW_LIST`` and the emulator's key in the server's environment (not
    shared with signed-in people); a :class:`tests.e2e.signin.SignInAppServer`."""
    from tests.e2e.signin import ALLOW_LIST, signin_app_server

    root = tmp_path_factory.mktemp("signin")
    with signin_app_server(
        root, oidc_provider, _e2e_emulator_server, extra_secrets=ALLOW_LIST
    ) as server:
        yield server


@pytest.fixture()
def new_page(
    browser: Browser, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Page]]:
    """A factory of fresh browser contexts (each a person with their own cookies)."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(RUN_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    name = request.node.name.replace("/", "_")
    for number, context in enumerate(contexts):
        for tab in context.pages:
            tab.screenshot(path=str(artifacts_dir / f"{name}_{number}.png"), full_page=True)
        context.close()
