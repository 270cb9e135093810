"""Functional CNN trainer in numpy (+ numba kernels): layers, a model builder from the network
files in ``models/networks/`` (a DAG: batch-norm, residual add, grouped conv), the update rules
``full`` / ``sbpca`` / ``svd`` / ``sketch``, the backward rules ``bp`` / ``dfa`` / ``bdfa`` / ``hybrid``
(`asicsim.nn.feedback`) and the training loop.
"""
from asicsim.nn.blocks import Add, BatchNorm
from asicsim.nn.feedback import BACKWARDS, Feedback, make_feedback
from asicsim.nn.layers import (
           AvgPool,
           Conv2D,
           Flatten,
           GlobalAvgPool,
           Linear,
           MaxPool,
           ReLU,
           SoftmaxCE,
)
from asicsim.nn.model import Model, build_model
from asicsim.nn.trainer import TrainConfig, TrainResult, train
from asicsim.nn.updates import (
           RULES,
           FullSGD,
           SBPCAUpdate,
           SketchUpdate,
           SVDUpdate,
           make_rule,
)

__all__ = [
           "BACKWARDS",
           "RULES",
           "Add",
           "AvgPool",
           "BatchNorm",
           "Conv2D",
           "Feedback",
           "Flatten",
           "FullSGD",
           "GlobalAvgPool",
           "Linear",
           "MaxPool",
           "Model",
           "ReLU",
           "SBPCAUpdate",
           "SVDUpdate",
           "SketchUpdate",
           "SoftmaxCE",
           "TrainConfig",
           "TrainResult",
           "build_model",
           "make_feedback",
           "make_rule",
           "train",
]
