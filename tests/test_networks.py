"""Reference ImageNet networks: every file loads, and shapes, parameter counts and MACs match
independent published numbers (torchvision's model cards / ``sum(p.numel())``), not our own code."""
from __future__ import annotations

import importlib.util

import pytest

from asicsim.presets import NETWORKS_DIR
from asicsim.workload.network import (
    ConvLayer,
    Network,
    Shape,
    available_networks,
    load_network,
)

IMAGENET_NETS = ["alexnet", "vgg16", "resnet18", "resnet50", "mobilenetv2"]

# torchvision learnable parameter counts (weights, biases, BN gamma/beta).
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet50": 25_557_032, "vgg16": 138_357_544,
                      "alexnet": 61_100_840, "mobilenetv2": 3_504_872}
# Forward multiply-accumulates at 224x224, batch 1 (torchvision's "GFLOPS" column counts MACs),
# with the relative tolerance the reference's rounding allows.
REFERENCE_GMACS = {"resnet18": (1.814, 0.005), "resnet50": (4.09, 0.01), "vgg16": (15.47, 0.01),
                   "mobilenetv2": (0.300, 0.01), "alexnet": (0.714, 0.01)}


@pytest.fixture(scope="module")
def nets() -> dict[str, Network]:
    return {n: load_network(n) for n in IMAGENET_NETS}


@pytest.mark.parametrize("name", available_networks())
def test_every_network_file_loads(name: str) -> None:
    net = load_network(name)
    assert net.name == name
    assert net.source, "every network cites its source"
    assert net.layers[-1].kind == "softmax_ce"


def test_reference_networks_are_present() -> None:
    assert set(IMAGENET_NETS) <= set(available_networks())


@pytest.mark.parametrize("name", IMAGENET_NETS)
def test_imagenet_input_and_classes(nets: dict[str, Network], name: str) -> None:
    net = nets[name]
    assert net.input_shape == Shape(3, 224, 224)
    assert net.layers[-2].kind == "linear" and net.layers[-2].out_shape == Shape(1000, 1, 1)


@pytest.mark.parametrize("name", IMAGENET_NETS)
def test_params_match_torchvision(nets: dict[str, Network], name: str) -> None:
    assert nets[name].num_params == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name", IMAGENET_NETS)
def test_forward_macs_match_reference(nets: dict[str, Network], name: str) -> None:
    ref, tol = REFERENCE_GMACS[name]
    assert nets[name].forward_macs(1) / 1e9 == pytest.approx(ref, rel=tol)


def test_macs_scale_with_batch(nets: dict[str, Network]) -> None:
    assert nets["resnet18"].forward_macs(8) == 8 * nets["resnet18"].forward_macs(1)


def test_hand_computed_layers(nets: dict[str, Network]) -> None:
    r18 = nets["resnet18"]
    conv1 = r18.layer("conv1")  # 7x7x3 window, 64 filters, 112x112 outputs
    assert conv1.out_shape == Shape(64, 112, 112)
    assert conv1.weight_shape == (64, 147) and conv1.positions * 64 * 147 == 118_013_952
    assert r18.layer("maxpool").out_shape == Shape(64, 56, 56)
    alex = nets["alexnet"]
    assert alex.layer("conv1").out_shape == Shape(64, 55, 55)  # floor((224 + 4 - 11) / 4) + 1
    assert alex.layer("classifier.fc0").weight_shape == (4096, 9216)


@pytest.mark.parametrize("name, layer, shape", [
    ("resnet18", "layer4.1.relu", Shape(512, 7, 7)),
    ("resnet50", "layer4.2.relu", Shape(2048, 7, 7)),
    ("resnet50", "layer3.5.relu", Shape(1024, 14, 14)),
    ("vgg16", "pool5", Shape(512, 7, 7)),
    ("alexnet", "pool5", Shape(256, 6, 6)),
    ("alexnet", "flatten", Shape(9216, 1, 1)),
    ("mobilenetv2", "features.17.project_bn", Shape(320, 7, 7)),
    ("mobilenetv2", "features.18.relu6", Shape(1280, 7, 7)),
])
def test_final_spatial_sizes(nets: dict[str, Network], name: str, layer: str, shape: Shape) -> None:
    assert nets[name].layer(layer).out_shape == shape


@pytest.mark.parametrize("name", IMAGENET_NETS)
def test_convs_before_batchnorm_have_no_bias(nets: dict[str, Network], name: str) -> None:
    net = nets[name]
    for l in net.layers:
        if l.kind == "batchnorm" and net.layer(l.inputs[0]).kind == "conv":
            assert net.layer(l.inputs[0]).spec.bias is False, l.inputs[0]


@pytest.mark.parametrize("name, adds, shortcut_convs", [("resnet18", 8, 3), ("resnet50", 16, 4),
                                                        ("mobilenetv2", 10, 0)])
def test_residual_structure(nets: dict[str, Network], name: str, adds: int, shortcut_convs: int) -> None:
    net = nets[name]
    assert sum(l.kind == "add" for l in net.layers) == adds
    assert sum(".downsample.0" in l.name for l in net.layers) == shortcut_convs


def test_resnet50_is_v1_5(nets: dict[str, Network]) -> None:
    r50 = nets["resnet50"]
    for stage in (2, 3, 4):
        assert r50.layer(f"layer{stage}.0.conv1").spec.stride == 1
        assert r50.layer(f"layer{stage}.0.conv2").spec.stride == 2
        assert r50.layer(f"layer{stage}.0.downsample.0").spec.stride == 2
    assert r50.layer("layer1.0.downsample.0").inputs == ("maxpool",)


def test_mobilenetv2_depthwise(nets: dict[str, Network]) -> None:
    dws = [l for l in nets["mobilenetv2"].layers if l.name.endswith(".dw")]
    assert len(dws) == 17
    for l in dws:
        assert isinstance(l.spec, ConvLayer) and l.spec.groups == l.in_shape.c == l.out_shape.c
        assert l.weight_shape == (l.out_shape.c, 9)
    assert not any(l.kind == "relu6" and l.inputs[0].endswith("project_bn") for l in nets["mobilenetv2"].layers)


def test_yaml_matches_generator() -> None:
    """The committed YAML is exactly what generate.py writes (no hand edits drifting from it)."""
    spec = importlib.util.spec_from_file_location("_netgen", NETWORKS_DIR / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for name, render in gen.NETWORKS.items():
        assert (NETWORKS_DIR / f"{name}.yaml").read_text() == render(), name
