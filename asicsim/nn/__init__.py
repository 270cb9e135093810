"""Functional CNN trainer in numpy (+ numba kernels): layers, a model builder from the network
files in ``models/networks/``, the update rules ``full`` / ``sbpca`` / ``svd`` and the training loop.
"""
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
from asicsim.nn.updates import RULES, FullSGD, SBPCAUpdate, SVDUpdate, make_rule

__all__ = ["AvgPool", "Conv2D", "Flatten", "GlobalAvgPool", "Linear", "MaxPool", "ReLU", "SoftmaxCE",
           "Model", "build_model", "TrainConfig", "TrainResult", "train", "RULES", "FullSGD",
           "SBPCAUpdate", "SVDUpdate", "make_rule"]
