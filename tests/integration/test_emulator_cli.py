"""`python -m baseten_llm.emulator` serves on a real socket and says how to point clients at it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_cli_prints_the_env_vars_and_serves_the_routes():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "baseten_llm.emulator",
            "--port",
            str(port),
            "--api-key",
            "cli-key",
            "--reply-tokens",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = [process.stdout.readline() for _ in range(5)]
        assert "not Baseten" in banner[0]
        assert f"BASETEN_MODEL_APIS_URL=http://127.0.0.1:{port}/v1" in "".join(banner)
        assert "BASETEN_API_KEY=cli-key" in "".join(banner)
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/model-abcd1234/production/predict",
                    json={"prompt": "hi"},
                    headers={"Authorization": "Bearer cli-key"},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the CLI server did not start"
                time.sleep(0.05)
        assert response.json() == {"output": "You said: hi this is"}
    finally:
        process.terminate()
        process.wait(timeout=10)
