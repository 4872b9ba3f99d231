"""Importing the package and its light modules must not import llama_index (about a second)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, so that sys.modules starts empty."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_light_modules_import_without_llama_index() -> None:
    result = run_fresh("""
        import sys
        import baseten_llm, baseten_llm.webhooks, baseten_llm.jobs, baseten_llm.errors
        import baseten_llm.catalog, baseten_llm.config
        from baseten_llm import verify_webhook, AsyncRequestStatus, WebhookStatus, errors
        loaded = sorted(m for m in sys.modules if m.startswith("llama_index"))
        assert "llama_index.core" not in sys.modules, loaded
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_baseten_and_embedding_load_on_first_use() -> None:
    result = run_fresh("""
        import sys
        import baseten_llm
        from baseten_llm import Baseten, BasetenEmbedding
        from baseten_llm.llm import Baseten as direct
        from llama_index.core.llms.function_calling import FunctionCallingLLM
        assert Baseten is direct and issubclass(Baseten, FunctionCallingLLM)
        assert BasetenEmbedding.__module__ == "baseten_llm.embeddings"
        assert "llama_index.core" in sys.modules
        assert {"Baseten", "BasetenEmbedding"} <= set(dir(baseten_llm))
        namespace = {}
        exec("from baseten_llm import *", namespace)
        assert set(baseten_llm.__all__) <= set(namespace)
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_unknown_attribute_is_an_attribute_error() -> None:
    result = run_fresh("""
        import baseten_llm
        try:
            baseten_llm.NoSuchThing
        except AttributeError as exc:
            assert "NoSuchThing" in str(exc)
            print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
