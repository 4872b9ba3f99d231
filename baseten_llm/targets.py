"""Dedicated deployments: model id checks and the target path (environment / development /
deployment) below the deployment URL. Pure, no I/O.

=============================  =======================================
Arguments                      Target prefix
=============================  =======================================
(default)                      ``/environments/production``
``environment="staging"``      ``/environments/staging``
``development=True``           ``/development``
``deployment_id="dep12345"``   ``/deployment/dep12345``
=============================  =======================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigurationError, InvalidModelIdError

__all__ = ["DedicatedTarget", "validate_model_id", "DEFAULT_ENVIRONMENT"]

DEFAULT_ENVIRONMENT = "production"
_ID = re.compile(r"^[A-Za-z0-9]+$")
_ENV = re.compile(r"^[A-Za-z0-9_-]+$")


def validate_model_id(model_id: str, *, what: str = "model id") -> str:
    """Return ``model_id`` or raise :class:`InvalidModelIdError` explaining the format."""
    if not isinstance(model_id, str) or not _ID.match(model_id):
        looks_like_slug = isinstance(model_id, str) and "/" in model_id
        extra = (
            " It looks like a Model APIs slug: use model_apis=True for shared models."
            if looks_like_slug
            else ""
        )
        raise InvalidModelIdError(
            f"{model_id!r} is not a valid dedicated deployment {what}. A {what} is 8 lowercase "
            f"letters and digits like 'abcd1234', shown on the model's page in the Baseten "
            f"dashboard (https://app.baseten.co).{extra}"
        )
    return model_id


@dataclass(frozen=True)
class DedicatedTarget:
    """Which deployment of a dedicated model to call."""

    environment: str | None = None
    development: bool = False
    deployment_id: str | None = None

    def __post_init__(self) -> None:
        chosen = [self.environment is not None, self.development, self.deployment_id is not None]
        if sum(chosen) > 1:
            raise ConfigurationError(
                "Choose one dedicated target: environment=..., development=True or deployment_id=..."
            )
        if self.environment is not None and not _ENV.match(self.environment):
            raise ConfigurationError(
                f"environment must be a name like 'production' or 'staging', got {self.environment!r}."
            )
        if self.deployment_id is not None:
            validate_model_id(self.deployment_id, what="deployment id")

    @property
    def prefix(self) -> str:
        """The path prefix, e.g. ``/environments/production``."""
        if self.development:
            return "/development"
        if self.deployment_id:
            return f"/deployment/{self.deployment_id}"
        return f"/environments/{self.environment or DEFAULT_ENVIRONMENT}"

    def describe(self) -> str:
        """Human words for error messages."""
        if self.development:
            return "the development deployment"
        if self.deployment_id:
            return f"deployment {self.deployment_id!r}"
        return f"environment {self.environment or DEFAULT_ENVIRONMENT!r}"

    def url(self, base_url: str, route: str) -> str:
        """``base_url`` + target prefix + ``route`` (e.g. ``sync/v1/chat/completions``)."""
        return f"{base_url.rstrip('/')}{self.prefix}/{route.lstrip('/')}"
