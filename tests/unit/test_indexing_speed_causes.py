"""What made indexing in the app several times slower than its own pipeline, checked without a
clock: Streamlit's full garbage collection after every rerun of the progress fragment (with
torch loaded, each one holds the GIL long enough to starve the embedding thread), and the
embedding model loading only once a file was already waiting."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import tomllib

from chatapp.services import documents as docs
from chatapp.services import embedders
from chatapp.services.embedders import BUNDLED_MODEL, EmbedSpec
from chatapp.settings import AppConfig
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER

REPO = Path(__file__).resolve().parents[2]


def test_the_server_does_not_collect_all_garbage_after_every_rerun() -> None:
    from streamlit import config as st_config

    options = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert options["runner"]["postScriptGC"] is False
    assert "runner.postScriptGC" in st_config._config_options_template  # a real option


def test_a_loaded_model_leaves_full_collections_little_to_walk() -> None:
    embedders.local_embedder(BUNDLED_MODEL)
    frozen = gc.get_freeze_count()
    tracked = len(gc.get_objects())
    assert frozen > 100_000  # torch and transformers' objects, set aside once loaded
    assert tracked < frozen / 2


def test_the_server_starts_loading_a_collections_model_before_any_page_is_opened(
    tmp_path: Path,
) -> None:
    config = AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(tmp_path)})
    engine = make_engine(config.database_url)
    init_db(engine)
    docs.create_collection(engine, "Manuals", EmbedSpec(), owner=LOCAL_OWNER)
    engine.dispose()
    # A fresh process, as at server start: nothing is loaded until the thread asks for it.
    script = textwrap.dedent(f"""
        from chatapp.services import documents, embedders
        from chatapp.settings import AppConfig
        config = AppConfig.load({{}}, {{"BASETEN_CHAT_DATA_DIR": {str(tmp_path)!r}}})
        assert embedders.local_model_state({BUNDLED_MODEL!r}) == "absent"
        documents.load_local_models_in_background(config).join(60)
        embedders.preload_local({BUNDLED_MODEL!r}).result(120)
        print(embedders.local_model_state({BUNDLED_MODEL!r}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=_offline_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "ready"


def test_opening_a_collection_on_the_page_starts_loading_its_model_before_any_upload(
    monkeypatch: Any,
) -> None:
    from chatapp import resources

    loads: dict[str, Any] = {}
    monkeypatch.setattr(embedders, "_loads", loads)  # this process has not loaded it yet
    resources.preload_embedder(EmbedSpec())
    first = loads[BUNDLED_MODEL]
    resources.preload_embedder(EmbedSpec())  # every rerun asks; it loads once
    resources.preload_embedder(EmbedSpec("baseten", "emb12345"))  # nothing to load here
    assert list(loads) == [BUNDLED_MODEL] and loads[BUNDLED_MODEL] is first
    assert embedders.local_model_state(BUNDLED_MODEL) in ("loading", "ready")
    assert first.result(120) is embedders.local_embedder(BUNDLED_MODEL)


def _offline_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("BASETEN_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    return env
