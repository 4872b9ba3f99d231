"""Process-wide resources, created once per server process (``st.cache_resource``).

Only sync, thread-safe objects live here: the configuration, the database engine, the HTTP
connection pool every request shares (chat, the model list, Baseten embedders), the documents'
embedders, the job-status poller (its rate limit is process-wide), the webhook receiver (with
its own engine, built on the first delivery), and the offline-demo emulator. Async clients are
never cached.

Local embedding models are loaded once per process by :mod:`chatapp.services.embedders` itself,
in the background as soon as :func:`preload_embedder` asks (the server's start asks too, without
Streamlit); Baseten embedders are cheap to build and are not cached, so the API key never
becomes a cache key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import streamlit as st

from baseten_llm.config import ENV_API_KEY
from chatapp.services import embedders
from chatapp.services.embedders import EmbedSpec
from chatapp.services.job_polling import StatusPoller
from chatapp.services.webhook_receiver import WebhookReceiver, make_receiver_engine
from chatapp.settings import AppConfig
from chatapp.storage.db import init_db, make_engine
from chatapp.storage.owners import claim_local_data

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from sqlalchemy import Engine

    from baseten_llm.emulator import EmulatorServer


def _secrets_mapping() -> dict[str, Any]:
    """``st.secrets`` as a plain dict; an absent or broken secrets file counts as empty."""
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets.toml is the common case
        return {}


@st.cache_resource(show_spinner=False)
def get_config() -> AppConfig:
    """The configuration (secrets, then environment), resolved once per process.

    With sign-in and a server key that is not shared, ``BASETEN_API_KEY`` leaves this
    process's environment: ``baseten_llm`` reads it whenever a client gets no key, and a
    signed-in person without a key of their own must not be served with the server's.
    """
    config = AppConfig.load(_secrets_mapping())
    if config.withholds_server_key:
        os.environ.pop(ENV_API_KEY, None)
    return config


@st.cache_resource(show_spinner=False)
def get_engine() -> Engine:
    """The database engine, with every table created; with sign-in on, the data made without
    it handed to ``BASETEN_CHAT_ADMIN_EMAIL`` (see :mod:`chatapp.settings`)."""
    config = get_config()
    if config.database_url.startswith("sqlite:///"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    init_db(engine)
    if config.local_data_owner:
        claim_local_data(engine, config.local_data_owner)
    return engine


@st.cache_resource(show_spinner=False)
def get_http_client() -> httpx.Client:
    """One connection pool for every request of the process.

    Each message then reuses an open TLS connection to Baseten instead of paying a new
    handshake. It is safe to share: ``baseten_llm`` sends the key per request, and httpx
    clients are thread-safe (the compare page streams from several threads).
    """
    return httpx.Client(
        timeout=httpx.Timeout(600.0, connect=10.0),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
    )


@st.cache_resource(show_spinner=False)
def get_status_poller() -> StatusPoller:
    """The job-status poller every session shares, so Baseten's rate limit holds process-wide."""
    return StatusPoller()


@st.cache_resource(show_spinner=False)
def get_webhook_receiver() -> WebhookReceiver:
    """The receiver behind ``POST /hooks/baseten``: the app's configuration, and an engine of
    its own whose SQLite commits are fully synced (see :mod:`chatapp.services.webhook_receiver`)."""
    config = get_config()
    return WebhookReceiver(config, make_receiver_engine(config))


def preload_embedder(spec: EmbedSpec) -> None:
    """Start loading a collection's local model in the background, if it is not loaded yet."""
    if spec.kind == "local":
        embedders.preload_local(spec.model)


def embedder_factory(
    spec: EmbedSpec, config: AppConfig, api_key: str | None
) -> Callable[[], BaseEmbedding]:
    """A zero-argument builder of the collection's embedder, called only when needed: the
    process's local model (waiting for its load), or a Baseten embedder on the shared pool."""
    if spec.kind == "local":
        return lambda: embedders.local_embedder(spec.model)
    return lambda: embedders.make_embedder(spec, config, api_key, http_client=get_http_client())


DEMO_FIRST_TOKEN_S = 0.25


@st.cache_resource(show_spinner="Starting the offline demo…")
def get_demo_emulator() -> EmulatorServer:
    """The bundled Baseten emulator, served in-process for the offline demo.

    It signs job results with a secret generated for this process, which this app's own
    webhook receiver accepts, so demo jobs come back signed with nothing to configure.
    """
    from baseten_llm.emulator import EmulatorConfig, EmulatorServer
    from chatapp.services.webhook_receiver import demo_webhook_secret

    # A first token after a short pause, as from a warm model: with none the demo's figures read
    # "first token 0.00 s", which looks broken to a person trying the app.
    return EmulatorServer.start(
        EmulatorConfig(
            tokens_per_second=40.0,
            first_token_delay_s=DEMO_FIRST_TOKEN_S,
            webhook_secrets=[demo_webhook_secret()],
        ),
        port=0,
    )


def own_loopback_url() -> str:
    """This server as reached from the same machine (the demo's webhook target)."""
    address = str(st.get_option("server.address") or "")
    host = address if address and address not in ("0.0.0.0", "::") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{host}:{st.get_option('server.port')}" + (f"/{base}" if base else "")
