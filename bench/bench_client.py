"""Client benchmark: baseten_llm against the upstream llama-index-llms-baseten and a raw floor.

Run on purpose (needs the ``bench`` extra): ``python bench/bench_client.py [--runs 7]``.

Everything talks to the emulator, started as a separate process on 127.0.0.1 so that its own
CPU time is not counted against the clients. Figures are medians of ``--runs`` runs, each
measured side by side in the same run:

* import time (fresh interpreter each time) of ``import baseten_llm`` (what the webhook receiver
  and jobs code pay: no llama_index) and of ``from baseten_llm import Baseten`` (what an LLM
  user pays, llama_index.core included), both against ``import llama_index.llms.baseten``;
* constructor time (upstream's constructor fetches ``/v1/models``; ours sends nothing);
* client CPU time (``time.process_time``) to consume a 2,000-token ``stream_chat``, against a
  raw floor that only reads SSE lines with httpx and json-decodes them;
* client CPU and wall time for 200 short non-streamed ``chat`` calls.

``--before REF`` adds the stream figure of ``baseten_llm`` as of a git ref (``git archive``,
e.g. the commit before a change to the stream code) beside this checkout's, measured in the
same run: each side in its own interpreter, alternating, ``--runs`` times each in every one of
three rounds; the medians of all its runs. ``--stream-only`` skips the other figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

STREAM_TOKENS = 2000
#: Both clients ask for the same cap; upstream's default (256) would cut its stream short.
MAX_TOKENS = 4096
SHORT_CALLS = 200
API_KEY = "emulator-key"
SLUG = "deepseek-ai/DeepSeek-V3-0324"  # a non-reasoning model: answer text only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in its own process at full speed; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "baseten_llm.emulator",
            "--port",
            str(port),
            "--api-key",
            API_KEY,
            "--tokens-per-second",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/_emulator/requests", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def configure(base: str, **values: Any) -> None:
    httpx.post(f"{base}/_emulator/config", json=values, timeout=5).raise_for_status()


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


# --- import and construction ------------------------------------------------------------


def import_seconds(statement: str) -> float:
    """Wall time of one import statement in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def ours(base: str, **kw: Any) -> Any:
    from baseten_llm import Baseten

    return Baseten(
        model_id=SLUG, api_key=API_KEY, model_apis_url=f"{base}/v1", max_tokens=MAX_TOKENS, **kw
    )


def upstream(base: str) -> Any:
    import llama_index.llms.baseten.base as upstream_base

    upstream_base.MODEL_APIS_BASE = f"{base}/v1/"  # never the real host
    return upstream_base.Baseten(
        model_id=SLUG, api_key=API_KEY, model_apis=True, max_tokens=MAX_TOKENS
    )


def construct_seconds(factory: Callable[[], Any], n: int = 50) -> float:
    started = time.perf_counter()
    for _ in range(n):
        factory()
    return (time.perf_counter() - started) / n


# --- streaming and short calls -----------------------------------------------------------


