"""The steady training rate read off MLPerf Training logs (benchmarks/validation/mlperf_throughput.py),
on hand-written logs of each format whose rate is worked by hand.

Every log below has five blocks of 4 epochs of 1,000 images: the first (compiling) from 0 to
50 s, three steady ones 50-150, 150-250 and 250-350 s, and a last one cut short at 380 s. The
steady rate is 3 blocks × 4 epochs × 1,000 images over 350 − 50 s = 40 images/s."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "validation"))
from mlperf_throughput import steady_rate  # noqa: E402

T0 = 1_500_000_000.0
EDGES = [(0, 50), (50, 150), (150, 250), (250, 350), (350, 380)]


def _v10() -> str:
    """:::MLLOG lines, times in ms, behind a logger's prefix as some submitters' logs have."""
    def line(t, key, value="null", meta="{}"):
        return (f'I0518 21:33:08 mllog.py:168] :::MLLOG {{"namespace": "", "time_ms": {int((T0 + t) * 1000)}, '
                f'"key": "{key}", "value": {value}, "metadata": {meta}}}')
    out = [line(-9, "global_batch_size", "256"), line(-9, "opt_name", '"lars"'),
           line(-9, "submission_platform", '"tpu-v4-16"'), line(-1, "train_samples", "1000")]
    for i, (a, b) in enumerate(EDGES):
        meta = f'{{"first_epoch_num": {4.0 * i}, "epoch_count": 4}}'
        out += [line(a, "block_start", meta=meta), line(b, "block_stop", meta=meta)]
    return "\n".join(out)


def _v06() -> str:
    def line(t, key, value="null", meta="{}"):
        return f':::MLL {T0 + t:.3f} {key}: {{"value": {value}, "metadata": {meta}}}'
    out = [line(-9, "global_batch_size", "256"), line(-9, "opt_name", '"lars"'),
           line(-1, "num_train_examples", "1000")]
    for i, (a, b) in enumerate(EDGES):
        out += [line(a, "block_start", meta=f'{{"first_epoch_num": {4 * i}, "epoch_count": 4}}'),
                line(b, "block_stop", meta=f'{{"first_epoch_num": {4 * i}}}')]
    return "\n".join(out)


def _v05() -> str:
    """No blocks: an evaluation ends each one. An aborted attempt comes first, as in one real log."""
    def line(t, key, value=None):
        return f":::MLPv0.5.0 resnet {T0 + t:.9f} (resnet_main.py:1) {key}" + ("" if value is None else f": {value}")
    out = [line(-500, "run_start"), line(-400, "eval_stop"), line(-400, "eval_accuracy", '{"epoch": 3, "value": 0.1}'),
           line(-9, "run_start"), line(-9, "input_batch_size", "256"),
           line(-9, "opt_name", '"stochastic_gradient_descent_with_momentum"'),
           line(-9, "preproc_num_train_examples", "1000")]
    for i, (_, b) in enumerate([(None, 0)] + EDGES):           # an evaluation at 0 s closes the warm-up
        out += [line(b - 5, "eval_start"), line(b, "eval_stop"),
                line(b, "eval_accuracy", f'{{"epoch": {4 * i}, "value": 0.5}}')]
    return "\n".join(out)


@pytest.mark.parametrize("log", [_v10, _v06, _v05])
def test_steady_rate_is_worked_by_hand(log):
    r = steady_rate(log())
    assert r.global_batch == 256 and r.blocks == 3 and r.epochs == 12
    assert r.stop_s - r.start_s == pytest.approx(300.0, abs=1e-3)
    assert r.images_per_s == pytest.approx(40.0, rel=1e-6)


def test_optimizer_and_platform_are_read():
    r = steady_rate(_v10())
    assert (r.platform, r.optimizer) == ("tpu-v4-16", "lars")
    assert steady_rate(_v05()).optimizer == "stochastic_gradient_descent_with_momentum"


def test_too_few_blocks_is_an_error():
    text = "\n".join(_v06().splitlines()[:3 + 4])               # two blocks only
    with pytest.raises(ValueError, match="four blocks"):
        steady_rate(text)
