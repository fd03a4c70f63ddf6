"""`make bench`: run every benchmark module and print a Markdown table for the README."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys

import bench


async def main(selected: list[str]) -> None:
    rows = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")):
        if selected and not any(s in mod for s in selected):
            continue
        module = importlib.import_module(f"bench.{mod}")
        rows += await module.run()
    print("\n| benchmark | subject (median) | baseline (median) | ratio |\n|---|---|---|---|")
    print(*rows, sep="\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
