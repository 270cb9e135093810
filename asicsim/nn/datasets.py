"""Image-classification data for the functional trainer (`asicsim.nn`).

* `read_idx(path)` reads one IDX file (the MNIST / Fashion-MNIST layout), gzip-compressed or plain.
* `load_idx_folder(folder)` reads the four files of an MNIST-style folder
  (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``).
* `load_dataset(name, data_dir)` gives a `Dataset` by name:

  ``fashion-mnist``  the Debian package ``dataset-fashion-mnist`` (files in
                     ``/usr/share/datasets/fashion-mnist``), or ``--data-dir``;
  ``mnist``          any MNIST IDX folder given with ``--data-dir``;
  ``idx``            any other IDX folder in the same layout (``--data-dir`` required);
  ``tiny``           2,000 train + 500 test Fashion-MNIST images shipped with the package
                     (``asicsim/data/fashion_mnist_tiny.npz``, MIT licence, see
                     ``asicsim/data/README.md``) for fast tests.

Images stay uint8 (N, H, W[, C]) until `to_network_input` scales them to float64 NHWC in [0, 1]
and standardises with the training-set mean and standard deviation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asicsim.errors import InputError
from asicsim.inputs import read_binary

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
TINY_PATH = Path(__file__).resolve().parent.parent / "data" / "fashion_mnist_tiny.npz"
DATASETS = ("fashion-mnist", "mnist", "idx", "tiny")

_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
          "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}

_HOW_TO_GET = {
    "fashion-mnist": ("install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; "
                      "or run scripts/setup_data.sh), or download the four *-ubyte.gz files from "
                      "https://github.com/zalandoresearch/fashion-mnist and pass --data-dir FOLDER"),
    "mnist": ("download the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
              "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into one folder and pass --data-dir FOLDER"),
}


@dataclass(frozen=True)
class Dataset:
    """Train/test split: images uint8 (N, H, W, C), labels int64 (N,)."""
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width), the order network files use."""
        _, h, w, c = self.x_train.shape
        return c, h, w

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or ``.gz``) into a numpy array of its stored type and shape."""
    path = Path(path)
    raw = read_binary(path, what="IDX")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise InputError("not an IDX file (bad magic number)", file=path,
                         allowed="IDX format: 0x00 0x00 <type 0x08-0x0E> <ndim>")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError("truncated IDX header", file=path)
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(dims)   # exact integer: a header promising 2^96 elements must not wrap
    if len(raw) - header != count * dtype.itemsize:
        raise InputError(f"IDX payload has {len(raw) - header} bytes, header promises "
                         f"{count * dtype.itemsize} for shape {dims}", file=path)
    arr = np.frombuffer(raw, dtype=dtype, offset=header, count=count).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path | None:
    for cand in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if (folder / cand).exists():
            return folder / cand
    return None


def load_idx_folder(folder: str | Path, name: str = "idx") -> Dataset:
    """Load an MNIST-layout folder (four IDX files, ``.gz`` or plain)."""
    folder = Path(folder)
    how = _HOW_TO_GET.get(name, _HOW_TO_GET["mnist"])
    if not folder.is_dir():
        raise InputError(f"{name} data folder not found; {how}", file=folder)
    paths = {}
    for key, stem in _FILES.items():
        p = _find(folder, stem)
        if p is None:
            raise InputError(f"{name}: missing {stem}[.gz] in this folder; {how}", file=folder)
        paths[key] = p
    arrs = {k: read_idx(p) for k, p in paths.items()}
    for split in ("train", "test"):
        x, y = arrs[f"x_{split}"], arrs[f"y_{split}"]
        if x.ndim not in (3, 4) or y.ndim != 1 or len(x) != len(y):
            raise InputError(f"{split} images {x.shape} and labels {y.shape} do not match", file=folder)
    def img(a):
        a = a if a.ndim == 4 else a[..., None]
        return np.ascontiguousarray(a.astype(np.uint8) if a.dtype != np.uint8 else a)
    return Dataset(name=name, x_train=img(arrs["x_train"]), y_train=arrs["y_train"].astype(np.int64),
                   x_test=img(arrs["x_test"]), y_test=arrs["y_test"].astype(np.int64), source=str(folder))


def load_tiny() -> Dataset:
    """The shipped 2,000 + 500 image Fashion-MNIST subset (balanced classes)."""
    if not TINY_PATH.exists():
        raise InputError("the shipped tiny dataset is missing from the package", file=TINY_PATH)
    with np.load(TINY_PATH) as z:
        return Dataset(name="tiny", x_train=z["x_train"][..., None], y_train=z["y_train"].astype(np.int64),
                       x_test=z["x_test"][..., None], y_test=z["y_test"].astype(np.int64),
                       source=str(TINY_PATH))


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name (`DATASETS`); ``data_dir`` overrides the folder of IDX datasets."""
    if name == "tiny":
        if data_dir is not None:
            raise InputError("--data-dir does not apply to the shipped tiny dataset", field="data_dir",
                             value=str(data_dir))
        return load_tiny()
    if name == "fashion-mnist":
        return load_idx_folder(data_dir or FASHION_MNIST_DIR, name)
    if name in ("mnist", "idx"):
        if data_dir is None:
            raise InputError(f"dataset '{name}' needs --data-dir; {_HOW_TO_GET['mnist']}", field="data_dir")
        return load_idx_folder(data_dir, name)
    raise InputError("unknown dataset", field="dataset", value=name, allowed=", ".join(DATASETS))


