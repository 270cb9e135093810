"""Import SCALE-Sim topologies (``.csv``) and architecture configs (``.cfg``).

Why: users compare against SCALE-Sim on SCALE-Sim's own inputs, so a topology file must become a
`Network` whose per-layer GEMMs are exactly the ones SCALE-Sim simulates.

Conv format (``-i conv``), one layer per row after a header line that is always skipped::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,

There is no padding and no batch: SCALE-Sim's output size is ``ceil((H - R + S) / S)`` per axis
(same stride on both axes). That is one more than a valid convolution's ``floor((H - R) / S) + 1``
whenever S does not divide H - R (Resnet18.csv's 1×1/2 shortcut on 56×56 gives 29×29, not 28×28);
SCALE-Sim simulates those extra pixels, so we keep its rule rather than PyTorch's. Rows are
independent layers (each has its own IFMAP size and nothing says which layer feeds which), so every
imported layer reads ``input`` and carries its own ``in_shape``: the network is a list of GEMMs,
not a chain. Convs have no bias (SCALE-Sim has none).
As in SCALE-Sim, a layer whose name contains ``DP`` is depthwise: it becomes one single-channel
layer per input channel, named ``<name>Channel_<i>``.

GEMM format (``-i gemm``): ``Layer Name, M, N, K,``. Each row becomes a 1×1 conv over an M×1
"image" with K input channels and N filters, so positions P = M, the weight matrix is N×K and the
forward GEMM is M×K times K×N, which are SCALE-Sim's M (ofmap pixels), N (filters), K (window).

Tolerated, because SCALE-Sim's shipped topologies contain them: a UTF-8 byte-order mark, tab
instead of comma separators, blank or all-empty rows, ``#`` comments, a missing trailing comma,
repeated layer names (a repeat gets ``_line<n>`` appended, n its line number), and extra columns
that the header names (annotations such as ``Eh, Ew, e2`` in Resnet50.csv, or SCALE-Sim v3's N:M
sparsity ratio, ignored: this importer models dense layers). A GEMM batch count other than 1 in
the fifth column is refused rather than dropped. Anything else malformed raises `InputError` naming
file, line, column, value and what is allowed.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from asicsim.errors import InputError
from asicsim.inputs import read_text
from asicsim.workload.network import ConvLayer, Layer, Network, Shape

CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                "Channels", "Num Filter", "Strides")
GEMM_COLUMNS = ("Layer Name", "M", "N", "K")


def scalesim_out(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output length along one axis: ceil((size - kernel + stride) / stride), no padding
    (integer arithmetic, so huge sizes do not suffer float rounding)."""
    return -(-(size - kernel + stride) // stride)


def _split(line: str, sep: str) -> list[str]:
    """Fields of one row with comments, surrounding blanks and trailing empty fields removed."""
    line = line.split("#", 1)[0]
    fields = [f.strip() for f in line.split(sep)]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every data row; checks the column count against the header."""
    text = read_text(path, what="SCALE-Sim topology")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError("empty file; expected a header line then one row per layer", file=path,
                         allowed="header: " + ", ".join(columns) + ",")
    sep = "," if "," in lines[0] or "\t" not in lines[0] else "\t"
    header = _split(lines[0], sep)
    if len(header) > 1 and header[1].isdigit():
        raise InputError("line 1 looks like a layer row, but SCALE-Sim always skips line 1 as the "
                         "header, so this layer would be lost", file=path, field="line 1",
                         value=lines[0].strip(), allowed="a header line: " + ", ".join(columns) + ",")
    max_cols = max(len(columns), len(header))
    rows = []
    for no, line in enumerate(lines[1:], start=2):
        fields = _split(line, sep)
        if not any(fields):
            continue
        extra = [i for i, f in enumerate(fields) if f and i >= max_cols]
        if len(fields) < len(columns) or extra:
            col = f"column '{columns[len(fields)]}'" if not extra else f"column {extra[0] + 1} (unnamed)"
            what = "missing" if not extra else "not in the header"
            raise InputError(f"row has {len(fields)} columns, {col} is {what}", file=path,
                             field=f"line {no}, {col}", value=line.strip(),
                             allowed=f"{len(columns)} columns: " + ", ".join(columns)
                             + (f", plus the {len(header) - len(columns)} extra annotation column(s) the "
                                "header names" if len(header) > len(columns) else ""))
        rows.append((no, fields))
    if not rows:
        raise InputError("no layer rows after the header", file=path,
                         allowed="one row per layer: " + ", ".join(columns) + ",")
    return rows


def _positive(path: Path, no: int, column: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise InputError("must be a positive integer", file=path, field=f"line {no}, column '{column}'",
                         value=text, allowed="an integer >= 1")
    return value


def _conv_layer(name: str, c: int, h: int, w: int, r: int, s: int, n: int, stride: int) -> Layer:
    spec = ConvLayer(name=name, type="conv", out_channels=n, kernel=(r, s), stride=stride, bias=False)
    out = Shape(n, scalesim_out(h, r, stride), scalesim_out(w, s, stride))
    return Layer(spec=spec, inputs=("input",), in_shape=Shape(c, h, w), out_shape=out)


def load_topology(path: str | Path, gemm: bool = False) -> Network:
    """Read a SCALE-Sim topology CSV (conv format, or M,N,K rows with ``gemm=True``) as a `Network`
    of independent layers (batch 1, per-sample shapes; the network is named after the file stem)."""
    path = Path(path)
    columns = GEMM_COLUMNS if gemm else CONV_COLUMNS
    layers: list[Layer] = []
    where: dict[str, int] = {}  # layer name -> line it came from
    bases: set[str] = set()
    for no, fields in _read_rows(path, columns):
        name = fields[0]
        if not name:
            raise InputError("layer name is empty", file=path, field=f"line {no}, column '{columns[0]}'",
                             value=name, allowed="a non-empty name")
        if name in bases:  # SCALE-Sim allows repeats (UNet_maestro.csv); names here must be unique
            name = f"{name}_line{no}"
        bases.add(name)
        v = [_positive(path, no, col, fields[i]) for i, col in enumerate(columns) if i > 0]
        if gemm:
            m, n, k = v
            fifth = fields[4] if len(fields) > 4 else ""
            if fifth and ":" not in fifth and fifth != "1":
                raise InputError("batched GEMMs are not supported (the count would be silently lost)",
                                 file=path, field=f"line {no}, column 5", value=fifth,
                                 allowed="1, an N:M sparsity ratio (ignored), or one row per batch element")
            new = [_conv_layer(name, k, m, 1, 1, 1, n, 1)]
        else:
            h, w, r, s, c, n, stride = v
            for col, kern, size in (("Filter Height", r, h), ("Filter Width", s, w)):
                if kern > size:
                    dim = "Height" if col.endswith("Height") else "Width"
                    raise InputError("filter larger than the IFMAP (SCALE-Sim has no padding)", file=path,
                                     field=f"line {no}, column '{col}'", value=kern,
                                     allowed=f"at most IFMAP {dim} = {size}")
            if "DP" in name:  # SCALE-Sim's depthwise rule: one single-channel layer per channel
                new = [_conv_layer(f"{name}Channel_{i}", 1, h, w, r, s, n, stride) for i in range(c)]
            else:
                new = [_conv_layer(name, c, h, w, r, s, n, stride)]
        for layer in new:
            if layer.name in where:
                raise InputError("duplicate layer name", file=path, field=f"line {no}, column '{columns[0]}'",
                                 value=layer.name, allowed=f"a name not used before (line {where[layer.name]})")
            where[layer.name] = no
            layers.append(layer)
    return Network(name=path.stem, input_shape=layers[0].in_shape, layers=tuple(layers),
                   source=f"SCALE-Sim topology {path.name}", path=str(path),
                   _by_name={l.name: l for l in layers})


@dataclass(frozen=True)
class ScaleSimConfig:
    """The parts of a SCALE-Sim ``.cfg`` that fix compute and memory: array rows × cols (PEs),
    dataflow (os/ws/is), SRAM sizes in kB (1024 bytes; SCALE-Sim's words are 1 byte), DRAM bandwidth in words
    per cycle, and how SCALE-Sim uses it (``CALC``: computed from the run, the value is ignored;
    ``USER``: the given value)."""
    rows: int
    cols: int
    dataflow: str
    ifmap_sram_kb: int
    filter_sram_kb: int
    ofmap_sram_kb: int
    bandwidth_words_per_cycle: int
    run_name: str = ""
    bandwidth_mode: str = "CALC"


_CFG_INTS = (("rows", "ArrayHeight"), ("cols", "ArrayWidth"), ("ifmap_sram_kb", "IfmapSramSzkB"),
             ("filter_sram_kb", "FilterSramSzkB"), ("ofmap_sram_kb", "OfmapSramSzkB"),
             ("bandwidth_words_per_cycle", "Bandwidth"))


def load_scalesim_config(path: str | Path) -> ScaleSimConfig:
    """Parse a SCALE-Sim architecture config (``[general]``, ``[architecture_presets]``,
    optional ``[run_presets]``); keys are case-insensitive as in configparser."""
    path = Path(path)
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    text = read_text(path, what="SCALE-Sim config")
    try:
        cp.read_string(text, source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        reason = getattr(exc, "message", str(exc)).splitlines()[0]
        raise InputError(f"cannot parse SCALE-Sim config: {reason}", file=path,
                         field=f"line {line}" if line else None,
                         allowed="INI sections [general], [architecture_presets], [run_presets] holding "
                                 "'Key: value' lines, each key once per section") from None

    def get(section: str, key: str) -> str:
        if not cp.has_option(section, key):
            raise InputError("missing key", file=path, field=f"[{section}] {key}",
                             allowed=f"a '{key}: <value>' line in section [{section}]")
        return cp.get(section, key).strip()

    vals: dict[str, int] = {}
    for attr, key in _CFG_INTS:
        text = get("architecture_presets", key)
        try:
            vals[attr] = int(text)
        except ValueError:
            vals[attr] = 0
        if vals[attr] <= 0:
            raise InputError("must be a positive integer", file=path, field=f"[architecture_presets] {key}",
                             value=text, allowed="an integer >= 1")
    dataflow = get("architecture_presets", "Dataflow").lower()
    if dataflow not in ("os", "ws", "is"):
        raise InputError("unknown dataflow", file=path, field="[architecture_presets] Dataflow", value=dataflow,
                         allowed="os (output-stationary), ws (weight-stationary), is (input-stationary)")
    mode = cp.get("run_presets", "InterfaceBandwidth", fallback="CALC").strip().upper()
    if mode not in ("CALC", "USER"):
        raise InputError("unknown bandwidth mode", file=path, field="[run_presets] InterfaceBandwidth",
                         value=mode, allowed="CALC or USER")
    run_name = cp.get("general", "run_name", fallback=path.stem).strip()
    return ScaleSimConfig(dataflow=dataflow, run_name=run_name, bandwidth_mode=mode, **vals)


def hardware_from_scalesim(cfg: ScaleSimConfig, clock_ghz: float = 1.0):
    """A `HardwareConfig` equivalent to a SCALE-Sim config: same array and dataflow, three SRAM
    buffers (ifmap/filter/ofmap) of the given kB, 1-byte words (SCALE-Sim counts words), and a
    DRAM link of the configured words per cycle (used only when memory is not ideal)."""
    from asicsim.config.hardware import hardware_from_dict

    data = {
        "name": cfg.run_name or "scalesim",
        "description": f"from SCALE-Sim config ({cfg.rows}x{cfg.cols} {cfg.dataflow})",
        "array": {"rows": cfg.rows, "cols": cfg.cols, "dataflow": cfg.dataflow, "clock_ghz": clock_ghz,
                  "operand_bits": 8, "accumulator_bits": 8},
        "sram": {
            "ifmap": {"capacity_kib": cfg.ifmap_sram_kb, "holds": ["ifmap"]},
            "filter": {"capacity_kib": cfg.filter_sram_kb, "holds": ["filter"]},
            "ofmap": {"capacity_kib": cfg.ofmap_sram_kb, "holds": ["ofmap"]},
        },
        "dram": {"bandwidth_gb_s": cfg.bandwidth_words_per_cycle * clock_ghz, "latency_ns": 0.0,
                 "read_pj_per_bit": 8.0, "write_pj_per_bit": 8.0},
    }
    return hardware_from_dict(data, file=f"<SCALE-Sim config {cfg.run_name}>")
