"""The widgets that pick one target (a Model API or a dedicated deployment), shared by the
sidebar, the Compare page's sides, its load sweep and its capability checks. ``key(name)``
makes each widget's key, e.g. ``lambda n: f"cmp_{n}_0"`` gives ``cmp_kind_0``,
``cmp_model_api_0`` ... (names: kind, model_api, model_id, scope, environment, deployment_id,
api_style); the sidebar uses ``sb_{name}``.

The dedicated ids are checked as they are typed (``live=True`` text inputs send the value
after a short pause, not only on Enter) with the library's rule (:meth:`Target.problem`), and
the reason is shown under the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from chatapp.targets import Target

KIND_LABELS = {"model_apis": "Model APIs", "dedicated": "Dedicated deployment"}
SCOPE_LABELS = {
    "production": "Production",
    "development": "Development",
    "environment": "Named environment",
    "deployment": "Specific deployment",
}
STYLE_LABELS = {"openai": "OpenAI-compatible (/sync/v1)", "predict": "Custom Truss (/predict)"}


def pick_target(
    current: Target,
    model_rows: Mapping[str, Any],
    key: Callable[[str], str],
    where: str = "in the sidebar",
) -> Target:
    """Draw the widgets; return the target they describe (check it with ``problem()``).

    ``where`` names these widgets' place in the reason shown for an id that is not valid.
    """
    kinds = list(KIND_LABELS)
    kind = st.radio(
        "Model source",
        kinds,
        index=kinds.index(current.kind),
        horizontal=True,
        format_func=KIND_LABELS.__getitem__,
        key=key("kind"),
    )
    if kind == "model_apis":
        slugs = list(model_rows)
        index = slugs.index(current.model) if current.model in slugs else 0
        slug = st.selectbox(
            "Model API",
            slugs,
            index=index,
            key=key("model_api"),
            format_func=lambda s: model_rows[s].label,
        )
        return Target(kind="model_apis", model=str(slug))
    target = _dedicated(current, key)
    problem = target.problem(where)
    if problem:
        st.warning(problem, icon="✋")
    return target


def _dedicated(current: Target, key: Callable[[str], str]) -> Target:
    model_id = st.text_input(
        "Model id",
        value=current.model if current.is_dedicated else "",
        placeholder="abcd1234",
        key=key("model_id"),
        live=True,
        help="The 8-character id on the model's page in Baseten; checked as you type.",
    ).strip()
    scopes = list(SCOPE_LABELS)
    scope = st.selectbox(
        "Deployment",
        scopes,
        index=scopes.index(current.scope),
        format_func=SCOPE_LABELS.__getitem__,
        key=key("scope"),
    )
    environment, deployment_id = current.environment, current.deployment_id
    if scope == "environment":
        environment = st.text_input(
            "Environment", value=environment, key=key("environment"), live=True
        )
    elif scope == "deployment":
        deployment_id = st.text_input(
            "Deployment id", value=deployment_id, key=key("deployment_id"), live=True
        ).strip()
    styles = list(STYLE_LABELS)
    style = st.radio(
        "API style",
        styles,
        index=styles.index(current.api_style),
        format_func=STYLE_LABELS.__getitem__,
        key=key("api_style"),
    )
    return Target(
        kind="dedicated",
        model=model_id,
        scope=scope,
        environment=environment.strip() or "production",
        deployment_id=deployment_id,
        api_style=style,
    )
