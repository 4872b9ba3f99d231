"""Client settings resolved in one documented order: argument > environment > default.

=========================  ==========================  ===========================================
Setting                    Environment variable        Default
=========================  ==========================  ===========================================
``api_key``                ``BASETEN_API_KEY``         none: :class:`MissingAPIKeyError` at the
                                                       first request (never at construction)
``model_apis_url``         ``BASETEN_MODEL_APIS_URL``  ``https://inference.baseten.co/v1``
``deployment_url``         ``BASETEN_DEPLOYMENT_URL``  ``https://model-{model_id}.api.baseten.co``
=========================  ==========================  ===========================================

``deployment_url`` without ``{model_id}`` is the base URL of a single model (a proxy in front of
one deployment): dedicated calls go below it whatever the model id, Model APIs ignore it.

The key is sent as ``Authorization: Bearer <key>`` and is never part of a ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from .errors import ConfigurationError, MissingAPIKeyError

__all__ = [
    "ClientConfig",
    "DEFAULT_MODEL_APIS_URL",
    "DEFAULT_DEPLOYMENT_URL",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_MAX_RETRIES",
    "ENV_API_KEY",
]

ENV_API_KEY = "BASETEN_API_KEY"
ENV_MODEL_APIS_URL = "BASETEN_MODEL_APIS_URL"
ENV_DEPLOYMENT_URL = "BASETEN_DEPLOYMENT_URL"
DEFAULT_MODEL_APIS_URL = "https://inference.baseten.co/v1"
DEFAULT_DEPLOYMENT_URL = "https://model-{model_id}.api.baseten.co"
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 3
USER_AGENT = "baseten-llm/0.1 (httpx)"


_Default = TypeVar("_Default", str, None)


def _resolve(
    argument: str | None, env_name: str, default: _Default, env: Mapping[str, str]
) -> str | _Default:
    """Argument if given, else the environment variable if non-empty, else the default."""
    if argument:
        return argument
    return env.get(env_name) or default


@dataclass(frozen=True)
class ClientConfig:
    """Everything the HTTP layer needs; build it with :meth:`resolve`."""

    api_key: str | None = field(default=None, repr=False)
    model_apis_url: str = DEFAULT_MODEL_APIS_URL
    deployment_url: str = DEFAULT_DEPLOYMENT_URL
    timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        model_apis_url: str | None = None,
        deployment_url: str | None = None,
        timeout_s: float | None = None,
        connect_timeout_s: float | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Resolve each setting: argument > environment > default. Does no I/O."""
        env = os.environ if env is None else env
        template = _resolve(deployment_url, ENV_DEPLOYMENT_URL, DEFAULT_DEPLOYMENT_URL, env)
        if max_retries is not None and max_retries < 0:
            raise ConfigurationError("max_retries must be 0 or more.")
        return cls(
            api_key=_resolve(api_key, ENV_API_KEY, None, env),
            model_apis_url=_resolve(
                model_apis_url, ENV_MODEL_APIS_URL, DEFAULT_MODEL_APIS_URL, env
            ).rstrip("/"),
            deployment_url=template.rstrip("/"),
            timeout_s=DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s),
            connect_timeout_s=DEFAULT_CONNECT_TIMEOUT_S
            if connect_timeout_s is None
            else float(connect_timeout_s),
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
            default_headers=dict(default_headers or {}),
        )

    def require_api_key(self) -> str:
        """The key, or :class:`MissingAPIKeyError` saying how to provide one."""
        if not self.api_key:
            raise MissingAPIKeyError(
                f"No Baseten API key. Pass api_key=... or set the {ENV_API_KEY} environment "
                "variable (create a key at https://app.baseten.co/settings/api_keys)."
            )
        return self.api_key

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header; raises :class:`MissingAPIKeyError` without a key."""
        return {**self.default_headers, "Authorization": f"Bearer {self.require_api_key()}"}

    def request_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers of one request: User-Agent < ``default_headers`` < ``extra`` < Authorization.

        Raises :class:`MissingAPIKeyError` without a key. A per-request header (for example
        Baseten's session-affinity header) never replaces the key.
        """
        headers = {"User-Agent": USER_AGENT, **self.default_headers}
        if extra:
            headers.update(extra)
        headers["Authorization"] = f"Bearer {self.require_api_key()}"
        return headers

    def model_base_url(self, model_id: str) -> str:
        """The dedicated deployment's base URL for ``model_id``.

        ``deployment_url`` is normally a template with ``{model_id}``; a URL without it is the
        base URL of one model (for example a proxy in front of one deployment) and is used as
        it is, whatever the model id.
        """
        return self.deployment_url.replace("{model_id}", model_id)

    def httpx_timeout(self) -> httpx.Timeout:
        """Connect and read timeouts as an ``httpx.Timeout``."""
        return httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s)
