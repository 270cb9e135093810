"""Mini-batch training loop: same seed, data order, initial weights and schedule for every rule.

`train(TrainConfig) -> TrainResult` runs the epochs, evaluates test accuracy (and, with ``val``,
the accuracy on the last ``val`` training images, held out: what a learning-rate search selects
on, so the test set never chooses) after each epoch and
records, on sampled steps, the per-layer relative errors of the rule's update against the true
batch gradient G and its exact rank-k truncation G_k. The seed is split into three independent
streams (initial weights, SBPCA initial factors, data shuffling), so runs that differ only in the
update rule start from the same weights and see the batches in the same order.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from asicsim.errors import InputError
from asicsim.nn import datasets as D
from asicsim.nn.blas import keep_freed_memory, limit_blas_threads
from asicsim.nn.feedback import BACKWARDS, make_feedback
from asicsim.nn.model import Model, build_model
from asicsim.nn.updates import RULES, SUB_BATCH_UNITS, make_rule
from asicsim.outputs import output_dir, write_csv, write_json
from asicsim.workload.network import load_network

SCHEDULES = ("constant", "cosine", "step")


@contextmanager
def _stop_between_steps():
    """Turn Ctrl-C into a flag the loop reads after each step.

    Why: a SIGINT that lands while a numba kernel runs surfaces as ``SystemError: ... returned a
    result with an exception set`` rather than KeyboardInterrupt, so the step in flight is let
    finish (milliseconds) and the loop stops cleanly. A second Ctrl-C interrupts at once. Outside
    the main thread signals cannot be handled here, and the flag simply stays unset.
    """
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class TrainConfig:
    network: str = "lenet5"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    update: str = "full"
    backward: str = "bp"
    rank: int = 4
    sub_batch: int = 32
    sub_batch_unit: str = "pairs"
    batch: int = 64
    epochs: int = 1
    lr: float = 0.05
    momentum: float = 0.0
    schedule: str = "constant"
    seed: int = 0
    log_every: int = 50
    limit_train: int | None = None
    limit_test: int | None = None
    val: int | None = None      # hold out the last N training images for validation (lr search)

    def validate(self) -> None:
        def bad(field_, value, allowed):
            raise InputError("invalid training option", field=field_, value=value, allowed=allowed)
        if self.update not in RULES:
            bad("update", self.update, ", ".join(RULES))
        if self.backward not in BACKWARDS:
            bad("backward", self.backward, ", ".join(BACKWARDS))
        if self.sub_batch_unit not in SUB_BATCH_UNITS:
            bad("sub_batch_unit", self.sub_batch_unit, ", ".join(SUB_BATCH_UNITS))
        if self.schedule not in SCHEDULES:
            bad("schedule", self.schedule, ", ".join(SCHEDULES))
        for name in ("rank", "sub_batch", "batch", "epochs", "log_every"):
            if int(getattr(self, name)) < 1:
                bad(name, getattr(self, name), "an integer >= 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            bad("lr", self.lr, "a number > 0")
        if not 0.0 <= self.momentum < 1.0:
            bad("momentum", self.momentum, "0 <= momentum < 1")
        for name in ("limit_train", "limit_test"):
            v = getattr(self, name)
            if v is not None and v < 1:
                bad(name, v, "an integer >= 1")
        if self.val is not None and self.val < 1:
            bad("val", self.val, "an integer >= 1, fewer than the training images")


@dataclass
class TrainResult:
    history: pd.DataFrame
    summary: dict
    model: Model = field(repr=False, default=None)

    def write(self, out: str | Path) -> Path:
        out = output_dir(out)
        write_csv(out / "history.csv", self.history, float_format="%.6g")
        write_json(out / "summary.json", self.summary)
        return out


def lr_at(cfg: TrainConfig, step: int, total: int) -> float:
    """Learning rate of (0-based) ``step`` out of ``total``: constant, cosine to 0, or ÷10 at 50 % and 75 %."""
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
    if cfg.schedule == "step":
        return cfg.lr * (0.1 ** ((step >= total // 2) + (step >= (3 * total) // 4)))
    return cfg.lr


def _prepare(cfg: TrainConfig):
    net = load_network(cfg.network)
    ds = D.load_dataset(cfg.dataset, cfg.data_dir)
    s = net.input_shape
    xtr, note = D.fit_images(ds.x_train[: cfg.limit_train], (s.c, s.h, s.w))
    xte, _ = D.fit_images(ds.x_test[: cfg.limit_test], (s.c, s.h, s.w))
    ytr, yte = ds.y_train[: cfg.limit_train], ds.y_test[: cfg.limit_test]
    xva = yva = None
    if cfg.val is not None:     # the last N training images, never trained on
        if cfg.val >= len(xtr):
            raise InputError("the validation split must leave training images", field="val", value=cfg.val,
                             allowed=f"an integer from 1 to {len(xtr) - 1} (the training set has {len(xtr)} images)")
        cut = len(xtr) - cfg.val
        xtr, xva, ytr, yva = xtr[:cut], xtr[cut:], ytr[:cut], ytr[cut:]
    return net, ds, xtr, ytr, xte, yte, xva, yva, note


def train(cfg: TrainConfig, progress: bool = False, notify=None) -> TrainResult:
    """Train ``cfg.network`` on ``cfg.dataset`` with rule ``cfg.update`` (see module docstring).

    ``progress``: a tqdm bar, shown only when stderr is a terminal (``disable=None``: no redraw
    lines in logs and pipes). ``notify(text)``: called before training with the input adaptation
    done to fit the dataset to the network (e.g. an ONNX network's 32×32×3 input), if any."""
    cfg.validate()
    limit_blas_threads(1)
    keep_freed_memory()
    t_start = time.perf_counter()
    net, ds, xtr, ytr, xte, yte, xva, yva, note = _prepare(cfg)
    if note and notify is not None:
        notify(f"input adapted to {net.name}'s {net.input_shape.c}x{net.input_shape.h}x{net.input_shape.w} "
               f"input: {note}")
    ss_init, ss_rule, ss_data = np.random.SeedSequence(cfg.seed).spawn(3)
    model = build_model(net, np.random.default_rng(ss_init))
    if model.num_outputs < ds.num_classes:
        raise InputError(f"network gives {model.num_outputs} scores but the dataset has {ds.num_classes} classes",
                         file=ds.source or None, field="network", value=cfg.network)
    rule = make_rule(cfg.update, cfg.momentum, cfg.rank, cfg.sub_batch, cfg.sub_batch_unit)
    layers = model.weighted
    rule.setup(layers, np.random.default_rng(ss_rule))
    # a fourth, independent stream for the feedback matrices (spawn key 3: the first three
    # streams, and so every bp run, are unchanged)
    feedback = make_feedback(cfg.backward, model, np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(4)[3]),
                             net.path or net.name)
    shuffle = np.random.default_rng(ss_data)
    mean, std = D.normalisation(xtr)
    xte_f = D.to_network_input(xte, mean, std)
    xva_f = None if xva is None else D.to_network_input(xva, mean, std)
    vals: list[float] = []

    n = len(xtr)
    steps_per_epoch = -(-n // cfg.batch)
    total = steps_per_epoch * cfg.epochs
    rows: list[dict] = []
    accs: list[float] = []
    step = 0
    train_time = 0.0
    train_cpu = 0.0
    seen_images = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, desc=f"{net.name} {cfg.update}", unit="step", dynamic_ncols=True, leave=True,
                   disable=None)
    interrupted = None
    epoch = 0
    with _stop_between_steps() as ctrl_c:
        try:
            for epoch in range(1, cfg.epochs + 1):
                perm = shuffle.permutation(n)
                loss_sum, correct, count = 0.0, 0, 0
                for b in range(steps_per_epoch):
                    t0, c0 = time.perf_counter(), time.process_time()
                    idx = perm[b * cfg.batch: (b + 1) * cfg.batch]
                    x = D.to_network_input(xtr[idx], mean, std)
                    y = ytr[idx]
                    loss, logits = model.loss(x, y)
                    if not math.isfinite(loss):
                        raise FloatingPointError(f"training diverged (loss {loss}) at epoch {epoch}, step {step + 1}; "
                                                 "lower --lr")
                    model.backward(feedback)
                    last = b == steps_per_epoch - 1
                    diagnose = ((step + 1) % cfg.log_every == 0) or last
                    info = rule.apply(layers, lr_at(cfg, step, total), diagnose)
                    rule.apply_vectors(model.norms, lr_at(cfg, step, total))
                    train_time += time.perf_counter() - t0
                    train_cpu += time.process_time() - c0
                    seen_images += len(idx)
                    step += 1
                    loss_sum += loss * len(idx)
                    correct += int((logits.argmax(axis=1) == y).sum())
                    count += len(idx)
                    if diagnose:
                        row = {"epoch": epoch, "step": step, "lr": lr_at(cfg, step - 1, total),
                               "train_loss": loss_sum / count, "train_accuracy": correct / count,
                               "test_accuracy": math.nan}
                        for name, d in info.items():
                            row[f"{name}_err"] = d["err"]
                            row[f"{name}_err_k"] = d["err_k"]
                            row[f"{name}_svd_err"] = d["svd_err"]
                        if last:
                            acc = float((model.predict(xte_f) == yte).mean())
                            row["test_accuracy"] = acc
                            accs.append(acc)
                            if xva_f is not None:
                                vals.append(float((model.predict(xva_f) == yva).mean()))
                                row["val_accuracy"] = vals[-1]
                        rows.append(row)
                        loss_sum, correct, count = 0.0, 0, 0
                    if bar is not None:
                        bar.update(1)
                        if diagnose:
                            post = {"loss": f"{rows[-1]['train_loss']:.3f}"}
                            if accs and last:
                                post["test_acc"] = f"{accs[-1]:.4f}"
                            bar.set_postfix(post)
                    if ctrl_c["stop"]:
                        raise KeyboardInterrupt
        except KeyboardInterrupt:   # Ctrl-C: keep what was logged; the summary says where it stopped
            interrupted = {"epoch": epoch, "steps_done": step, "of_steps": total}
        finally:
            if bar is not None:
                bar.close()
    wall = time.perf_counter() - t_start
    hist = pd.DataFrame(rows)
    err_cols = [c for c in hist.columns if c.endswith("_err") or c.endswith("_err_k")]
    summary = {
        **({"complete": False, "interrupted": interrupted} if interrupted else {}),
        "final_test_accuracy": accs[-1] if accs else None,
        "best_test_accuracy": max(accs) if accs else None,
        "epochs": cfg.epochs,
        "update": cfg.update,
        "backward": cfg.backward,
        "feedback_numbers": feedback.feedback_numbers() if feedback is not None else 0,
        "rank": cfg.rank if cfg.update != "full" else None,
        "sub_batch": cfg.sub_batch if cfg.update == "sbpca" else None,
        "wall_s": round(wall, 3),
        "train_images_per_s": round(seen_images / train_time, 1) if train_time > 0 else None,
        "train_images_per_cpu_s": round(seen_images / train_cpu, 1) if train_cpu > 0 else None,
        "final_train_loss": float(hist["train_loss"].iloc[-1]) if len(hist) else None,
        "test_accuracy_per_epoch": accs,
        **({"val_accuracy_per_epoch": vals, "n_val": int(len(xva))} if xva is not None else {}),
        "network": net.name,
        "dataset": ds.name,
        "data_source": ds.source,
        "input_adapted": note,
        "n_train": int(n),
        "n_test": int(len(xte)),
        "steps": step,
        "layers": {l.name: {"m": l.m, "n": l.n, "pairs_per_batch":
                            net.layer(l.name).positions * cfg.batch * getattr(l, "groups", 1),
                            "rank": rule.layer_rank(l) if cfg.update != "full" else None,
                            "gradient_state_numbers": rule.state_numbers(l)} for l in layers},
        "mean_errors_last_epoch": ({c: float(hist.loc[hist.epoch == cfg.epochs, c].mean()) for c in err_cols}
                                   if len(hist) else {}),
        "config": asdict(cfg),
    }
    return TrainResult(history=hist, summary=summary, model=model)
