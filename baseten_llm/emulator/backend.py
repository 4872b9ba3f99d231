"""The emulator's in-memory state, apart from the HTTP layer (moto's habit): live config,
request log, queued faults, rate-limit window and async jobs. All methods run on the server's
event loop (the control endpoints are the way in from other threads)."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from .capacity import CapacityTracker
from .config import EmulatorConfig
from .jobs import JobManager
from .prompt_cache import PromptCache

FAULT_KINDS = {
    "status": "status",
    "cut_after_chunks": "cut",
    "first_token_delay_s": "first_token_delay",
}


class EmulatorBackend:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.initial_config = (config or EmulatorConfig()).copy()
        self.config = self.initial_config.copy()
        self.log: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.request_times: deque[float] = deque()
        self.jobs = JobManager(lambda: self.config)
        self.capacity = CapacityTracker()
        self.prompt_cache = PromptCache()

    def reset(self) -> None:
        """Config, log, faults, rate window and jobs back to how the server started."""
        self.config = self.initial_config.copy()
        self.log.clear()
        self.faults.clear()
        self.request_times.clear()
        self.jobs.clear()
        self.capacity.clear()
        self.prompt_cache.clear()

    def configure(self, changes: dict[str, Any]) -> None:
        self.config = self.config.merged(changes)

    def add_faults(self, faults: list[dict[str, Any]]) -> None:
        """Queue faults; each applies `times` times (default 1) to matching requests."""
        for fault in faults:
            kinds = [kind for key, kind in FAULT_KINDS.items() if key in fault]
            if len(kinds) != 1:
                raise ValueError(f"a fault needs exactly one of {sorted(FAULT_KINDS)}: {fault}")
            self.faults.append({**fault, "kind": kinds[0], "times": int(fault.get("times", 1))})

    def take_fault(self, kind: str, path: str) -> dict[str, Any] | None:
        """The first queued fault of `kind` matching `path`, used up once."""
        for fault in self.faults:
            if fault["kind"] == kind and fault.get("path_contains", "") in path:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def rate_limit_retry_after(self) -> int | None:
        """Seconds to wait when over `rpm` in the last 60 s, else None (and counts the request)."""
        now, rpm = time.monotonic(), self.config.rpm
        while self.request_times and now - self.request_times[0] >= 60:
            self.request_times.popleft()
        if rpm is not None and len(self.request_times) >= rpm:
            return max(1, math.ceil(60 - (now - self.request_times[0])))
        self.request_times.append(now)
        return None

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        self.log.append(entry)
        return entry

    def pace(self, model_key: str) -> tuple[float, float]:
        """(first_token_delay_s, tokens_per_second) for a model slug or id."""
        return (
            float(self.config.model_setting(model_key, "first_token_delay_s")),
            float(self.config.model_setting(model_key, "tokens_per_second")),
        )

    def reply_tokens(self, model_key: str) -> int:
        return int(self.config.model_setting(model_key, "reply_tokens"))

    def reasoning_default(self, model_key: str, catalog_entry: dict[str, Any]) -> bool:
        return bool(
            self.config.models.get(model_key, {}).get(
                "reasoning", catalog_entry.get("reasoning", False)
            )
        )