def cpu_seconds(work: Callable[[], Any]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def raw_floor_stream(base: str) -> Callable[[], int]:
    client = httpx.Client(timeout=60)
    body = {
        "model": SLUG,
        "messages": [{"role": "user", "content": "Stream please"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    def run() -> int:
        pieces = 0
        with client.stream(
            "POST",
            f"{base}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    pieces += 1
        return pieces

    return run


def llm_stream(llm: Any) -> Callable[[], int]:
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content="Stream please")]

    def run() -> int:
        return sum(1 for _ in llm.stream_chat(messages))

    return run


# --- the stream figure of two versions of baseten_llm, side by side ------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3


def archive(ref: str, into: Path) -> Path:
    """The source tree of ``ref`` (``git archive``), without touching any checkout."""
    data = subprocess.run(
        ["git", "archive", ref], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def stream_worker(base: str, runs: int) -> None:
    """Print the CPU seconds of ``runs`` 2,000-token streams of the baseten_llm on the path."""
    llm = ours(base)
    assert llm_stream(llm)() >= STREAM_TOKENS, "the client did not receive 2,000 tokens"
    print(json.dumps([cpu_seconds(llm_stream(llm)) for _ in range(runs)]))


def stream_cpu_in(root: Path, base: str, runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--stream-worker",
            base,
            "--runs",
            str(runs),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the stream worker for {root} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def stream_before_after(base: str, ref: str, runs: int) -> list[tuple[str, str, str]]:
    configure(base, reply_tokens=STREAM_TOKENS, tokens_per_second=0)
    with tempfile.TemporaryDirectory() as work:
        roots = {
            f"before ({ref})": archive(ref, Path(work) / "before"),
            "after (this checkout)": REPO_ROOT,
        }
        seconds: dict[str, list[float]] = {name: [] for name in roots}
        for _ in range(ROUNDS):
            for name, root in roots.items():
                seconds[name] += stream_cpu_in(root, base, runs)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    first = next(iter(medians.values()))
    return [
        (f"2,000-token stream_chat CPU (ms), {name}", f"{m * 1e3:.1f}", f"{m / first:.3f}x before")
        for name, m in medians.items()
    ]


def llm_short_calls(llm: Any) -> Callable[[], None]:
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content="Hi")]

    def run() -> None:
        for _ in range(SHORT_CALLS):
            llm.chat(messages)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--before", help="git ref whose stream figure is measured beside this checkout's"
    )
    parser.add_argument("--stream-only", action="store_true", help="only the stream figure(s)")
    parser.add_argument("--stream-worker", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.pop("BASETEN_API_KEY", None)
    if args.stream_worker:
        stream_worker(args.stream_worker, args.runs)
        return
    rows: list[tuple[str, str, str]] = []
    if args.stream_only:
        with emulator_process() as base:
            configure(base, reply_tokens=STREAM_TOKENS, tokens_per_second=0)
            if args.before:
                rows += stream_before_after(base, args.before, args.runs)
            else:
                rows.append(
                    (
                        "2,000-token stream_chat CPU (ms)",
                        f"{median_of(args.runs, lambda: cpu_seconds(llm_stream(ours(base)))) * 1e3:.1f}",
                        "",
                    )
                )
        print_rows(rows, args.runs)
        return

    imp_pkg = median_of(args.runs, lambda: import_seconds("import baseten_llm"))
    imp_llm = median_of(args.runs, lambda: import_seconds("from baseten_llm import Baseten"))
    imp_up = median_of(args.runs, lambda: import_seconds("import llama_index.llms.baseten"))
    rows.append(
        (
            "import baseten_llm (s, no llama_index)",
            f"{imp_pkg:.3f}",
            f"{imp_up:.3f}  ({imp_up / imp_pkg:.1f}x ours)",
        )
    )
    rows.append(
        (
            "from baseten_llm import Baseten (s)",
            f"{imp_llm:.3f}",
            f"{imp_up:.3f}  ({imp_up / imp_llm:.1f}x ours)",
        )
    )

    with emulator_process() as base:
        c_ours = median_of(args.runs, lambda: construct_seconds(lambda: ours(base)))
        c_up = median_of(args.runs, lambda: construct_seconds(lambda: upstream(base), n=10))
        rows.append(("constructor (ms)", f"{c_ours * 1e3:.3f}", f"{c_up * 1e3:.3f}"))

        configure(base, reply_tokens=STREAM_TOKENS, tokens_per_second=0)
        floor = raw_floor_stream(base)
        ours_llm, up_llm = ours(base), upstream(base)
        for llm in (ours_llm, up_llm):
            assert llm_stream(llm)() >= STREAM_TOKENS, "a client did not receive 2,000 tokens"
        s_floor = median_of(args.runs, lambda: cpu_seconds(floor))
        s_ours = median_of(args.runs, lambda: cpu_seconds(llm_stream(ours_llm)))
        s_up = median_of(args.runs, lambda: cpu_seconds(llm_stream(up_llm)))
        rows.append(
            (
                "2,000-token stream_chat CPU (ms)",
                f"{s_ours * 1e3:.1f}  ({s_ours / s_floor:.2f}x floor)",
                f"{s_up * 1e3:.1f}  ({s_up / s_floor:.2f}x floor)",
            )
        )
        rows.append(("raw floor: httpx lines + json (ms)", f"{s_floor * 1e3:.1f}", ""))

        configure(base, reply_tokens=8)
        short_ours = llm_short_calls(ours_llm)
        short_up = llm_short_calls(up_llm)
        cpu_o = median_of(args.runs, lambda: cpu_seconds(short_ours))
        cpu_u = median_of(args.runs, lambda: cpu_seconds(short_up))
        wall_o = median_of(args.runs, lambda: _wall(short_ours))
        wall_u = median_of(args.runs, lambda: _wall(short_up))
        rows.append((f"{SHORT_CALLS} chat calls CPU (s)", f"{cpu_o:.3f}", f"{cpu_u:.3f}"))
        rows.append((f"{SHORT_CALLS} chat calls wall (s)", f"{wall_o:.3f}", f"{wall_u:.3f}"))
        if args.before:
            rows += stream_before_after(base, args.before, args.runs)
    print_rows(rows, args.runs)


def print_rows(rows: list[tuple[str, str, str]], runs: int) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"median of {runs} runs; emulator in its own process at full speed")
    print(
        f"{'measure':<{width}}  {'baseten_llm':<28}  upstream llama-index-llms-baseten / baseline"
    )
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:<28}  {b}")


def _wall(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
