"""Sign-in rules, as plain values: who a provider's claims name, and who may come in.

Streamlit does the OpenID Connect flow itself (``st.login`` / ``st.user`` / ``st.logout``,
configured by ``[auth]`` in ``.streamlit/secrets.toml``). This module holds the rules around
it, so they are tested as plain Python: which providers ``[auth]`` names, how the identity
claims become a :class:`chatapp.users.User`, and the optional allow-list
(``BASETEN_CHAT_ALLOWED_USERS``, see :mod:`chatapp.settings`). It imports no Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chatapp.users import User

#: ``st.login()`` without a name uses the provider whose settings sit directly in ``[auth]``.
DEFAULT_PROVIDER = "default"
_PROVIDER_KEYS = ("client_id", "server_metadata_url")


def sign_in_providers(auth: Mapping[str, Any]) -> list[str]:
    """The providers an ``[auth]`` section offers, in the order it lists them.

    A provider's settings sit either directly in ``[auth]`` (the one default provider) or in
    a named table such as ``[auth.google]``.
    """
    names = [DEFAULT_PROVIDER] if any(key in auth for key in _PROVIDER_KEYS) else []
    for name, value in auth.items():
        if isinstance(value, Mapping) and any(key in value for key in _PROVIDER_KEYS):
            names.append(str(name))
    return names


def provider_label(name: str) -> str:
    """The sign-in button's text for one provider."""
    if name == DEFAULT_PROVIDER:
        return "Sign in"
    return f"Sign in with {name.replace('_', ' ').title()}"


def _claim_true(value: Any) -> bool:
    # Most providers send a JSON boolean; some (e.g. Amazon Cognito) send the string "true".
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The e-mail address the provider vouches for, in lower case, or None.

    Only an address with ``email_verified`` true counts: an unverified one could be anyone's.
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    if not _claim_true(claims.get("email_verified")):
        return None
    return email.strip().lower()


def user_from_claims(claims: Mapping[str, Any]) -> User:
    """The signed-in person named by the provider's identity claims (``st.user``).

    The id is the verified e-mail address in lower case, so the same person keeps their data
    across providers that vouch for the same address; without one it is
    ``"<issuer>|<subject>"``, which the provider guarantees to be stable and unique.
    """
    email = verified_email(claims)
    if email is not None:
        user_id = email
    else:
        subject = str(claims.get("sub") or "").strip()
        if not subject:
            raise ValueError("The identity claims name no subject.")
        user_id = f"{str(claims.get('iss') or '').strip()}|{subject}"
    raw_email = claims.get("email")
    name = claims.get("name")
    return User(
        id=user_id,
        email=raw_email.strip() if isinstance(raw_email, str) and raw_email.strip() else None,
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        signed_in=True,
    )


@dataclass(frozen=True)
class AllowList:
    """Who may use the app once signed in: e-mail addresses and whole e-mail domains.

    Empty means everyone the provider signs in. An entry with an ``@`` inside
    (``alice@example.com``) is one address; any other entry (``example.com`` or
    ``@example.com``) is a domain. Matching is case-insensitive and only ever against a
    verified e-mail address (:func:`verified_email`); a domain does not admit its subdomains.
    """

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> AllowList:
        """From a comma- or whitespace-separated text, or a list (e.g. a TOML array)."""
        if value is None:
            return cls()
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        emails: set[str] = set()
        domains: set[str] = set()
        for item in items:
            entry = str(item).strip().lower()
            if not entry:
                continue
            if "@" in entry.lstrip("@"):
                emails.add(entry)
            else:
                domains.add(entry.lstrip("@"))
        return cls(frozenset(emails), frozenset(domains))

    @property
    def restricts(self) -> bool:
        """True when the list names anyone (an empty list admits everyone)."""
        return bool(self.emails or self.domains)

    def admits(self, email: str | None) -> bool:
        """Whether the person with this verified address (None: none) may use the app."""
        if not self.restricts:
            return True
        if not email:
            return False
        email = email.lower()
        return email in self.emails or email.rpartition("@")[2] in self.domains
