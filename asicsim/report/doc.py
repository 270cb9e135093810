"""The report document model (headings, text, tables, figures → markdown and HTML), number
formatting, and the readers of run/compare tables.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asicsim.errors import InputError
from asicsim.inputs import load_json, read_csv_frame
from asicsim.report import plots

FIG_DIR = "figures"


# --------------------------------------------------------------------------- document model


@dataclass
class Doc:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, text: str, level: int = 2):
        self.blocks.append(("h", (level, text)))

    def p(self, text: str):
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame, caption: str = ""):
        self.blocks.append(("table", (df, caption)))

    def fig(self, stem: str, caption: str, half: bool = False):
        self.blocks.append(("fig", (stem, caption, half)))

    # ---- renderers
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, val in self.blocks:
            if kind == "h":
                level, text = val
                out += ["#" * level + " " + text, ""]
            elif kind == "p":
                out += [val, ""]
            elif kind == "table":
                df, cap = val
                if cap:
                    out += [f"*{cap}*", ""]
                cols = [str(c) for c in df.columns]
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|")
                for _, row in df.iterrows():
                    out.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
                out.append("")
            elif kind == "fig":
                stem, cap, _ = val
                out += [f"![{stem}]({FIG_DIR}/{stem}.png)", "",
                        f"*{cap}* ([SVG]({FIG_DIR}/{stem}.svg))", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        for kind, val in self.blocks:
            if kind == "h":
                level, text = val
                body.append(f"<h{level}>{e(text)}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline_html(val)}</p>")
            elif kind == "table":
                df, cap = val
                rows = ['<div class="scroll"><table>']
                if cap:
                    rows.append(f"<caption>{e(cap)}</caption>")
                rows.append("<thead><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in df.columns) + "</tr></thead><tbody>")
                for _, row in df.iterrows():
                    rows.append("<tr>" + "".join(f"<td>{e(txt(v))}</td>" for v in row) + "</tr>")
                rows.append("</tbody></table></div>")
                body.append("\n".join(rows))
            elif kind == "fig":
                stem, cap, half = val
                cls = ' class="half"' if half else ""
                body.append(f'<figure{cls}><a href="{FIG_DIR}/{stem}.svg"><img src="{FIG_DIR}/{stem}.png" '
                            f'alt="{e(cap)}"></a><figcaption>{e(cap)} '
                            f'(<a href="{FIG_DIR}/{stem}.svg">SVG</a>)</figcaption></figure>')
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{e(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
                + "\n".join(body) + "\n</body>\n</html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:1.8em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}caption{text-align:left;font-style:italic;
padding:.3em 0}th,td{border:1px solid #ddd;padding:.25em .6em}th{background:#f5f5f5}
td{text-align:right;font-variant-numeric:tabular-nums}td:first-child{text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figure.half{display:inline-block;vertical-align:top;width:49%;margin:.6em 0}.scroll{overflow-x:auto}
figcaption{font-size:.9em;color:#555}code{background:#f3f3f3;padding:0 .2em}
"""


def txt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _md_cell(v: Any) -> str:
    return txt(v).replace("|", "\\|").replace("\n", " ")


def _inline_html(text: str) -> str:
    """Escape, then turn `code` spans and [text](link) into HTML."""
    import re
    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', t)
    return t


# --------------------------------------------------------------------------- number formatting


def fmt_num(v: Any, digits: int = 4) -> str:
    """Numbers for tables: ≥ 1000 as integers with thousands separators, else 4 significant digits."""
    if v is None:
        return ""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞"
    if x == 0:
        return "0"
    if 1000 <= abs(x) < 1e18:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def scaled(values, units) -> tuple[float, str]:
    return plots.scale_for(values, units)


def pct(v: float) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v * 100:.1f}"


def find_key(obj: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested JSON object."""
    if isinstance(obj, dict):
        if key in obj and not isinstance(obj[key], (dict, list)):
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def read_json(p: Path) -> dict:
    return load_json(p) if p.exists() else {}


def read_layers_csv(p: Path) -> pd.DataFrame:
    df = read_csv_frame(p)
    need = {"layer", "phase", "macs", "total_cycles", "compute_cycles", "stall_cycles", "energy_pj",
            "dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise InputError("table lacks columns", file=p, value=", ".join(missing))
    return df


