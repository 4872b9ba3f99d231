"""Sign-in in a real browser, through a real OpenID Connect provider on loopback.

The app runs with ``[auth]`` pointing at ``oidc-provider-mock`` (``tests/oidc.py``), a client
registered for its exact redirect URI. People sign in through Streamlit's own redirect flow:
the app's button, the provider's authorization page, the callback, the identity cookie.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import AppServer, goto_page, sidebar, wait_for_app_idle
from tests.e2e.signin import (
    SignInAppServer,
    expect_sign_in_screen_only,
    sign_in_as,
    sign_out,
)
from tests.oidc import ANN, BOB, EVE

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "address",
    [
        "/",
        "/documents",
        "/jobs",
        "/compare",
        "/?chat=1",
        "/documents?collection=1",
        "/chat?chat=1&demo=1",
    ],
)
def test_a_signed_out_visitor_gets_only_the_sign_in_screen_at_every_address(
    signin_server: AppServer, new_page, address: str
):
    page = new_page()
    page.goto(signin_server.url + address)
    expect_sign_in_screen_only(page)
    assert "Offline demo" not in page.content()


def test_two_people_sign_in_through_the_provider_and_each_sees_their_own_name(
    signin_server: AppServer, new_page
):
    ann, bob = new_page(), new_page()
    for page, person in ((ann, ANN), (bob, BOB)):
        page.goto(signin_server.url)
        expect_sign_in_screen_only(page)
        sign_in_as(page, person)
    expect(sidebar(ann)).to_contain_text(f"Signed in as {ANN.name}")
    expect(sidebar(ann)).not_to_contain_text(BOB.name)
    expect(sidebar(bob)).to_contain_text(f"Signed in as {BOB.name}")
    expect(sidebar(bob)).to_contain_text(BOB.email)
    goto_page(bob, "Documents")
    expect(sidebar(bob)).to_contain_text(f"Signed in as {BOB.name}")


def test_the_servers_key_is_not_used_for_signed_in_people_unless_shared(
    signin_server: AppServer, new_page
):
    page = new_page()
    page.goto(signin_server.url)
    sign_in_as(page, ANN)
    side = sidebar(page)
    expect(side).to_contain_text("No API key yet")
    expect(side.get_by_label("Baseten API key").first).to_be_visible()
    expect(side).not_to_contain_text("shared key")


def test_someone_outside_the_allow_list_is_refused_with_a_way_to_sign_out(
    signin_server: AppServer, new_page
):
    page = new_page()
    page.goto(signin_server.url + "/documents")
    sign_in_as(page, EVE)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    expect(main).to_contain_text(f"{EVE.email} is not allowed to use this app")
    expect(sidebar(page)).to_have_count(0)
    expect(page.locator('[data-testid="stChatInput"]')).to_have_count(0)
    main.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()
    expect_sign_in_screen_only(page)


def test_signing_out_returns_to_the_sign_in_screen_and_a_reload_stays_there(
    signin_server: AppServer, new_page
):
    page = new_page()
    page.goto(signin_server.url)
    sign_in_as(page, BOB)
    expect(sidebar(page)).to_contain_text(f"Signed in as {BOB.name}")
    sign_out(page)
    expect_sign_in_screen_only(page)
    page.reload()
    expect_sign_in_screen_only(page)
    page.goto(signin_server.url + "/jobs")
    expect_sign_in_screen_only(page)
    wait_for_app_idle(page)


def test_no_sign_in_secret_key_or_token_reaches_the_page_or_the_servers_log(
    signin_server: SignInAppServer, new_page
):
    page = new_page()
    page.goto(signin_server.url)
    sign_in_as(page, ANN)
    expect(sidebar(page)).to_contain_text(f"Signed in as {ANN.name}")
    goto_page(page, "Jobs")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    tokens = [value for name, value in cookies.items() if name.startswith("_streamlit")]
    assert tokens, cookies  # the signed identity cookie exists, and is httpOnly
    shown = page.content()
    log = signin_server.log_path.read_text(encoding="utf-8", errors="replace")
    for secret in (*signin_server.secrets, *tokens):
        assert secret not in shown
        assert secret not in log


def _send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text(f"You said: {text}")
    wait_for_app_idle(page)


def _use_own_key(page: Page, key: str) -> None:
    box = sidebar(page).locator(".st-key-sb_api_key input")
    box.fill(key)
    box.press("Enter")
    wait_for_app_idle(page)
    expect(sidebar(page)).to_contain_text("Using your key, this session only.")


def _chat_id(page: Page) -> str:
    match = re.search(r"[?&]chat=(\d+)", page.url)
    assert match, page.url
    return match.group(1)


def test_each_person_sees_only_their_own_conversations_and_not_the_others_by_address(
    signin_server: AppServer, e2e_emulator: EmulatorServer, new_page
):
    ann, bob = new_page(), new_page()
    for page, person in ((ann, ANN), (bob, BOB)):
        page.goto(signin_server.url)
        sign_in_as(page, person)
        _use_own_key(page, e2e_emulator.api_key)
    _send(ann, "Ann's plans for the owl survey")
    expect(ann).to_have_url(re.compile(r"[?&]chat=\d+"))
    anns_chat = _chat_id(ann)
    _send(bob, "Bob's notes on bats")
    bobs_chat = _chat_id(bob)
    assert bobs_chat != anns_chat

    ann.reload()
    wait_for_app_idle(ann)
    expect(sidebar(ann)).to_contain_text("owl survey")
    expect(sidebar(ann)).not_to_contain_text("bats")
    expect(sidebar(bob)).to_contain_text("bats")
    expect(sidebar(bob)).not_to_contain_text("owl survey")

    bob.goto(f"{signin_server.url}/?chat={anns_chat}")
    wait_for_app_idle(bob)
    expect(bob.get_by_text("was not found")).to_be_visible()
    expect(bob.locator('[data-testid="stMainBlockContainer"]')).not_to_contain_text("owl survey")
    expect(bob.get_by_test_id("stChatMessage")).to_have_count(0)
