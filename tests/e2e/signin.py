"""Sign-in helpers for browser tests: the app with ``[auth]`` and the real redirect flow.

:func:`signin_app_server` starts ``streamlit run app.py`` with a ``secrets.toml`` whose
``[auth]`` points at the loopback provider of ``tests/oidc.py`` (a client registered for this
app's exact redirect URI). :func:`sign_in_as` clicks through Streamlit's sign-in button, the
provider's authorization page and the callback; :func:`sign_out` through the app's sign-out
button and the provider's end-session page.

The fixtures ``signin_server`` and ``new_page`` (in ``tests/e2e/conftest.py``) use them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import (
    AppServer,
    free_port,
    sidebar,
    wait_for_app_idle,
)
from tests.oidc import OidcProvider, Person, auth_secrets_toml

SIGN_IN_BUTTON = "Sign in"
SIGN_IN_TEXT = "Sign in to chat"
#: Who the shared sign-in app admits: Ann by address, everyone at example.org (Bob), not Eve.
ALLOW_LIST = 'BASETEN_CHAT_ALLOWED_USERS = ["ann.archer@example.com", "example.org"]\n'


@dataclass
class SignInAppServer(AppServer):
    """The app with sign-in; the secrets it was given, for tests that look for leaks."""

    secrets: tuple[str, ...] = field(default=(), repr=False)


@contextmanager
def signin_app_server(
    root: Path,
    provider: OidcProvider,
    emulator: EmulatorServer | None = None,
    extra_secrets: str = "",
    extra_env: dict[str, str] | None = None,
) -> Iterator[SignInAppServer]:
    """The app with sign-in through ``provider``; pointed at ``emulator`` when given (its key
    then in the server's environment, as a team would set it), data under ``root``."""
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth2callback"
    client = provider.register_client(redirect_uri)
    cookie_secret = secrets.token_urlsafe(32)
    secrets_path = root / "secrets.toml"
    secrets_path.write_text(
        extra_secrets + auth_secrets_toml(provider, client, redirect_uri, cookie_secret),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "STREAMLIT_"))}
    env.update(
        BASETEN_CHAT_DATA_DIR=str(root / "data"),
        STREAMLIT_SECRETS_FILES=str(secrets_path),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    if emulator is not None:
        env.update(
            BASETEN_API_KEY=emulator.api_key,
            BASETEN_MODEL_APIS_URL=emulator.model_apis_url,
            BASETEN_DEPLOYMENT_URL=emulator.deployment_url,
        )
    env.update(extra_env or {})
    known = (cookie_secret, client.client_secret, *([emulator.api_key] if emulator else []))
    server = SignInAppServer(
        port=port, data_dir=root / "data", log_path=root / "app.log", env=env, secrets=known
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def expect_sign_in_screen_only(page: Page) -> None:
    """The page shows the sign-in screen and nothing of the app (no sidebar, no pages)."""
    wait_for_app_idle(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    expect(main.get_by_text(SIGN_IN_TEXT)).to_be_visible()
    expect(main.get_by_role("button", name=SIGN_IN_BUTTON, exact=True)).to_be_visible()
    expect(sidebar(page)).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.locator('[data-testid="stChatInput"]')).to_have_count(0)


def sign_in_as(page: Page, person: Person) -> None:
    """From the sign-in screen, through the provider's page, back to the app signed in."""
    page.get_by_role("button", name=SIGN_IN_BUTTON, exact=True).click()
    page.get_by_role("button", name=person.sub, exact=True).click()  # the provider's page
    wait_for_app_idle(page)


def sign_out(page: Page) -> None:
    """The sidebar's sign-out, then the provider's end-session page, back to the app."""
    sidebar(page).get_by_role("button", name="Sign out").click()
    _end_provider_session(page)


def _end_provider_session(page: Page) -> None:
    page.get_by_role("button", name="End session").click()
    wait_for_app_idle(page)
