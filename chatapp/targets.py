"""What the app talks to: a Model API slug or a dedicated deployment, and how to call it.

A :class:`Target` is chosen in the sidebar and read by every page; :func:`make_llm` turns it,
the API key and the generation settings into a :class:`baseten_llm.Baseten`. Nothing here does
I/O, so building an LLM for each request costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from baseten_llm import Baseten
    from chatapp.settings import AppConfig

TargetKind = Literal["model_apis", "dedicated"]
DedicatedScope = Literal["production", "development", "environment", "deployment"]
ApiStyle = Literal["openai", "predict"]

DEFAULT_MODEL_API = "deepseek-ai/DeepSeek-V3.1"


@dataclass(frozen=True)
class Target:
    """A model to send requests to.

    ``model`` is a Model APIs slug when ``kind == "model_apis"`` and a dedicated model id
    otherwise. For dedicated models, ``scope`` picks production, development, a named
    environment (``environment``) or a specific deployment (``deployment_id``).
    """

    kind: TargetKind = "model_apis"
    model: str = DEFAULT_MODEL_API
    scope: DedicatedScope = "production"
    environment: str = "production"
    deployment_id: str = ""
    api_style: ApiStyle = "openai"

    @property
    def is_dedicated(self) -> bool:
        return self.kind == "dedicated"

    @property
    def scope_label(self) -> str:
        """The dedicated target as a person would name it: ``production``, ``staging`` ..."""
        if self.scope == "environment":
            return self.environment
        if self.scope == "deployment":
            return f"deployment {self.deployment_id}"
        return self.scope

    @property
    def label(self) -> str:
        """One line for the page header, e.g. ``Dedicated · abcd1234 · production``.

        A dedicated target that is not usable (see :meth:`problem`) never shows its id:
        ``Dedicated · model id needed``.
        """
        if not self.is_dedicated:
            return f"Model API · {self.model}"
        if self.problem():
            return "Dedicated · model id needed"
        style = " · /predict" if self.api_style == "predict" else ""
        return f"Dedicated · {self.model} · {self.scope_label}{style}"

    def problem(self, where: str = "in the sidebar") -> str | None:
        """Why requests cannot be sent to this target yet, in plain words; None when they can.

        The dedicated model id (and a deployment id or environment name, when chosen) is
        checked with the library's own rule; nothing is sent. ``where`` names the place the
        person corrects it (the sidebar, or a Compare side such as "under Target B").
        """
        if not self.is_dedicated:
            return None if self.model.strip() else f"Choose a model {where}."
        problem = _id_problem(self.model, "model id", where)
        if problem is None and self.scope == "deployment":
            problem = _id_problem(self.deployment_id, "deployment id", where)
        bad_environment = self.scope == "environment" and not _ENVIRONMENT.match(self.environment)
        if problem is None and bad_environment:
            problem = (
                "The environment name can only hold letters, digits, - and _ (like staging). "
                f"Correct it {where}."
            )
        return problem

    def llm_kwargs(self) -> dict[str, Any]:
        """Constructor keywords for :class:`baseten_llm.Baseten` that select this target."""
        if not self.is_dedicated:
            return {"model_id": self.model, "model_apis": True}
        kwargs: dict[str, Any] = {
            "model_id": self.model,
            "model_apis": False,
            "api_style": self.api_style,
        }
        if self.scope == "development":
            kwargs["development"] = True
        elif self.scope == "deployment":
            kwargs["deployment_id"] = self.deployment_id
        elif self.scope == "environment":
            kwargs["environment"] = self.environment
        else:
            kwargs["environment"] = "production"
        return kwargs

    def to_dict(self) -> dict[str, str]:
        """A plain record, for storing which target produced a message."""
        return {
            "kind": self.kind,
            "model": self.model,
            "scope": self.scope,
            "environment": self.environment,
            "deployment_id": self.deployment_id,
            "api_style": self.api_style,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class GenerationSettings:
    """Per-request generation parameters chosen in the sidebar (None: the model's default).

    The one home of their rules: :meth:`with_persona_default` (a persona's temperature applies
    when the sidebar leaves temperature unset, on every page) and :meth:`llm_kwargs` (how they
    reach :class:`baseten_llm.Baseten`). Chat, Documents and Compare all go through both.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None
    enable_thinking: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_temperature(self, temperature: float | None) -> GenerationSettings:
        return replace(self, temperature=temperature)

    def with_persona_default(self, persona_temperature: float | None) -> GenerationSettings:
        """These settings, with the persona's temperature when none is chosen here."""
        if self.temperature is None and persona_temperature is not None:
            return self.with_temperature(persona_temperature)
        return self

    def request_kwargs(self) -> dict[str, Any]:
        """Request-body fields beyond temperature and max_tokens (the client's
        ``additional_kwargs``): extra fields, reasoning effort, the thinking switch."""
        kwargs: dict[str, Any] = {
            k: v for k, v in self.extra.items() if k not in ("temperature", "max_tokens")
        }
        if self.reasoning_effort:
            kwargs["reasoning_effort"] = self.reasoning_effort
        if self.enable_thinking is not None:
            kwargs["chat_template_args"] = {"enable_thinking": self.enable_thinking}
        return kwargs

    def llm_kwargs(self) -> dict[str, Any]:
        """Constructor keywords for :class:`baseten_llm.Baseten` that carry these settings."""
        kwargs: dict[str, Any] = {}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        extra = self.request_kwargs()
        if extra:
            kwargs["additional_kwargs"] = extra
        return kwargs


_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_-]+$")


def _id_problem(value: str, what: str, where: str) -> str | None:
    """Plain words for a dedicated model or deployment id the library would refuse."""
    from baseten_llm.errors import InvalidModelIdError
    from baseten_llm.targets import validate_model_id

    if not value:
        return (
            f"Enter the deployment's {what} {where}: 8 lowercase letters and digits, "
            "like abcd1234, shown on the model's page in Baseten."
        )
    try:
        validate_model_id(value)
    except InvalidModelIdError:
        if "/" in value:
            return (
                f"“{value}” looks like a Model APIs model name, not a {what}: choose Model "
                f"APIs as the model source {where}."
            )
        return (
            f"“{value}” is not a valid {what}: it is 8 lowercase letters and digits, like "
            f"abcd1234, shown on the model's page in Baseten. Correct it {where}."
        )
    return None


def make_llm(
    target: Target,
    api_key: str | None,
    config: AppConfig,
    generation: GenerationSettings | None = None,
    **overrides: Any,
) -> Baseten:
    """Build the LLM for ``target``. Pure: no request is sent until it is used."""
    from baseten_llm import Baseten

    kwargs: dict[str, Any] = target.llm_kwargs()
    kwargs["api_key"] = api_key
    if config.model_apis_url:
        kwargs["model_apis_url"] = config.model_apis_url
    if config.deployment_url:
        kwargs["deployment_url"] = config.deployment_url
    kwargs.update((generation or GenerationSettings()).llm_kwargs())
    kwargs.update(overrides)
    return Baseten(**kwargs)
