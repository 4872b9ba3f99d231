"""A real OpenID Connect provider on loopback, for the sign-in tests.

``oidc-provider-mock`` (a Flask app on Authlib's authorization server) serves discovery,
authorization, token, userinfo, JWKS and end-session endpoints. Here it runs in a thread on
127.0.0.1 and a free port, requires clients to be registered (so the app's client id, secret
and exact redirect URI are all checked, as a real provider does), and knows the people the
tests sign in as: on its authorization page each is one button named by their subject.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import oidc_provider_mock
import werkzeug.serving


@dataclass(frozen=True)
class Person:
    """Someone the provider can sign in: ``sub`` is their button on its authorization page."""

    sub: str
    email: str
    name: str
    email_verified: bool = True

    def claims(self) -> dict[str, object]:
        return {"email": self.email, "email_verified": self.email_verified, "name": self.name}


ANN = Person(sub="ann", email="Ann.Archer@Example.com", name="Ann Archer")
BOB = Person(sub="bob", email="bob@example.org", name="Bob Baker")
EVE = Person(sub="eve", email="eve@elsewhere.net", name="Eve Outsider")
PEOPLE = (ANN, BOB, EVE)


@dataclass(frozen=True)
class OidcClient:
    """A client registered with the provider for one app (one redirect URI)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class OidcProvider:
    """The provider's issuer URL on loopback (``/.well-known/openid-configuration`` below it)."""

    issuer: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def register_client(self, redirect_uri: str) -> OidcClient:
        """Register an app whose only allowed redirect URI is ``redirect_uri``."""
        response = httpx.post(
            f"{self.issuer}/oauth2/clients",
            json={
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            timeout=10,
        )
        response.raise_for_status()
        body = response.json()
        return OidcClient(client_id=body["client_id"], client_secret=body["client_secret"])


@contextmanager
def run_provider(people: tuple[Person, ...] = PEOPLE) -> Iterator[OidcProvider]:
    """The provider on 127.0.0.1 and a free port, in a thread, until the context ends."""
    app = oidc_provider_mock.app(
        require_client_registration=True,
        user_claims=[oidc_provider_mock.User(sub=p.sub, claims=p.claims()) for p in people],
    )
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="oidc-provider",
        daemon=True,
    )
    thread.start()
    try:
        yield OidcProvider(issuer=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def auth_secrets_toml(
    provider: OidcProvider, client: OidcClient, redirect_uri: str, cookie_secret: str
) -> str:
    """The ``[auth]`` section of ``secrets.toml`` for one app and this provider."""
    return (
        "[auth]\n"
        f'redirect_uri = "{redirect_uri}"\n'
        f'cookie_secret = "{cookie_secret}"\n'
        f'client_id = "{client.client_id}"\n'
        f'client_secret = "{client.client_secret}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
    )
