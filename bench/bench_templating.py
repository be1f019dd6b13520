"""Template cost per record: compile once, render many.

Usage: python bench/bench_templating.py [--count 100000]

Prints microseconds per render for the kinds of template flows use (a native
expression, mixed text, a predicate, a seed format through ``order_number``) and
the one-off compile time, so a change to the templating layer shows up as numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pazar.filters import FILTERS, order_number  # noqa: E402
from pazar.templating import TemplateEnv  # noqa: E402

CASES = [
    ("expression", "{{ [record.quantity - config.buffer_stock, 0] | max }}"),
    ("expression", "SKU-{{ record.sku }}"),
    ("predicate", "record.quantity > 0 and record.sku is defined"),
    ("format", "HB-{record.sku}-{record.quantity}"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    count = parser.parse_args().count
    env = TemplateEnv({f.name: f.func for f in FILTERS})
    context = {"record": {"sku": "A-1", "quantity": 12}, "config": {"buffer_stock": 3}}
    for kind, source in CASES:
        started = time.perf_counter()
        compiled = getattr(env, kind)(source, "bench")
        compile_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        for _ in range(count):
            compiled.render(context)
        per_render = (time.perf_counter() - started) / count * 1e6
        print(f"{kind:10} {per_render:7.2f} us/render  {compile_ms:6.2f} ms compile  {source}")
    started = time.perf_counter()
    for n in range(count):
        order_number("HB-{orderNumber}-{id}", orderNumber=n, id=9)
    per_call = (time.perf_counter() - started) / count * 1e6
    print(f"{'filter':10} {per_call:7.2f} us/call    order_number('HB-{{orderNumber}}-{{id}}')")


if __name__ == "__main__":
    main()
