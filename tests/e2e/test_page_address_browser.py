"""The page's place lives in its address: reload (F5), back/forward, a bookmark and a second
tab return to the open conversation and the Documents collection; the offline demo stays on
across a reload; an address naming nothing known says so and the page still works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto_page, sidebar, wait_for_app_idle
from tests.e2e.test_offline_demo import keyless_app, keyless_page  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 30_000


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def ask(page: Page, text: str) -> None:
    send(page, text)
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text(
        f"You said: {text}", timeout=UI_TIMEOUT_MS
    )
    wait_for_app_idle(page)


def chat_id(page: Page) -> str:
    match = re.search(r"[?&]chat=(\d+)", page.url)
    assert match, page.url
    return match.group(1)


def test_a_reload_back_forward_and_a_second_tab_return_to_the_open_conversation(
    page: Page, e2e_emulator
) -> None:
    ask(page, "First conversation about owls")
    expect(page).to_have_url(re.compile(r"[?&]chat=\d+"))
    first = chat_id(page)

    page.reload()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2)
    expect(page.get_by_test_id("stHeading").first).to_contain_text("First conversation about")

    sidebar(page).locator(".st-key-chat_new button").click()
    wait_for_app_idle(page)
    expect(page).not_to_have_url(re.compile(r"chat="))
    ask(page, "Second conversation about bats")
    second = chat_id(page)
    assert second != first

    page.go_back()  # the new chat, then the first conversation
    wait_for_app_idle(page)
    page.go_back()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text("owls")
    page.go_forward()
    page.go_forward()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text("bats")

    other = page.context.new_page()  # a second tab on a bookmark of the first conversation
    other.goto(page.url.split("?")[0] + f"?chat={first}")
    wait_for_app_idle(other)
    expect(other.get_by_test_id("stChatMessage").last).to_contain_text("owls")
    other.close()


@pytest.mark.parametrize("reference", ["999999", "not-a-number"])
def test_an_address_naming_no_conversation_says_so_and_the_page_still_works(
    page: Page, e2e_emulator, reference: str
) -> None:
    page.goto(page.url.split("?")[0] + f"?chat={reference}")
    wait_for_app_idle(page)
    expect(page.get_by_text("was not found")).to_be_visible()
    ask(page, "Still working?")
    expect(page).to_have_url(re.compile(r"[?&]chat=\d+"))


def picker(page: Page):
    return page.get_by_role("combobox", name="Collection")


def test_the_documents_collection_survives_a_reload_and_an_unknown_one_is_reported(
    page: Page, e2e_emulator
) -> None:
    goto_page(page, "Documents")
    for name in ("Alpha shelf", "Beta shelf"):
        page.get_by_role("button", name="New collection").click()
        box = page.locator(".st-key-docs_new_name input")
        box.fill(name)
        box.press("Enter")
        wait_for_app_idle(page)
        page.locator(".st-key-docs_create button").click()
        wait_for_app_idle(page)
        expect(picker(page)).to_have_value(name)
        # the popover may stay open after the rerun; close it so the next click opens it
        page.keyboard.press("Escape")
        expect(box).to_be_hidden()
    expect(page).to_have_url(re.compile(r"[?&]collection="))
    address = page.url
    page.reload()
    wait_for_app_idle(page)
    expect(picker(page)).to_have_value("Beta shelf")
    page.goto(address.split("?")[0] + "?collection=no-such-collection")
    wait_for_app_idle(page)
    expect(page.get_by_text("was not found")).to_be_visible()
    expect(picker(page)).to_be_visible()


def test_the_offline_demo_stays_on_across_a_reload(keyless_page: Page) -> None:  # noqa: F811
    page = keyless_page
    sidebar(page).get_by_role("button", name="Try the offline demo").click()
    wait_for_app_idle(page)
    expect(page).to_have_url(re.compile(r"[?&]demo=1"))
    page.reload()
    wait_for_app_idle(page)
    expect(sidebar(page).get_by_role("button", name="Leave the offline demo")).to_be_visible()
    goto_page(page, "Jobs")  # moving to another page keeps it in the address
    expect(page).to_have_url(re.compile(r"[?&]demo=1"))
    page.reload()
    wait_for_app_idle(page)
    expect(sidebar(page).get_by_role("button", name="Leave the offline demo")).to_be_visible()
    sidebar(page).get_by_role("button", name="Leave the offline demo").click()
    wait_for_app_idle(page)
    expect(page).not_to_have_url(re.compile(r"[?&]demo=1"))  # what a reload will read
    page.reload()
    wait_for_app_idle(page)
    expect(sidebar(page).get_by_role("button", name="Try the offline demo")).to_be_visible()