def fit_images(x: np.ndarray, shape: tuple[int, int, int]) -> tuple[np.ndarray, str]:
    """Make uint8 images (N, H, W, C) fit a network input (C', H', W'): zero-pad H, W centrally
    when the network is larger, replicate a single channel when it wants 3. Returns the images
    and a note of what was done ('' if nothing). Anything else is an InputError."""
    c2, h2, w2 = shape
    n, h, w, c = x.shape
    notes = []
    if (h, w) != (h2, w2):
        if h > h2 or w > w2:
            raise InputError(f"dataset images are {h}×{w}, larger than the network input {h2}×{w2}",
                             field="network.input")
        top, left = (h2 - h) // 2, (w2 - w) // 2
        x = np.pad(x, ((0, 0), (top, h2 - h - top), (left, w2 - w - left), (0, 0)))
        notes.append(f"zero-padded {h}x{w} -> {h2}x{w2}")
    if c != c2:
        if c != 1:
            raise InputError(f"dataset images have {c} channels, the network input has {c2}",
                             field="network.input.channels")
        x = np.repeat(x, c2, axis=3)
        notes.append(f"replicated 1 -> {c2} channels")
    return np.ascontiguousarray(x), "; ".join(notes)


def normalisation(x_train: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the training pixels scaled to [0, 1]."""
    v = x_train.astype(np.float64) / 255.0
    return float(v.mean()), float(v.std() or 1.0)


def to_network_input(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """uint8 NHWC images -> float64 NHWC, (x/255 - mean)/std."""
    return (x.astype(np.float64) * (1.0 / 255.0) - mean) / std


def make_tiny_subset(src: str | Path = FASHION_MNIST_DIR, out: str | Path = TINY_PATH,
                     train_per_class: int = 200, test_per_class: int = 50) -> Path:
    """Write the shipped tiny dataset: the first ``train_per_class`` training and
    ``test_per_class`` test images of each class, in file order (deterministic), compressed .npz.
    ``python -c "from asicsim.data import make_tiny_subset; make_tiny_subset()"``"""
    ds = load_idx_folder(src, "fashion-mnist")

    def pick(x, y, per):
        idx = np.sort(np.concatenate([np.flatnonzero(y == c)[:per] for c in range(10)]))
        return x[idx, :, :, 0], y[idx].astype(np.uint8)

    xtr, ytr = pick(ds.x_train, ds.y_train, train_per_class)
    xte, yte = pick(ds.x_test, ds.y_test, test_per_class)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return out
