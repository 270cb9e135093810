"""``asicsim train``: train a CNN functionally with full-gradient SGD, SBPCA rank-k or exact
rank-k SVD updates, and write ``history.csv`` + ``summary.json``.

    asicsim train --network lenet5 --dataset fashion-mnist --update sbpca --rank 4 --sub-batch 32 \\
                  --batch 64 --epochs 5 --lr 0.05 --seed 0 --out out/train/lenet5-sbpca4
"""
from __future__ import annotations

import argparse
import sys

from asicsim.errors import InputError
from asicsim.outputs import output_dir
from asicsim.nn.datasets import DATASETS
from asicsim.nn.feedback import BACKWARDS
from asicsim.nn.trainer import SCHEDULES, TrainConfig, train
from asicsim.nn.updates import RULES, SUB_BATCH_UNITS


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", default="lenet5",
                   help="network preset in models/networks/, a .yaml path or a .onnx file (default: lenet5)")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS,
                   help="fashion-mnist (Debian package dataset-fashion-mnist), mnist/idx (needs --data-dir), "
                        "or tiny (2,000+500 images shipped for tests); default fashion-mnist")
    p.add_argument("--data-dir", default=None, help="folder with the four IDX files (MNIST layout, .gz or plain)")
    p.add_argument("--update", default="full", choices=RULES,
                   help="full: mini-batch SGD; sbpca: streaming batch PCA rank-k; svd: exact rank-k truncation; "
                        "sketch: rank-k SRHT (Fast-JL) sketch of the pair stream")
    p.add_argument("--backward", default="bp", choices=BACKWARDS,
                   help="bp: back-propagation (default); dfa: direct feedback alignment (fixed random feedback of "
                        "the output error to every layer); bdfa: DFA with ±1 feedback; hybrid: BP through conv "
                        "layers, binary DFA for FC layers (Han & Yoo 2019)")
    p.add_argument("--rank", type=_positive_int, default=4,
                   help="rank k for sbpca/svd/sketch (clamped to min(m, n) per layer; with full: the rank of the "
                        "logged svd_err diagnostic); default 4")
    p.add_argument("--sub-batch", type=_positive_int, default=32, help="SBPCA sub-batch size s (default 32)")
    p.add_argument("--sub-batch-unit", default="pairs", choices=SUB_BATCH_UNITS,
                   help="count s in (δ, x) pairs (default; the streaming batch PCA's s) or in samples (s·H_out·W_out pairs for a conv layer)")
    p.add_argument("--batch", type=_positive_int, default=64, help="mini-batch size B (default 64)")
    p.add_argument("--epochs", type=_positive_int, default=1, help="epochs (default 1)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate η (default 0.05)")
    p.add_argument("--momentum", type=float, default=0.0,
                   help="momentum μ (default 0); kept dense (m·n per layer) for every rule")
    p.add_argument("--schedule", default="constant", choices=SCHEDULES,
                   help="learning-rate schedule: constant, cosine (to 0), step (÷10 at 50%% and 75%%)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, SBPCA factors and data order (default 0)")
    p.add_argument("--log-every", type=_positive_int, default=50,
                   help="record loss and gradient errors every N steps (and at each epoch end); default 50")
    p.add_argument("--limit-train", type=_positive_int, default=None, help="use only the first N training images")
    p.add_argument("--limit-test", type=_positive_int, default=None, help="use only the first N test images")
    p.add_argument("--val", type=int, default=None, metavar="N",
                   help="hold out the last N training images (after --limit-train) as a validation set: never "
                        "trained on, its accuracy recorded per epoch (val_accuracy); for learning-rate searches")
    p.add_argument("--out", required=True, help="output folder for history.csv and summary.json")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (the bar is shown only when stderr is a terminal anyway)")
    p.add_argument("--accelerator", default=None,
                   help="also charge every step its simulated cycles and energy on this accelerator (preset or "
                        "YAML): adds sim_time_s and sim_energy_j to history.csv (full and sbpca rules)")


def execute(args: argparse.Namespace) -> int:
    cfg = TrainConfig(network=args.network, dataset=args.dataset, data_dir=args.data_dir, update=args.update,
                      backward=args.backward, rank=args.rank, sub_batch=args.sub_batch, sub_batch_unit=args.sub_batch_unit,
                      batch=args.batch, epochs=args.epochs, lr=args.lr, momentum=args.momentum,
                      schedule=args.schedule, seed=args.seed, log_every=args.log_every,
                      limit_train=args.limit_train, limit_test=args.limit_test, val=args.val)
    output_dir(args.out, create=False)   # a bad --out is refused before any training time is spent
    hw = update = None
    if args.accelerator:   # check the co-simulation inputs before spending time on training
        from asicsim.config.hardware import load_hardware
        from asicsim.studies.cosim import hardware_update
        hw = load_hardware(args.accelerator)
        update = hardware_update(args.update, args.rank, args.sub_batch, args.sub_batch_unit, args.momentum,
                                 args.backward)
    try:
        result = train(cfg, progress=not args.quiet, notify=lambda text: print(text, file=sys.stderr))
    except FloatingPointError as exc:
        raise InputError(str(exc), field="lr", value=args.lr) from None
    if hw is not None and not result.summary.get("interrupted"):
        result = _with_costs(result, hw, update, args.batch)
    out = result.write(args.out)
    s = result.summary
    if s.get("interrupted"):
        it = s["interrupted"]
        print(f"asicsim: interrupted in epoch {it['epoch']} after {it['steps_done']} of {it['of_steps']} steps; "
              f"kept {len(result.history)} logged rows in {out / 'history.csv'} and {out / 'summary.json'} "
              "(\"complete\": false). Training keeps no checkpoint: run the same command again to train from "
              "the start (same seed, same numbers).", file=sys.stderr)
        return 130
    if hw is not None:
        print(f"simulated on {hw.name}: {s['sim_step_time_s'] * 1e3:.3f} ms and {s['sim_step_energy_j'] * 1e3:.3f} mJ "
              f"per step; whole run {s['sim_time_s']:.3f} s, {s['sim_energy_j']:.3f} J")
    print(f"{s['network']} on {s['dataset']}, update {s['update']}"
          + (f" rank {s['rank']}" if s["rank"] else "")
          + (f", backward {s['backward']}" if s["backward"] != "bp" else "")
          + f": final test accuracy {s['final_test_accuracy']:.4f} (best {s['best_test_accuracy']:.4f}), "
          f"{s['epochs']} epochs in {s['wall_s']:.1f} s ({s['train_images_per_s']:.0f} images/s)")
    print(f"wrote {out / 'history.csv'} and {out / 'summary.json'}")
    return 0


def _with_costs(result, hw, update, batch: int):
    """The training result with simulated time and energy per step added (history and summary)."""
    import dataclasses

    from asicsim.studies.cosim import annotate, epoch_costs
    from asicsim.workload.network import load_network

    s = result.summary
    net = load_network(s["config"]["network"])
    full, last = epoch_costs(hw, net, batch, s["n_train"], update)
    spe = -(-s["n_train"] // batch)
    hist = annotate(result.history, spe, full, last)
    summary = {**s, "accelerator": hw.name, "sim_step_cycles": full.cycles, "sim_step_time_s": full.time_s,
               "sim_step_energy_j": full.energy_j, "sim_time_s": float(hist["sim_time_s"].iloc[-1]),
               "sim_energy_j": float(hist["sim_energy_j"].iloc[-1])}
    return dataclasses.replace(result, history=hist, summary=summary)
