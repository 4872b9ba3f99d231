"""Load-sweep figures against the emulator as the offline demo runs it (not Baseten).

The emulator streams 40 tokens/s per stream and gives dedicated `abcd1234` a capacity of 4
full-speed streams and 8 more slowed (429 past 12 in flight). The sweep should find its knee
at 4 and total throughput should level off near 4 x 40 tokens/s. Prints the step table and
the knee. Usage: python bench/bench_sweep.py [--step-s 3] [--concurrencies 1,2,4,8,16]
"""

from __future__ import annotations

import argparse

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from baseten_llm import Baseten
from baseten_llm.emulator import EmulatorConfig, EmulatorServer
from chatapp.services.load_sweep import (
    Sweep,
    SweepPlan,
    SweepRunner,
    parse_concurrencies,
)
from chatapp.services.report_sections import sweep_rows
from chatapp.targets import Target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step-s", type=float, default=3.0)
    parser.add_argument("--concurrencies", default="1,2,4,8,16")
    args = parser.parse_args()
    with EmulatorServer.start(EmulatorConfig(tokens_per_second=40.0), port=0) as emu:
        target = Target(kind="dedicated", model="abcd1234")
        sweep = Sweep(
            target, "bench", SweepPlan(parse_concurrencies(args.concurrencies), args.step_s)
        )

        def make(http):
            return Baseten(
                **target.llm_kwargs(),
                api_key=emu.api_key,
                max_retries=0,
                deployment_url=emu.deployment_url,
                http_client=http,
            )

        messages = [ChatMessage(role=MessageRole.USER, content="How many users can you serve?")]
        with SweepRunner(sweep, make, messages) as runner:
            runner.wait(600)
        rows = sweep_rows(sweep)
        print(" | ".join(rows[0]))
        for row in rows:
            print(" | ".join(row.values()))
        print(sweep.knee_note())


if __name__ == "__main__":
    main()
