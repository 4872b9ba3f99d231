"""Sign-in in a real browser, through a real OpenID Connect provider on loopback.

The app runs with ``[auth]`` pointing at ``oidc-provider-mock`` (``tests/oidc.py``), a client
registered for its exact redirect URI. People sign in through Streamlit's own redirect flow:
the app's button, the provider's authorization page, the callback, the identity cookie.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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
    ["/", "/documents", "/jobs", "/compare", "/?chat=1", "/documents?collection=1",
     "/chat?chat=1&demo=1"],
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
    main = page.locator('[data-testid="stMain"]')
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
