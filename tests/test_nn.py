"""Functional trainer: finite-difference gradient checks per layer type and for a whole model,
the model builder on the shipped network files, the update rules, learning on the tiny dataset,
and the IDX data reader."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from asicsim import kernels as K
from asicsim.errors import InputError
from asicsim.nn import (
    AvgPool,
    Conv2D,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool,
    ReLU,
    SoftmaxCE,
    TrainConfig,
    build_model,
    make_rule,
    train,
)
from asicsim.nn import datasets as D
from asicsim.workload.network import build_network, load_network

EPS = 1e-6


def num_grad(f, a, idx_list):
    out = []
    for idx in idx_list:
        old = a[idx]
        a[idx] = old + EPS
        fp = f()
        a[idx] = old - EPS
        fm = f()
        a[idx] = old
        out.append((fp - fm) / (2 * EPS))
    return np.array(out)


def sample_idx(a, rng, n=12):
    return [tuple(int(rng.integers(0, s)) for s in a.shape) for _ in range(n)]


def away_from_zero(rng, shape):
    x = rng.standard_normal(shape)
    return x + np.sign(x) * 0.05   # no ReLU kinks / pooling ties within ±EPS


def check_layer(layer, x, rng, params=()):
    """Compare backward() of Σ R⊙layer(x) with central differences, for x and parameters."""
    y = layer.forward(x)
    R = rng.standard_normal(y.shape)
    f = lambda: float((layer.forward(x) * R).sum())
    layer.forward(x)
    dx = layer.backward(R)
    idx = sample_idx(x, rng)
    np.testing.assert_allclose([dx[i] for i in idx], num_grad(f, x, idx), rtol=1e-6, atol=1e-8)
    for name in params:
        p = getattr(layer, name)
        g = layer.weight_grad() if name == "W" else layer.db
        idx = sample_idx(p, rng)
        np.testing.assert_allclose([g[i] for i in idx], num_grad(f, p, idx), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kernel,stride,padding", [((3, 3), (1, 1), (1, 1)), ((3, 2), (2, 1), (1, 0)),
                                                    ((5, 5), (1, 1), (2, 2)), ((2, 2), (2, 2), (0, 0))])
def test_conv_gradients(kernel, stride, padding):
    rng = np.random.default_rng(0)
    layer = Conv2D("c", 3, 4, kernel, stride, padding, True, rng)
    layer.b[:] = rng.standard_normal(4)
    check_layer(layer, rng.standard_normal((2, 7, 6, 3)), rng, params=("W", "b"))
    assert layer.xp.shape == (layer.pairs, 3 * kernel[0] * kernel[1])   # B·H_out·W_out pairs


def test_conv_matches_direct_convolution():
    rng = np.random.default_rng(1)
    layer = Conv2D("c", 2, 3, (3, 3), (2, 2), (1, 1), True, rng)
    x = rng.standard_normal((1, 5, 5, 2))
    y = layer.forward(x)
    Wr = layer.W.reshape(3, 3, 3, 2)  # (C_out, kh, kw, C_in)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    for oy in range(3):
        for ox in range(3):
            patch = xp[0, 2 * oy: 2 * oy + 3, 2 * ox: 2 * ox + 3, :]
            np.testing.assert_allclose(y[0, oy, ox], (Wr * patch).sum(axis=(1, 2, 3)) + layer.b, atol=1e-12)


def test_linear_gradients():
    rng = np.random.default_rng(2)
    layer = Linear("l", 12, 5, True, rng)
    layer.b[:] = rng.standard_normal(5)
    check_layer(layer, rng.standard_normal((4, 12)), rng, params=("W", "b"))
    check_layer(Linear("l2", 2 * 3 * 2, 3, False, rng), rng.standard_normal((3, 2, 3, 2)), rng, params=("W",))


@pytest.mark.parametrize("cap", [None, 6.0])
def test_relu_gradients(cap):
    rng = np.random.default_rng(3)
    x = away_from_zero(rng, (3, 4, 4, 2)) * 4
    x[np.abs(x - 6.0) < 0.05] = 5.0
    check_layer(ReLU("r", cap), x, rng)


@pytest.mark.parametrize("cls", [MaxPool, AvgPool])
@pytest.mark.parametrize("kernel,stride,padding,out_hw", [((2, 2), (2, 2), (0, 0), (3, 3)),
                                                          ((3, 3), (2, 2), (1, 1), (4, 3)),
                                                          ((3, 3), (2, 2), (0, 0), (4, 3))])  # last: ceil_mode
def test_pool_gradients(cls, kernel, stride, padding, out_hw):
    rng = np.random.default_rng(4)
    x = rng.permutation(2 * 7 * 6 * 3).reshape(2, 7, 6, 3) * 0.1  # distinct values: no ties
    layer = cls("p", kernel, stride, padding, out_hw)
    assert layer.forward(x).shape == (2, *out_hw, 3)
    check_layer(layer, x.astype(float), rng)


def test_maxpool_values():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    y = MaxPool("p", (2, 2), (2, 2), (0, 0), (2, 2)).forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 7], [13, 15]])


def test_flatten_and_global_pool_gradients():
    rng = np.random.default_rng(5)
    check_layer(Flatten("f"), rng.standard_normal((2, 3, 4, 5)), rng)
    check_layer(GlobalAvgPool("g"), rng.standard_normal((2, 3, 4, 5)), rng)


def test_softmax_ce_gradient():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((5, 7))
    labels = rng.integers(0, 7, 5)
    ce = SoftmaxCE("loss")
    f = lambda: ce.forward(z, labels)
    loss = f()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), labels])))
    g = ce.backward()
    idx = sample_idx(z, rng)
    np.testing.assert_allclose([g[i] for i in idx], num_grad(f, z, idx), rtol=1e-6, atol=1e-9)


SMALL_NET = {
    "name": "small", "input": {"channels": 2, "height": 8, "width": 8},
    "layers": [
        {"name": "c1", "type": "conv", "out_channels": 3, "kernel": 3, "padding": 1},
        {"name": "r1", "type": "relu"},
        {"name": "p1", "type": "maxpool", "kernel": 2},
        {"name": "c2", "type": "conv", "out_channels": 4, "kernel": [3, 2], "stride": [1, 2], "padding": [1, 0]},
        {"name": "r2", "type": "relu6"},
        {"name": "p2", "type": "avgpool", "kernel": 2, "ceil_mode": True},
        {"name": "f", "type": "flatten"},
        {"name": "l1", "type": "linear", "out_features": 6},
        {"name": "r3", "type": "relu"},
        {"name": "l2", "type": "linear", "out_features": 5},
        {"name": "loss", "type": "softmax_ce"},
    ],
}


def test_whole_model_gradient_check():
    rng = np.random.default_rng(7)
    model = build_model(build_network(SMALL_NET), rng)
    for l in model.weighted:
        l.b[:] = 0.1 * rng.standard_normal(l.m)
    x = rng.standard_normal((3, 8, 8, 2))
    y = rng.integers(0, 5, 3)
    model.loss(x, y)
    model.backward()
    f = lambda: model.loss(x, y)[0]
    for l in model.weighted:
        g = l.weight_grad()
        idx = sample_idx(l.W, rng, 6)
        np.testing.assert_allclose([g[i] for i in idx], num_grad(f, l.W, idx), rtol=1e-5, atol=1e-9)
        idx = sample_idx(l.b, rng, 3)
        np.testing.assert_allclose([l.db[i] for i in idx], num_grad(f, l.b, idx), rtol=1e-5, atol=1e-9)


def test_builder_uses_network_files():
    for name in ("lenet5", "vgg_cifar_small"):
        net = load_network(name)
        model = build_model(net, 0)
        assert [l.name for l in model.weighted] == [l.name for l in net.weighted_layers]
        for ml, nl in zip(model.weighted, net.weighted_layers):
            assert ml.W.shape == nl.weight_shape
        c, h, w = model.input_shape
        x = np.zeros((2, h, w, c))
        assert model.forward(x).shape == (2, 10)
        model.loss(x, np.array([1, 2]))
        model.backward()
        for ml, nl in zip(model.weighted, net.weighted_layers):
            assert ml.pairs == 2 * nl.positions        # conv: B·H_out·W_out pairs


def test_builder_refuses_unsupported_layers():
    net = build_network({"name": "dr", "input": {"channels": 1, "height": 4, "width": 4},
                         "layers": [{"name": "c", "type": "conv", "out_channels": 2, "kernel": 3},
                                    {"name": "b", "type": "dropout"},
                                    {"name": "f", "type": "flatten"},
                                    {"name": "l", "type": "linear", "out_features": 3}]})
    with pytest.raises(InputError, match="dropout"):
        build_model(net)


def _one_batch(model, rng, ds, B=32):
    mean, std = D.normalisation(ds.x_train)
    idx = rng.integers(0, len(ds.x_train), B)
    model.loss(D.to_network_input(ds.x_train[idx], mean, std), ds.y_train[idx])
    model.backward()


def test_sbpca_update_has_gradient_scale_on_conv_and_linear():
    # With rank = m (Δ spans R^m) and large sub-batches, streaming the same batch a few times
    # gives Ĝ ≈ G: the ·N scale (N = B·H_out·W_out for conv) matches the mean-loss gradient.
    ds = D.load_tiny()
    model = build_model(load_network("lenet5"), 0)
    _one_batch(model, np.random.default_rng(0), ds)
    rule = make_rule("sbpca", rank=16, sub_batch=16, sub_batch_unit="samples")
    rule.setup(model.weighted, np.random.default_rng(1))
    for l in (model.weighted[0], model.weighted[-1]):   # conv1 (6×25, 25088 pairs), fc3 (10×84)
        for _ in range(8):
            G_hat = rule.estimate(l)
        G = l.weight_grad()
        assert K.relative_error(G_hat, G) < 0.15
        assert 0.9 < np.linalg.norm(G_hat) / np.linalg.norm(G) < 1.1


def test_svd_rule_at_full_rank_equals_full_sgd():
    ds = D.load_tiny()
    rng = np.random.default_rng(0)
    a, b = build_model(load_network("lenet5"), 3), build_model(load_network("lenet5"), 3)
    ra, rb = make_rule("full", momentum=0.9), make_rule("svd", momentum=0.9, rank=1000)
    for _ in range(3):
        state = rng.bit_generator.state
        _one_batch(a, rng, ds)
        rng.bit_generator.state = state
        _one_batch(b, rng, ds)
        ra.apply(a.weighted, 0.05)
        rb.apply(b.weighted, 0.05)
    for la, lb in zip(a.weighted, b.weighted):
        np.testing.assert_allclose(la.W, lb.W, atol=1e-10)


def test_full_sgd_learns_tiny_dataset():
    r = train(TrainConfig(network="lenet5", dataset="tiny", update="full", batch=32, epochs=2, lr=0.05, seed=0))
    assert r.summary["final_test_accuracy"] > 0.6          # chance is 0.1
    assert r.history["train_loss"].iloc[-1] < r.history["train_loss"].iloc[0]


def test_sbpca_learns_tiny_dataset_and_reports_errors():
    r = train(TrainConfig(network="lenet5", dataset="tiny", update="sbpca", rank=4, sub_batch=32, batch=32,
                          epochs=1, lr=0.05, seed=0, log_every=20))
    assert r.summary["final_test_accuracy"] > 0.4
    h = r.history
    for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        assert {f"{name}_err", f"{name}_err_k", f"{name}_svd_err"} <= set(h.columns)
        assert np.all(np.isfinite(h[f"{name}_err"]))
    assert r.summary["layers"]["fc1"]["gradient_state_numbers"] == 4 * (120 + 400 + 1)
    assert r.summary["layers"]["conv1"]["rank"] == 4


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------

def _write_idx(path, arr, gz):
    code = {np.uint8: 0x08, np.int32: 0x0C}[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_and_folder(tmp_path, gz):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    xtr, ytr = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8), rng.integers(0, 10, 5).astype(np.uint8)
    xte, yte = rng.integers(0, 256, (2, 4, 3), dtype=np.uint8), rng.integers(0, 10, 2).astype(np.uint8)
    for stem, a in (("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr),
                    ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)):
        _write_idx(tmp_path / (stem + ext), a, gz)
    np.testing.assert_array_equal(D.read_idx(tmp_path / ("train-images-idx3-ubyte" + ext)), xtr)
    i32 = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    _write_idx(tmp_path / "x.idx", i32, False)
    np.testing.assert_array_equal(D.read_idx(tmp_path / "x.idx"), i32)
    ds = D.load_dataset("mnist", tmp_path)
    assert ds.x_train.shape == (5, 4, 3, 1) and ds.y_test.tolist() == yte.tolist()


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(InputError, match="magic"):
        D.read_idx(tmp_path / "bad")
    with pytest.raises(InputError, match="apt-get install dataset-fashion-mnist"):
        D.load_dataset("fashion-mnist", tmp_path / "nowhere")
    with pytest.raises(InputError, match="--data-dir"):
        D.load_dataset("mnist")
    with pytest.raises(InputError, match="unknown dataset"):
        D.load_dataset("cifar")


def test_tiny_dataset_and_fit_images():
    ds = D.load_tiny()
    assert ds.x_train.shape == (2000, 28, 28, 1) and ds.x_test.shape == (500, 28, 28, 1)
    assert np.bincount(ds.y_train).tolist() == [200] * 10
    x, note = D.fit_images(ds.x_test[:3], (3, 32, 32))
    assert x.shape == (3, 32, 32, 3) and "32x32" in note and "3 channels" in note
    np.testing.assert_array_equal(x[:, 2:30, 2:30, 0], ds.x_test[:3, :, :, 0])
    with pytest.raises(InputError):
        D.fit_images(ds.x_test[:1], (1, 20, 20))
