"""`python -m baseten_llm.emulator`: serve the emulator on a real socket."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from .backend import EmulatorBackend
from .config import EmulatorConfig
from .server import uvicorn_config


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m baseten_llm.emulator",
        description="Serve a local emulator of Baseten's inference APIs (a test and demo "
        "double; not Baseten).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument(
        "--tokens-per-second", type=float, default=0.0, help="stream pace; 0 = as fast as possible"
    )
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--reply-tokens", type=int, default=24, help="words per reply")
    parser.add_argument(
        "--webhook-secret",
        action="append",
        default=None,
        help="whsec_... (repeat for rotation, newest first)",
    )
    parser.add_argument("--api-key", default=None, help="the accepted key (default emulator-key)")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig(
        tokens_per_second=args.tokens_per_second,
        first_token_delay_s=args.first_token_delay,
        reply_tokens=args.reply_tokens,
    )
    if args.webhook_secret:
        config.webhook_secrets = list(args.webhook_secret)
    if args.api_key:
        config.api_keys = [args.api_key]
    return config


def banner(config: EmulatorConfig, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    return "\n".join(
        [
            f"Baseten API emulator (a local test double, not Baseten) on {base}",
            "Point a client at it:",
            f"  export BASETEN_MODEL_APIS_URL={base}/v1",
            f"  export BASETEN_DEPLOYMENT_URL='{base}/model-{{model_id}}'",
            f"  export BASETEN_API_KEY={config.api_keys[0]}",
            f"Dedicated model ids: {', '.join(config.dedicated)}",
            f"Webhook secret: {config.webhook_secrets[0] if config.webhook_secrets else '(none)'}",
            f"Control endpoints: {base}/_emulator/ (reset, requests, config, faults, "
            "jobs/release, webhooks)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = config_from(args)
    print(banner(config, args.host, args.port), flush=True)
    server = uvicorn.Server(
        uvicorn_config(EmulatorBackend(config), host=args.host, port=args.port, log_level="info")
    )
    server.run()


if __name__ == "__main__":
    main()
