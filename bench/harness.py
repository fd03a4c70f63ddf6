"""Timing helpers: medians over repeated rounds, ratios to a same-run baseline, progress lines."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass
class Result:
    """Operations per second of one subject, as the median of several rounds."""

    name: str
    rounds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)


async def spread(call: Callable[[int], Awaitable[object]], n: int, *, concurrency: int) -> None:
    """Run ``call(0..n-1)`` on ``concurrency`` workers pulling from one counter (closed-loop clients)."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await call(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def progress(line: str) -> None:
    """One progress line on stderr, so long benchmarks show they are alive."""
    print(line, file=sys.stderr, flush=True)


async def measure(name: str, op: Callable[[int], Awaitable[None]], *, ops: int, rounds: int = 5) -> Result:
    """Run ``op(ops)`` ``rounds`` times (after one warm-up) and record ops/s per round."""
    await op(max(1, ops // 10))
    per_round = []
    for r in range(rounds):
        started = time.perf_counter()
        await op(ops)
        per_round.append(ops / (time.perf_counter() - started))
        progress(f"  {name}: round {r + 1}/{rounds}: {per_round[-1]:,.0f} ops/s")
    return Result(name, per_round)


def report(title: str, subject: Result, baseline: Result, goal: float | None = None) -> str:
    """A Markdown table row: subject vs baseline, both medians, and their ratio."""
    ratio = subject.median / baseline.median
    verdict = "" if goal is None else (" ✅" if ratio >= goal else " ❌") + f" (goal ≥ {goal})"
    return (
        f"| {title} | {subject.median:,.0f} ops/s | {baseline.median:,.0f} ops/s ({baseline.name}) "
        f"| **{ratio:.2f}**{verdict} |"
    )
