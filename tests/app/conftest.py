"""Fixtures shared by the AppTests: the app's environment pointed at the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from baseten_llm.emulator import EmulatorServer


@pytest.fixture()
def emulator_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer) -> Path:
    """Key and URLs of the emulator, a fresh data directory, no webhook settings."""
    for name in (
        "BASETEN_WEBHOOK_SECRETS",
        "BASETEN_CHAT_PUBLIC_URL",
        "BASETEN_CHAT_ALLOW_UNSIGNED_WEBHOOKS",
        "BASETEN_CHAT_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BASETEN_API_KEY", emulator.api_key)
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", emulator.model_apis_url)
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", emulator.deployment_url)
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture()
def data_dir(emulator_env: Path) -> Iterator[Path]:
    """:func:`emulator_env` with Streamlit's process caches (config, engine, clients) fresh."""
    st.cache_resource.clear()
    yield emulator_env
    st.cache_resource.clear()
