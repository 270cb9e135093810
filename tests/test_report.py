"""Reports: run, compare and sweep folders → report.md + index.html + figures (PNG and SVG); the
HTML opens in headless Chromium with every image loaded."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asicsim.errors import InputError
from asicsim.report.write import detect_kind, write_report
from asicsim.studies.journal import JOURNAL, Journal

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check_report_html.py"
CHROMIUM = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def cli(*args, timeout=300):
    r = subprocess.run([sys.executable, "-m", "asicsim", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("reports")
    run = base / "run"
    from asicsim.config.hardware import load_hardware
    from asicsim.studies.step import simulate
    from asicsim.workload.network import load_network
    simulate(load_hardware("edge"), load_network("lenet5"), 8).write(run)
    cmp_ = base / "compare"
    cli("compare", "--network", "lenet5", "--batch", "8", "--rank", "2,8", "--out", str(cmp_))
    sw = base / "sweep"     # `asicsim sweep ... --report`: the sweep and its report in one go
    r = cli("sweep", "tiny", "--out", str(sw), "--workers", "0", "--report")
    assert "8 points: 8 run, 0 already done, 0 failed" in r.stdout
    assert "\r" not in r.stderr and "pt/s" not in r.stderr   # no tqdm bar: stderr is not a terminal
    assert (sw / "results.parquet").exists() and (sw / "index.html").exists() and (sw / "report.md").exists()
    rules = base / "rules"  # `asicsim compare --rules ... --report`: lenet5 has trained records of full and dfa
    cli("compare", "--network", "lenet5", "--batch", "8", "--rules", "full,sbpca:3,dfa", "--out", str(rules),
        "--report")
    assert (rules / "index.html").exists() and (rules / "report.md").exists()
    return {"run": run, "compare": cmp_, "sweep": sw, "rules": rules}


def images(page: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page.read_text())


def check_common(folder: Path) -> str:
    page = write_report(folder)
    assert page == folder / "index.html"
    md = (folder / "report.md").read_text()
    srcs = images(page)
    assert srcs, "no figures"
    for src in srcs:
        png = folder / src
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
        svg = png.with_suffix(".svg")
        assert svg.is_file() and "<svg" in svg.read_text()[:2000], svg
        assert f"]({src})" in md            # the Markdown shows the same figures
    # quantities carry units (in the column header, or in a unit column)
    assert re.search(r"energy( per \w+)? \((pJ|nJ|µJ|mJ|J)\)|\| energy per step \| (pJ|nJ|µJ|mJ|J) \|", md)
    return md


def test_run_report(folders):
    md = check_common(folders["run"])
    assert detect_kind(folders["run"]) == "run"
    for stem in ("energy_breakdown", "traffic_per_layer", "cycles_per_layer", "roofline"):
        assert (folders["run"] / "figures" / f"{stem}.png").exists()
    assert "| cycles per step |" in md and "| stall share |" in md
    assert re.search(r"\| DRAM read \| [\d.,]+ \| (B|KiB|MiB|GiB) \|", md)
    assert "| layer | cycles | share of step (%) | stall share (%) |" in md


def test_compare_report(folders):
    md = check_common(folders["compare"])
    assert detect_kind(folders["compare"]) == "compare"
    assert "| quantity | unit | full | sbpca_k2 | sbpca_k8 | sbpca_k2 / full | sbpca_k8 / full |" in md
    for stem in ("compare_overview", "compare_cycles_per_layer", "roofline"):
        assert (folders["compare"] / "figures" / f"{stem}.png").exists()


def md_table(md: str, caption: str) -> list[dict[str, str]]:
    """The rows of the Markdown table under ``*caption*``, as header → cell."""
    lines = md.split(f"*{caption}*\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return [dict(zip(cells[0], row)) for row in cells[2:]]


def test_rules_report(folders):
    import pandas as pd

    from asicsim.report import plots

    d = folders["rules"]
    md = check_common(d)
    assert detect_kind(d) == "rules"
    assert md.startswith("# Training rules side by side: lenet5 on edge, batch 8\n")
    code = json.loads((d / "summary.json").read_text())["code"]
    assert re.fullmatch(r"[0-9a-f]{16}", code) and f"Simulator fingerprint `{code}`" in md
    for stem in ("rules_phases", "rules_tradeoff"):
        assert (d / "figures" / f"{stem}.png").exists() and (d / "figures" / f"{stem}.svg").exists()
    csv = pd.read_csv(d / "rules.csv")
    rows = md_table(md, "One training step per rule")
    assert [r["rule"] for r in rows] == list(csv["rule"]) == ["full", "sbpca_k3", "dfa"]
    scale = {u: div for div, u in plots.ENERGY_UNITS + plots.BYTE_UNITS} | {"ms": 1.0, None: 1.0}
    cols = {"cycles": "cycles", "time": "time_ms", "DRAM traffic": "dram_bytes", "energy": "energy_pj",
            "training state": "state_bytes", "test accuracy": "accuracy"}
    cols |= {f"{p} energy": f"energy_{p}_pj" for p in plots.PHASE_ORDER}
    checked = 0
    for row, (_, want) in zip(rows, csv.iterrows()):
        for head, cell in row.items():
            name, unit = re.fullmatch(r"(.+?)(?: \((\S+)\))?", head).groups()
            if name not in cols:
                continue
            v = want[cols[name]]
            if pd.isna(v):
                assert cell == "–"
            else:   # 4 significant digits below 1000, whole numbers above
                got = float(cell.replace(",", "")) * scale[unit]
                assert got == pytest.approx(v, rel=5e-4, abs=0.5 * scale[unit]), (row["rule"], head, cell, v)
            checked += 1
    assert checked == 3 * 10     # every numeric column of every row
    acc = {r["rule"]: (r["test accuracy"], r["accuracy from"]) for r in rows}
    assert acc["sbpca_k3"] == ("–", "–")
    # the repo's accuracy study has LeNet-5 full and dfa: both at its common budget, 2 epochs
    assert acc["full"][1].startswith("accuracy study: epoch 2, lr ") and acc["dfa"][1].startswith("accuracy study: epoch 2")
    recs = md_table(md, "Trained records behind the accuracy column")
    assert [r["rule"] for r in recs] == ["full", "dfa"] and "accuracy_" in recs[0]["records (benchmarks/results/…)"]
    ratios = md_table(md, "Relative to full")
    for r, (_, want) in zip(ratios, csv.iterrows()):
        assert float(r["energy / full"]) == pytest.approx(want["energy_pj_vs_full"], abs=5e-4)


def test_rules_report_needs_its_columns(folders, tmp_path):
    import pandas as pd

    d = tmp_path / "bad"
    shutil.copytree(folders["rules"], d)
    pd.read_csv(d / "rules.csv").drop(columns=["state_bytes"]).to_csv(d / "rules.csv", index=False)
    with pytest.raises(InputError, match="lacks columns"):
        write_report(d)
    r = subprocess.run([sys.executable, "-m", "asicsim", "report", str(d)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "state_bytes" in r.stderr


def test_sweep_report(folders):
    md = check_common(folders["sweep"])
    assert detect_kind(folders["sweep"]) == "sweep"
    figs = {p.stem for p in (folders["sweep"] / "figures").glob("*.png")}
    assert "pareto_0_update" in figs
    assert {"heatmap_0_energy_pj", "heatmap_0_total_cycles"} <= figs
    assert "8 points recorded of 8; 8 ran, 0 failed" in md
    assert "| best by | point |" in md and "Pareto-optimal points" in md


def test_incomplete_sweep_with_failures(folders, tmp_path):
    d = tmp_path / "partial"
    shutil.copytree(folders["sweep"], d)
    rows = Journal(d / JOURNAL).read()
    rows[1]["error"] = "RuntimeError: boom"
    for k in [k for k in rows[1] if k.startswith(("energy", "total_cycles"))]:
        rows[1][k] = None
    (d / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in rows[:5]))
    (d / "results.parquet").unlink()
    md = check_common(d)
    assert "5 points recorded of 8; 4 ran, 1 failed" in md
    assert "incomplete (3 points missing)" in md
    assert "RuntimeError: boom" in md


def test_not_a_result_folder(tmp_path):
    with pytest.raises(InputError, match="not a run, compare or sweep folder"):
        write_report(tmp_path)
    r = subprocess.run([sys.executable, "-m", "asicsim", "report", str(tmp_path / "nowhere")], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_html_opens_in_headless_chromium_with_every_image(folders):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (run scripts/setup_browser.sh): cannot check the HTML in a browser")
    for f in folders.values():
        if not (f / "index.html").exists():
            write_report(f)
    r = subprocess.run([sys.executable, str(CHECK), *[str(f / "index.html") for f in folders.values()]],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok ") == len(folders)
    # and the check does catch a broken image
    broken = folders["run"].parent / "broken"
    shutil.copytree(folders["run"], broken)
    (broken / images(broken / "index.html")[0]).write_bytes(b"not a png")
    r = subprocess.run([sys.executable, str(CHECK), str(broken)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "did not load in the browser" in r.stdout


def test_sweep_over_batch_compares_per_sample(tmp_path):
    from asicsim.studies.expand import study_from_dict
    from asicsim.studies.sweep import run_sweep
    s = study_from_dict({"name": "batches", "base": {"network": "lenet5"},
                         "grid": {"batch": [4, 16], "array": [{"rows": 16, "cols": 16}, {"rows": 32, "cols": 32}]}},
                        "batches.yaml")
    run_sweep(s, tmp_path, workers=0, progress=False)
    md = check_common(tmp_path)
    assert "compared per training sample" in md
    assert "| best by | point | batch | array.rows |" in md and "energy per sample (" in md
    assert (tmp_path / "figures" / "heatmap_0_energy_per_sample_pj.png").exists()   # batch × array.rows
