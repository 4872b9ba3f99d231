"""A deployment's capacity, so that a load sweep finds a real knee.

A model entry (or a per-model override in `EmulatorConfig.models`) may set
`capacity_streams` (N streams served at full speed), `queue_limit` (how many more it accepts,
sharing the same GPU time) and `prefill_s` (time to the first token at full speed). With
`active` streams in flight, each is slowed by
`max(1, active / N)`: its first-token delay and the gap between tokens grow, so total
throughput levels off at N streams' worth while time to first token climbs. A request that
would make `active` exceed `N + queue_limit` is refused at once with 429 and `Retry-After: 1`.
Models without `capacity_streams` have no limit (the shared Model APIs by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapacityLimits:
    streams: int
    queue: int
    prefill_s: float = 0.0  # time to the first token at full speed (stretched when slowed)

    @property
    def most(self) -> int:
        return self.streams + self.queue


def limits_for(config: Any, model_key: str, entry: dict[str, Any]) -> CapacityLimits | None:
    """The capacity of a model (override first, then its catalog entry), or None."""
    override = config.models.get(model_key, {})
    streams = override.get("capacity_streams", entry.get("capacity_streams"))
    if not streams:
        return None
    queue = override.get("queue_limit", entry.get("queue_limit", 0))
    prefill = override.get("prefill_s", entry.get("prefill_s", 0.0))
    return CapacityLimits(max(1, int(streams)), max(0, int(queue or 0)), float(prefill or 0.0))


class CapacityTracker:
    """Streams in flight per model key (used only on the server's event loop)."""

    def __init__(self) -> None:
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    def clear(self) -> None:
        self.active.clear()
        self.peak.clear()
        self.refused.clear()

    def try_admit(self, model_key: str, limits: CapacityLimits) -> bool:
        now = self.active.get(model_key, 0)
        if now >= limits.most:
            self.refused[model_key] = self.refused.get(model_key, 0) + 1
            return False
        self.active[model_key] = now + 1
        self.peak[model_key] = max(self.peak.get(model_key, 0), now + 1)
        return True

    def release(self, model_key: str) -> None:
        self.active[model_key] = max(0, self.active.get(model_key, 0) - 1)

    def slowdown(self, model_key: str, limits: CapacityLimits) -> float:
        return max(1.0, self.active.get(model_key, 0) / limits.streams)

    def snapshot(self) -> dict[str, Any]:
        """For `GET /_emulator/capacity`: streams in flight, the most at once, 429s given."""
        return {"active": dict(self.active), "peak": dict(self.peak), "refused": dict(self.refused)}


class Slot:
    """One admitted request's place; `release()` gives it back once, however often called."""

    def __init__(self, tracker: CapacityTracker, model_key: str) -> None:
        self.tracker, self.model_key, self.held = tracker, model_key, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.tracker.release(self.model_key)


class Holding:
    """A stream body that gives its slot back when it ends or is closed, even unstarted."""

    def __init__(self, body: AsyncIterator[bytes], slot: Slot) -> None:
        self.body, self.slot = body, slot

    def __aiter__(self) -> Holding:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.body.__anext__()
        except BaseException:
            self.slot.release()
            raise

    async def aclose(self) -> None:
        try:
            await self.body.aclose()  # type: ignore[attr-defined]
        finally:
            self.slot.release()
