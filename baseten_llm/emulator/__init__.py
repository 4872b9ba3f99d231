"""A local emulator of Baseten's inference APIs, for tests and demos. It is not Baseten.

    from baseten_llm.emulator import EmulatorServer, EmulatorConfig
    with EmulatorServer.start(EmulatorConfig(), port=0) as emu:
        emu.model_apis_url, emu.deployment_url, emu.api_key

Or from a shell: `python -m baseten_llm.emulator --port 8700`.
"""

from .config import EmulatorConfig
from .server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer"]
