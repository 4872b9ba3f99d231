"""The sign-in gate and the sidebar's account line.

With ``[auth]`` in ``.streamlit/secrets.toml``, :func:`admit` runs first on every run, before
navigation: a person who is not signed in gets the sign-in screen and nothing else, whatever
page or address they asked for; a signed-in person the allow-list refuses gets a clear
message and a sign-out button. Without ``[auth]`` it lets everyone in (one user, a laptop).

Widget keys (tests address them): ``signin_<provider>`` (one button per provider in
``[auth]``, ``signin_default`` for the unnamed one), ``signin_refused_sign_out``,
``sb_sign_out``.
"""

from __future__ import annotations

import streamlit as st

from chatapp import signin, state
from chatapp.ui.safe_text import plain_text

SINGLE_USER_NOTE = "Single-user: no sign-in configured."


def admit() -> bool:
    """True when this run may go on to the pages; otherwise the screen to show is drawn."""
    cfg = state.config()
    if not cfg.sign_in:
        return True
    claims = state.signed_in_claims()
    if claims is None:
        _sign_in_screen()
        return False
    if not cfg.allowed_users.admits(signin.verified_email(claims)):
        _refused_screen(claims)
        return False
    return True


def _sign_in_screen() -> None:
    st.title("💬 Baseten Chat")
    st.write("Sign in to chat, ask your documents and run jobs. Your work stays your own.")
    providers = state.config().sign_in_providers
    if not providers:
        st.error(
            "Sign-in is switched on, but no sign-in provider is set up yet. Ask the person who "
            "runs this app to finish the sign-in settings (see the README's “Sign-in” section)."
        )
        return
    for name in providers:
        if st.button(signin.provider_label(name), key=f"signin_{name}", type="primary"):
            st.login(name)


def _refused_screen(claims: dict[str, object]) -> None:
    who = signin.verified_email(claims) or _unverified_label(claims)
    st.title("💬 Baseten Chat")
    st.error(
        f"**{plain_text(who)}** is not allowed to use this app. Sign out and sign in with an "
        "allowed account, or ask the person who runs this app to add you."
    )
    if st.button("Sign out", key="signin_refused_sign_out"):
        st.logout()


def _unverified_label(claims: dict[str, object]) -> str:
    email = claims.get("email")
    if isinstance(email, str) and email:
        return f"{email} (an address your sign-in provider has not verified)"
    return "This account"


def render_account() -> None:
    """The sidebar's first line: who is signed in and a sign-out button, or single-user."""
    if not state.sign_in_configured():
        st.caption(SINGLE_USER_NOTE)
        return
    user = state.current_user()
    detail = f" ({plain_text(user.email)})" if user.email and user.email != user.label else ""
    st.caption(f"Signed in as **{plain_text(user.label)}**{detail}")
    if st.button("Sign out", key="sb_sign_out", width="stretch"):
        st.logout()
