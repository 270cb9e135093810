"""One training step lowered under the chosen update and backward rules.

`lower_step` (`asicsim.workload.lowering`) gives the BP lowering with the full/SBPCA weight
gradient; the ``sketch`` rule (`asicsim.workload.sketch_rule`) and the DFA family of backward rules
(`asicsim.workload.backward`) rewrite its op list. With ``rule`` full/sbpca and ``backward: bp``
the result is `lower_step`'s, op for op.
"""
from __future__ import annotations

from asicsim.config.update import UpdateConfig
from asicsim.workload.backward import apply_backward
from asicsim.workload.fusion import fuse
from asicsim.workload.lowering import PHASES, Lowered, lower_step
from asicsim.workload.network import Network
from asicsim.workload.recompute import apply_recompute
from asicsim.workload.sketch_rule import apply_sketch
from asicsim.workload.sparsity import apply_activation_zeros


def lower_training_step(net: Network, batch: int, operand_bytes: int, accumulator_bytes: int,
                        update: UpdateConfig | None = None, phases: tuple[str, ...] = PHASES,
                        execution=None) -> Lowered:
    upd = update or UpdateConfig()
    lowered = apply_activation_zeros(lower_step(net, batch, operand_bytes, accumulator_bytes, upd, phases, execution), net)
    if execution is not None and execution.recompute.policy != "none":   # activation recomputation,
        rc = execution.recompute                                         # on the unfused ops: a layer's
        lowered = apply_recompute(lowered, net, rc.policy, rc.every, rc.layers)   # ops make its values
    if execution is not None and not execution.is_default:   # operator fusion (its own pass)
        lowered = fuse(lowered, execution.fusion)
    lowered = apply_sketch(lowered, net, upd, operand_bytes, accumulator_bytes, execution)
    return apply_backward(lowered, net, upd, operand_bytes)
