"""The execution spec: how a training stack runs the step (fusion, folds, optimizer, precision,
recomputation, memory policy), separate from the hardware (`config/hardware.py`) and the network.

Loaded by `load_execution` from a preset name (``models/executions/<name>.yaml``) or a YAML path,
validated like the accelerator (unknown keys refused, one-line `InputError` naming file, field,
value and what is allowed).

Presets:

* ``scalesim`` (the default): SCALE-Sim's convention, today's numbers — no fusion (every
  element-wise layer round-trips its activation through DRAM), folds back to back, plain SGD
  (momentum from the update rule's ``momentum`` field), every tensor at the accelerator's widths.
* ``realistic``: what production stacks do — element-wise epilogues fused into the producing GEMM,
  BN statistics reduced in the GEMM epilogue, backward ReLU masks / BN backward fused, folds
  overlapped with weights preloaded behind compute, AdamW, bf16 compute with fp32 master weights,
  fp32 weight gradients and optimizer state, dynamic loss scaling.

Byte-identical default (decision): recorded outputs (``reports/*/summary.json``, sweep journals,
parity tests) were written before the execution spec existed. ``summary_entry`` therefore gives
nothing at the default execution, so the ``execution`` key is omitted from ``summary.json`` and
sweep keys exactly as `asicsim.config.update` omits its ``_QUIET_DEFAULTS``; any other execution
is written out in full. The run header and ``report.md`` always name the execution (``scalesim``
included), because those are text for a reader, not records compared byte for byte.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from asicsim.errors import validated
from asicsim.inputs import Strict
from asicsim.presets import MODELS_DIR, load_yaml, resolve_preset

EXECUTIONS_DIR = MODELS_DIR / "executions"
DEFAULT_EXECUTION = "scalesim"
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "lamb", "lars")
WIDTHS_BITS = (8, 16, 32)


class FusionConfig(Strict):
    """Operator fusion (`asicsim.workload.fusion`). ``forward_epilogues``: bias, BN apply,
    ReLU/ReLU6/HardSwish and residual adds run on the producing GEMM's output tiles (their
    intermediates never reach DRAM unless stashed for backward). ``backward``: the ReLU mask and
    BN backward run on the neighbouring backward-data GEMM's tiles. ``bn_statistics``: how BN's
    training mean/variance are costed — ``extra_pass`` (a second read of the conv output) or
    ``fused`` (a per-channel sum/sum-of-squares reduction in the conv GEMM's epilogue) or
    ``frozen`` (running statistics, as in inference: a per-channel affine, fusable as an epilogue)."""
    forward_epilogues: bool = False
    backward: bool = False
    bn_statistics: Literal["extra_pass", "fused", "frozen"] = "extra_pass"


class FoldsConfig(Strict):
    """Fold scheduling on the array (`asicsim.engine.systolic`). ``overlap``: a fold's fill/drain
    overlaps the previous fold's stream (paid once per tile, not per fold). ``weight_preload``:
    the stationary operand of the next fold is loaded double-buffered behind compute (TPU-class WS
    arrays), hiding the fill of the stationary operand."""
    overlap: bool = False
    weight_preload: bool = False


class OptimizerConfig(Strict):
    """The optimizer of the update phase (`asicsim.workload.optimizer`: state tensors and exact
    vector ops per parameter). Hyper-parameters that change the work: ``weight_decay`` > 0 adds
    one FMA per parameter (coupled L2 for sgd/momentum/nesterov/adam/lars, decoupled for
    adamw/lamb). ``momentum``, ``beta1``, ``beta2``, ``eps`` are recorded for the reader; they
    change no count (a coefficient is a coefficient)."""
    kind: Literal["sgd", "momentum", "nesterov", "adam", "adamw", "lamb", "lars"] = "sgd"
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    beta1: float = Field(0.9, ge=0.0, lt=1.0)
    beta2: float = Field(0.999, ge=0.0, lt=1.0)
    eps: float = Field(1e-8, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)


class PrecisionConfig(Strict):
    """Per-tensor-class widths in bits; ``null`` = the accelerator's (``array.operand_bits`` for
    compute, ``array.accumulator_bits`` for weight gradients and optimizer state).

    ``compute_bits``: GEMM operands and results as stored — activations, the working weight copy,
    activation gradients. ``weight_gradient_bits``: the weight gradient G. ``master_weight_bits``:
    ``null`` = no master copy (weights updated in place at compute width); a width = a master copy
    updated by the optimizer and cast to a compute-width working copy each step (the cast's read,
    op and write are counted). ``optimizer_state_bits``: each optimizer state tensor.
    ``loss_scaling``: ``none``, ``static`` (gradients unscaled by 1/S: one multiply per parameter,
    fused into the update's read of G) or ``dynamic`` (also an is-finite check per parameter).
    Widths change bytes (traffic, SRAM and DRAM footprint), not the array's MAC energy or speed:
    the array's own width is hardware."""
    compute_bits: int | None = None
    weight_gradient_bits: int | None = None
    master_weight_bits: int | None = None
    optimizer_state_bits: int | None = None
    loss_scaling: Literal["none", "static", "dynamic"] = "none"

    @field_validator("compute_bits", "weight_gradient_bits", "master_weight_bits", "optimizer_state_bits")
    @classmethod
    def _width(cls, v):
        if v is not None and v not in WIDTHS_BITS:
            raise ValueError(f"width must be one of {', '.join(map(str, WIDTHS_BITS))} bits (or null)")
        return v


class RecomputeConfig(Strict):
    """Activation recomputation (checkpointing): ``none``; ``every`` (a checkpoint every ``every``
    layers, the rest recomputed in backward); ``layers`` (the named layers' outputs recomputed)."""
    policy: Literal["none", "every", "layers"] = "none"
    every: int = Field(2, gt=0)
    layers: tuple[str, ...] = ()


class MemoryConfig(Strict):
    """What a step that does not fit the accelerator's DRAM does: ``error`` (exit 2) or ``report``
    (``fits: false`` in the results)."""
    on_overflow: Literal["error", "report"] = "error"


class ExecutionConfig(Strict):
    """One execution spec (see the module docstring)."""
    name: str = DEFAULT_EXECUTION
    fusion: FusionConfig = FusionConfig()
    folds: FoldsConfig = FoldsConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    precision: PrecisionConfig = PrecisionConfig()
    recompute: RecomputeConfig = RecomputeConfig()
    memory: MemoryConfig = MemoryConfig()

    @property
    def is_default(self) -> bool:
        """Whether this is today's convention in every field (the name aside)."""
        return self.model_dump(exclude={"name"}) == ExecutionConfig().model_dump(exclude={"name"})


def summary_entry(ex: ExecutionConfig) -> dict:
    """What ``summary.json`` records under ``execution``: nothing at the default (so recorded
    outputs stay byte-identical), else the whole spec."""
    return {} if ex.is_default else {"execution": ex.model_dump(mode="json")}


def execution_from_dict(data, file: str | Path | None) -> ExecutionConfig:
    return validated(ExecutionConfig, data if data is not None else {}, file)


def load_execution(name_or_path: str | Path | None = None) -> ExecutionConfig:
    """Load and validate an execution by preset name (``models/executions/<name>.yaml``) or path;
    ``None`` = the default (``scalesim``)."""
    path = resolve_preset(name_or_path or DEFAULT_EXECUTION, EXECUTIONS_DIR, "execution")
    return execution_from_dict(load_yaml(path), str(path))


def as_execution(ex: str | Path | dict | ExecutionConfig | None) -> ExecutionConfig:
    """An execution from a preset name, a path, a mapping of fields, an `ExecutionConfig` or ``None``."""
    if isinstance(ex, ExecutionConfig):
        return ex
    if isinstance(ex, dict):
        return execution_from_dict(ex, "<execution>")
    return load_execution(ex)
