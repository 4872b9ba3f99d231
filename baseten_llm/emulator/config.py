"""Emulator settings and its fixed catalog (Model APIs slugs and dedicated model ids).

Everything here is plain data: the backend copies an `EmulatorConfig` and merges the keys of
`POST /_emulator/config` into it; `reset` goes back to the config the server started with.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "emulator-key"
# `whsec_` plus 40 alphanumerics, the shape of a real Baseten webhook secret.
DEFAULT_WEBHOOK_SECRET = "whsec_EmulatorWebhookSecret0123456789ABCDEFGHIJKLM"
EMBEDDING_DIMENSIONS = 384

# (slug, display name, context length, reasoning on by default), from baseten-api.md §2.3.
_MODEL_APIS = [
    ("deepseek-ai/DeepSeek-V3-0324", "DeepSeek V3 0324", 163840, False),
    ("deepseek-ai/DeepSeek-V3.1", "DeepSeek V3.1", 163840, True),
    ("zai-org/GLM-4.6", "GLM 4.6", 202752, False),
    ("zai-org/GLM-4.7", "GLM 4.7", 204800, False),
    ("zai-org/GLM-5", "GLM 5", 327680, False),
    ("moonshotai/Kimi-K2-Instruct-0905", "Kimi K2 0905", 131072, False),
    ("moonshotai/Kimi-K2-Thinking", "Kimi K2 Thinking", 262144, True),
    ("moonshotai/Kimi-K2.5", "Kimi K2.5", 262144, False),
    ("MiniMaxAI/MiniMax-M2.5", "MiniMax M2.5", 204800, False),
    ("openai/gpt-oss-120b", "OpenAI GPT OSS 120B", 131072, True),
]


# Emulated `pricing` rows, USD per million tokens: input and output from Baseten's docs table
# (early 2026); the cached-input rate is half the input rate, an emulator invention.
_PRICES = {
    "deepseek-ai/DeepSeek-V3-0324": (0.77, 0.77),
    "deepseek-ai/DeepSeek-V3.1": (0.5, 1.5),
    "zai-org/GLM-4.6": (0.6, 2.2),
    "zai-org/GLM-4.7": (0.6, 2.2),
    "zai-org/GLM-5": (0.95, 3.15),
    "moonshotai/Kimi-K2.5": (0.6, 3.0),
    "MiniMaxAI/MiniMax-M2.5": (0.3, 1.2),
    "openai/gpt-oss-120b": (0.1, 0.5),
}
_VISION = {"moonshotai/Kimi-K2.5"}


def default_model_apis() -> dict[str, dict[str, Any]]:
    """The Model APIs catalog, keyed by slug."""
    catalog: dict[str, dict[str, Any]] = {}
    for slug, name, context, reasoning in _MODEL_APIS:
        prompt, completion = _PRICES.get(slug, (0.5, 1.5))
        catalog[slug] = {
            "name": name,
            "context_length": context,
            "max_completion_tokens": min(context, 32768),
            "reasoning": reasoning,
            "pricing": {
                "prompt": prompt,
                "completion": completion,
                "input_cache_read": round(prompt / 2, 4),
            },
        }
        if slug in _VISION:
            catalog[slug]["input_modalities"] = ["text", "image"]
    return catalog


def default_dedicated() -> dict[str, dict[str, Any]]:
    """Dedicated deployments keyed by model id: kind "llm" (OpenAI routes + predict),
    "embeddings" (BEI) or "reranker" (BEI rerank), with one deployment id per environment."""

    def envs(mid: str) -> dict[str, str]:
        return {
            "production": f"prod{mid[:4]}",
            "staging": f"stag{mid[:4]}",
            "development": f"devl{mid[:4]}",
        }

    return {
        # abcd1234 has a capacity (see `capacity`): 4 streams at full speed, 8 more slowed.
        "abcd1234": {
            "kind": "llm",
            "name": "emulated-llm-a",
            "context_length": 32768,
            "reasoning": False,
            "environments": envs("abcd1234"),
            "capacity_streams": 4,
            "queue_limit": 8,
            "prefill_s": 0.05,
        },
        "efgh5678": {
            "kind": "llm",
            "name": "emulated-llm-b",
            "context_length": 131072,
            "reasoning": False,
            "environments": envs("efgh5678"),
            "input_modalities": ["text", "image"],
        },
        # A weaker model that fails capability checks (see `model_traits`).
        "weak1234": {
            "kind": "llm",
            "name": "emulated-llm-basic",
            "context_length": 32768,
            "real_context_length": 8192,
            "reasoning": True,
            "quirks": ["no_tools", "no_json_schema", "no_usage", "fixed_reasoning"],
            "input_modalities": ["text"],
            "environments": envs("weak1234"),
        },
        "emb12345": {
            "kind": "embeddings",
            "name": "BAAI/bge-small-en-v1.5",
            "context_length": 512,
            "environments": envs("emb12345"),
        },
        "rrk12345": {
            "kind": "reranker",
            "name": "BAAI/bge-reranker-base",
            "context_length": 512,
            "environments": envs("rrk12345"),
        },
    }


@dataclass
class EmulatorConfig:
    """How the emulator behaves. Per-model overrides live in `models` keyed by slug or model id
    (keys: reply_tokens, tokens_per_second, first_token_delay_s, reasoning)."""

    api_keys: list[str] = field(default_factory=lambda: [DEFAULT_API_KEY])
    reply_tokens: int = 24
    tokens_per_second: float = 0.0  # 0 = as fast as possible
    first_token_delay_s: float = 0.0
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    rpm: int | None = None  # requests per minute over all inference routes; None = unlimited
    hold_jobs: bool = False
    job_queue_s: float = 0.2
    job_run_s: float = 0.2
    webhook_secrets: list[str] = field(default_factory=lambda: [DEFAULT_WEBHOOK_SECRET])
    webhook_timeout_s: float = 10.0
    webhook_retry_delay_s: float = 2.0
    model_apis: dict[str, dict[str, Any]] = field(default_factory=default_model_apis)
    dedicated: dict[str, dict[str, Any]] = field(default_factory=default_dedicated)

    def merged(self, changes: dict[str, Any]) -> EmulatorConfig:
        """A copy with `changes` applied; `models` entries merge per model. Unknown keys raise
        ValueError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown config keys: {unknown}; known: {sorted(names)}")
        for key, value in changes.items():
            _check_type(key, value, getattr(self, key))
        updates = dict(changes)
        if "models" in updates:
            models = {k: dict(v) for k, v in self.models.items()}
            for key, value in (updates["models"] or {}).items():
                models.setdefault(key, {}).update(value or {})
            updates["models"] = models
        return dataclasses.replace(self, **updates)

    def copy(self) -> EmulatorConfig:
        return copy.deepcopy(self)

    def model_setting(self, model_key: str, name: str) -> Any:
        """A per-model override if set, else the global value."""
        override = self.models.get(model_key, {})
        return override[name] if name in override else getattr(self, name)

    def public(self) -> dict[str, Any]:
        """The config as JSON for `GET /_emulator/config` (the API keys left out)."""
        data = dataclasses.asdict(self)
        data.pop("api_keys")
        return data


def _check_type(key: str, value: Any, current: Any) -> None:
    """Refuse a value whose type does not fit the setting (ints are fine for floats)."""
    if value is None and key == "rpm":
        return
    kinds: tuple[type, ...] = (type(current),)
    if isinstance(current, float) or key == "rpm":
        kinds = (int, float)
    if (isinstance(value, bool) and not isinstance(current, bool)) or not isinstance(value, kinds):
        raise ValueError(f"config key {key!r} expects {kinds[0].__name__}, got {value!r}")
