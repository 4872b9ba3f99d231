"""Shared fixtures.

`emulator`: the Baseten API emulator, one in-process server per test session on a free loopback
port, reset (config, request log, faults, jobs) before each test. Tests point clients at
`emulator.model_apis_url` / `emulator.deployment_url` with `emulator.api_key`, and inspect or
steer it with `emulator.requests()`, `emulator.configure(...)`, `emulator.fault(...)`,
`emulator.webhooks()`. Nothing here touches environment variables; use monkeypatch for that.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baseten_llm.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[EmulatorServer]:
    with EmulatorServer.start(EmulatorConfig(), port=0) as server:
        yield server


@pytest.fixture
def emulator(emulator_session: EmulatorServer) -> Iterator[EmulatorServer]:
    emulator_session.reset()
    yield emulator_session
