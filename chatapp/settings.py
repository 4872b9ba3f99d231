"""The app's configuration, resolved in one documented order.

For every setting: a value typed in the sidebar (API key only) wins, then
``.streamlit/secrets.toml``, then the process environment, then the default. Names are the
same in secrets and environment:

==================================  ===========================================================
``BASETEN_API_KEY``                 the Baseten API key (never stored, logged or shown)
``BASETEN_MODEL_APIS_URL``          Model APIs base URL (default Baseten's)
``BASETEN_DEPLOYMENT_URL``          dedicated deployments URL template with ``{model_id}``
``BASETEN_CHAT_DATA_DIR``           where the database and document indexes live (``./data``)
``BASETEN_CHAT_DATABASE_URL``       any SQLAlchemy URL (default SQLite in the data directory)
``BASETEN_WEBHOOK_SECRETS``         webhook secrets, comma-separated, newest first
``BASETEN_CHAT_PUBLIC_URL``         the HTTPS URL Baseten can reach this app at (webhooks)
``BASETEN_CHAT_ALLOW_UNSIGNED_WEBHOOKS``  ``1`` accepts unsigned webhooks: development only
``BASETEN_CHAT_EMBED_MODEL``        sentence-transformers model name or path for documents
``BASETEN_CHAT_MAX_*``, ``BASETEN_CHAT_PARSE_*``  what parsing one upload may cost (see
                                    :mod:`chatapp.services.parse_limits`)
``BASETEN_CHAT_ALLOWED_USERS``      with sign-in, who may use the app: e-mail addresses and
                                    e-mail domains (``alice@example.com``, ``example.org``),
                                    comma-separated or a TOML list; empty admits everyone the
                                    provider signs in (see :class:`chatapp.signin.AllowList`)
``BASETEN_CHAT_SHARE_SERVER_KEY``   with sign-in, ``1`` lets every signed-in person use the
                                    server's ``BASETEN_API_KEY``; without it each person pastes
                                    their own key, kept in their browser session only
``BASETEN_CHAT_ADMIN_EMAIL``        who takes over the data made without sign-in, once sign-in
                                    (``[auth]``) is configured: see below
==================================  ===========================================================

Sign-in is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's own
``st.login``: ``redirect_uri``, ``cookie_secret`` and an OpenID Connect provider, see the
README's "Sign-in" section). Without it the app has one user and uses the server's key as
above. With it, a server key that is not shared is left out of the configuration and removed
from the process's environment (:attr:`AppConfig.withholds_server_key`,
:func:`chatapp.resources.get_config`), so no client can fall back to it.

Data made before sign-in: without ``[auth]`` every conversation, persona, collection and job
belongs to one user, ``local``. When the app starts with ``[auth]`` configured and
``BASETEN_CHAT_ADMIN_EMAIL`` set, everything owned by ``local`` is handed to that person (their
e-mail address, in lower case, is their owner id once they sign in with it verified), so
nothing made on the single-user app is lost or shown to anyone else. Without the setting,
that data stays with ``local``, which no signed-in person is.

This module imports no Streamlit: callers pass ``st.secrets`` in as a mapping
(``chatapp.resources.get_config``); code that runs before Streamlit has a session (the server
starting) reads the same files with :func:`load_config_without_streamlit`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatapp.services.parse_limits import ParseLimits
from chatapp.signin import AllowList, sign_in_providers

if sys.version_info >= (3, 11):
    import tomllib
else:  # the project supports Python 3.10, where tomllib is the tomli package
    import tomli as tomllib

logger = logging.getLogger("chatapp.settings")

KeySource = Literal["sidebar", "secrets", "environment", "demo", "none"]

WEBHOOK_PATH = "/hooks/baseten"
DEFAULT_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AppConfig:
    """Resolved settings. ``api_key`` is excluded from ``repr``."""

    data_dir: Path
    database_url: str
    api_key: str | None = field(default=None, repr=False)
    api_key_source: KeySource = "none"
    model_apis_url: str | None = None
    deployment_url: str | None = None
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    public_url: str | None = None
    allow_unsigned_webhooks: bool = False
    embed_model: str = DEFAULT_EMBED_MODEL
    parse_limits: ParseLimits = field(default_factory=ParseLimits)
    #: ``[auth]`` is configured: people sign in, and each one's data is their own.
    sign_in: bool = False
    #: The sign-in providers ``[auth]`` names (``"default"``: the unnamed one), no secrets.
    sign_in_providers: tuple[str, ...] = ()
    allowed_users: AllowList = field(default_factory=AllowList)
    share_server_key: bool = False

    @property
    def withholds_server_key(self) -> bool:
        """True when signed-in people must bring their own key (sign-in, key not shared)."""
        return self.sign_in and not self.share_server_key

    #: Who takes over the single-user app's data once sign-in is on (lower case), or None.
    admin_email: str | None = None

    @property
    def local_data_owner(self) -> str | None:
        """The owner id the data made without sign-in moves to at start, when it moves."""
        return self.admin_email if self.sign_in and self.admin_email else None

    @property
    def webhook_url(self) -> str | None:
        """This app's webhook receiver as Baseten should call it, when a public URL is set."""
        if not self.public_url:
            return None
        return self.public_url.rstrip("/") + WEBHOOK_PATH

    @classmethod
    def load(
        cls,
        secrets: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> AppConfig:
        """Resolve every setting from ``secrets`` then ``environ`` (default ``os.environ``)."""
        lookup = _Lookup(secrets or {}, os.environ if environ is None else environ)
        data_dir = Path(lookup.get("BASETEN_CHAT_DATA_DIR") or "data").expanduser().resolve()
        database_url = lookup.get("BASETEN_CHAT_DATABASE_URL") or (
            f"sqlite:///{data_dir / 'baseten_chat.db'}"
        )
        api_key, source = lookup.get_with_source("BASETEN_API_KEY")
        auth = (secrets or {}).get("auth")
        if not isinstance(auth, Mapping):
            auth = {}
        sign_in = bool(auth)
        share_server_key = (lookup.get("BASETEN_CHAT_SHARE_SERVER_KEY") or "").lower() in TRUE_WORDS
        if sign_in and not share_server_key:
            api_key, source = None, "none"  # each signed-in person brings their own key
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            api_key=api_key,
            api_key_source=source,
            model_apis_url=lookup.get("BASETEN_MODEL_APIS_URL"),
            deployment_url=lookup.get("BASETEN_DEPLOYMENT_URL"),
            webhook_secrets=_split_secrets(lookup.raw("BASETEN_WEBHOOK_SECRETS")),
            public_url=lookup.get("BASETEN_CHAT_PUBLIC_URL"),
            allow_unsigned_webhooks=(
                (lookup.get("BASETEN_CHAT_ALLOW_UNSIGNED_WEBHOOKS") or "").lower() in TRUE_WORDS
            ),
            embed_model=lookup.get("BASETEN_CHAT_EMBED_MODEL") or DEFAULT_EMBED_MODEL,
            parse_limits=ParseLimits.from_lookup(lookup.get),
            sign_in=sign_in,
            sign_in_providers=tuple(sign_in_providers(auth)),
            allowed_users=AllowList.parse(lookup.raw("BASETEN_CHAT_ALLOWED_USERS")),
            share_server_key=share_server_key,
            admin_email=(lookup.get("BASETEN_CHAT_ADMIN_EMAIL") or "").lower() or None,
        )


