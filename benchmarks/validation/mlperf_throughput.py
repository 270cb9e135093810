"""Steady training throughput (images/s) from an MLPerf Training ResNet-50 result log.

MLPerf Training publishes a time-to-train, which mixes the training rate with compilation,
initialisation and evaluation. Its logs also time every *block* (``block_start`` /
``block_stop``: ``epoch_count`` epochs of training followed by one evaluation of 50,000 images),
so a steady rate can be read off them: the blocks after the first (which compiles) and before
the last (which stops at the target accuracy), their epochs × ``train_samples`` over the time from
the first one's start to the last one's stop. The evaluation inside each block (50,000 forward
images per 4 × 1,281,167 trained, about 0.3 % of a block's work) is left in.

Three log formats are read: ``:::MLPv0.5.0 resnet <seconds> (file:line) key: value`` (v0.5,
which has no blocks: a block there is the span from one ``eval_stop`` to the next, the epochs
between their ``eval_accuracy`` epochs, counted from the last ``run_start`` since a log may
begin with an aborted attempt), ``:::MLL <seconds> key: {json}`` (v0.6) and ``:::MLLOG {json}``
with ``time_ms`` (v0.7 on), also when a logger prefixes the line.

    python benchmarks/validation/mlperf_throughput.py result_0.txt [...]
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

_V05 = re.compile(r":::MLPv0\.5\.0 \w+ (\S+) \(\S+\) (\w+)(?:: (.*))?$")
_V06 = re.compile(r":::MLL (\S+) (\w+): (.*)$")


@dataclass(frozen=True)
class Event:
    time_s: float
    key: str
    value: object
    metadata: dict


@dataclass(frozen=True)
class SteadyRate:
    """What a row's ``notes`` cite: the blocks used and the rate they give."""
    platform: str
    global_batch: int
    optimizer: str
    blocks: int            # steady blocks used
    epochs: float
    start_s: float         # log time of the first steady block_start
    stop_s: float          # log time of the last steady block_stop
    images_per_s: float


def events(text: str) -> list[Event]:
    out = []
    for line in text.splitlines():
        if ":::MLLOG " in line:
            d = json.loads(line.split(":::MLLOG ", 1)[1])
            out.append(Event(d["time_ms"] / 1e3, d["key"], d.get("value"), d.get("metadata") or {}))
        elif (m := _V05.search(line)) is not None:
            value = json.loads(m.group(3)) if m.group(3) else None
            out.append(Event(float(m.group(1)), m.group(2), value, {}))
        elif (m := _V06.search(line)) is not None:
            d = json.loads(m.group(3))
            out.append(Event(float(m.group(1)), m.group(2), d.get("value"), d.get("metadata") or {}))
    return out


def blocks(ev: list[Event]) -> list[tuple[float, float, float]]:
    """(start s, stop s, epochs) of every block of the log, in order."""
    if any(e.key == "block_start" for e in ev):
        stops = {e.metadata.get("first_epoch_num"): e.time_s for e in ev if e.key == "block_stop"}
        return [(e.time_s, stops[e.metadata["first_epoch_num"]], float(e.metadata["epoch_count"]))
                for e in ev if e.key == "block_start" and e.metadata.get("first_epoch_num") in stops]
    run = max(i for i, e in enumerate(ev) if e.key == "run_start")     # v0.5: evaluations only
    marks, stop = [], None
    for e in ev[run:]:
        if e.key == "eval_stop":
            stop = e.time_s
        elif e.key == "eval_accuracy" and stop is not None:
            marks.append((stop, float(e.value["epoch"])))
            stop = None
    return [(t0, t1, e1 - e0) for (t0, e0), (t1, e1) in zip(marks, marks[1:])]


def steady_rate(text: str) -> SteadyRate:
    ev = events(text)
    first = {e.key: e.value for e in reversed(ev)}           # first value of each key
    samples = (first.get("train_samples") or first.get("num_train_examples")
               or first.get("preproc_num_train_examples"))
    steady = blocks(ev)[1:-1]
    if not samples or len(steady) < 2:
        raise ValueError("needs train_samples and at least four blocks")
    epochs = sum(b[2] for b in steady)
    seconds = steady[-1][1] - steady[0][0]
    batch = first.get("global_batch_size") or first.get("input_batch_size")
    return SteadyRate(str(first.get("submission_platform")), int(batch), str(first.get("opt_name")),
                      len(steady), epochs, steady[0][0], steady[-1][1], epochs * samples / seconds)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        r = steady_rate(Path(name).read_text(encoding="utf-8"))
        print(f"{name}: {r.platform}, batch {r.global_batch}, {r.optimizer}: {r.blocks} blocks, "
              f"{r.epochs:g} epochs from {r.start_s:.3f} to {r.stop_s:.3f} s "
              f"({r.stop_s - r.start_s:.3f} s) = {r.images_per_s:,.0f} img/s")