class _Lookup:
    """Secrets first, then environment; blank values count as unset."""

    def __init__(self, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self._secrets = secrets
        self._environ = environ

    def raw(self, name: str) -> Any:
        if name in self._secrets and self._secrets[name] not in (None, ""):
            return self._secrets[name]
        return self._environ.get(name) or None

    def get(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value).strip() or None

    def get_with_source(self, name: str) -> tuple[str | None, KeySource]:
        if name in self._secrets and str(self._secrets[name] or "").strip():
            return str(self._secrets[name]).strip(), "secrets"
        value = (self._environ.get(name) or "").strip()
        return (value, "environment") if value else (None, "none")


def _split_secrets(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(s.strip() for s in items if str(s).strip())


def load_config_without_streamlit(
    secrets_paths: tuple[Path, ...] | None = None, environ: Mapping[str, str] | None = None
) -> AppConfig:
    """The app's configuration from ``secrets.toml`` files (as Streamlit reads them) and env."""
    paths = secrets_paths or (
        Path.home() / ".streamlit" / "secrets.toml",
        Path.cwd() / ".streamlit" / "secrets.toml",
    )
    secrets: dict[str, Any] = {}
    for path in paths:
        if path.is_file():
            try:
                secrets.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                logger.warning("could not read %s: %s", path, type(exc).__name__)
    return AppConfig.load(secrets, environ)
