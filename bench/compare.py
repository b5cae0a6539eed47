#!/usr/bin/env python3
"""Side-by-side benchmark: imgpipe against the peers a user would pick instead.

    python3 bench/compare.py [IN_DIR]          # default ../shared/bench/data/photos-200

Runs, in one go on the same photos:
  1. the peers, through ../shared/bench/run_peers.sh (libvips, Pillow, the
     Python pyzmq pipeline, ...), timed and verified by that harness;
  2. imgpipe with 2 workers x 1 thread on the same workloads, timed the same
     way (/usr/bin/time wall of the whole command, process start-up included)
     and verified by the same verify.py;
  3. the codec floor on one core: Pillow decode + gray + encode q85 (the
     harness's floor.py) against one imgpipe worker on one core;
  4. thread scaling: one worker given 2 threads against 1 thread (full).
Prints a markdown table with medians and ratios against the fastest peer of
the same run, and saves it under bench/results/<timestamp>/.

Environment: RUNS (3), WARMUP (1), WORKLOADS ("thumb full"),
PEERS ("pyvips py-zmq"; "all" for every peer of the harness), SKIP_PEERS=1 to
time imgpipe alone, IMGPIPE (path of a release binary; default: built here, in
$CARGO_TARGET_DIR when set).
Setup once: ../shared/bench/setup.sh && ../shared/bench/make_photos.sh --replicate 200
"""

import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = (ROOT.parent / "shared" / "bench").resolve()
WORKLOADS = {
    "thumb": "resize:800,grayscale,blur:1.5",
    "full": "grayscale,blur:3",
}
ALL_PEERS = "vips-cli im-convert im-mogrify py-loop py-zmq pyvips"


def env_int(name, default):
    return int(os.environ.get(name, default))


def python():
    venv = BENCH / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else "python3"


def build():
    binary = os.environ.get("IMGPIPE")
    if binary:
        return binary
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return str((ROOT / target).resolve() / "release" / "imgpipe")


def timed(cmd, **kw):
    """Wall seconds of one command (raises if it fails)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def run_imgpipe(binary, src, ops, workers, threads, runs, warmup, verify_workload=None, taskset=None):
    """Median-able list of (wall_s, report) for `runs` timed runs."""
    out_root = Path(tempfile.mkdtemp(prefix="imgpipe-bench-"))
    results = []
    try:
        for i in range(warmup + runs):
            out = out_root / "out"
            shutil.rmtree(out, ignore_errors=True)
            report = out_root / "report.json"
            cmd = [binary, "run", str(src), str(out), "--workers", str(workers),
                   "--threads", str(threads), "--ops", ops, "--quality", "85",
                   "--progress", "none", "--report", str(report)]
            if taskset is not None:
                cmd = ["taskset", "-c", taskset] + cmd
            wall = timed(cmd)
            if verify_workload:
                v = subprocess.run([python(), str(BENCH / "verify.py"), str(src), str(out), verify_workload],
                                   capture_output=True, text=True)
                if v.returncode != 0:
                    sys.exit(f"imgpipe output failed verification: {v.stdout}{v.stderr}")
            if i >= warmup:
                results.append((wall, json.loads(report.read_text())))
    finally:
        shutil.rmtree(out_root, ignore_errors=True)
    return results


def peers(src, runs, warmup, workloads):
    """Rows (workload, peer, median wall s) from the shared harness, run now."""
    names = os.environ.get("PEERS", "pyvips py-zmq")
    if names == "all":
        names = ALL_PEERS
    env = dict(os.environ, RUNS=str(runs), WARMUP=str(warmup), WORKLOADS=" ".join(workloads), PEERS=names)
    proc = subprocess.run([str(BENCH / "run_peers.sh"), str(src)], env=env, capture_output=True, text=True)
    sys.stderr.write(proc.stdout[-3000:])
    m = re.search(r"^results: (\S+)", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        sys.exit(f"run_peers.sh failed:\n{proc.stderr[-2000:]}")
    walls = {}
    with open(BENCH / m.group(1) / "raw.csv") as f:
        for row in csv.DictReader(f):
            if row["rc"] == "0" and row["verify"] == "ok":
                walls.setdefault((row["workload"], row["peer"]), []).append(float(row["wall_s"]))
    return {k: statistics.median(v) for k, v in walls.items()}


def pillow_floor(photos):
    """Pillow decode + convert L + encode q85 on one core, ms per image (harness's floor.py)."""
    files = sorted(str(p) for p in Path(photos).glob("*.jpg"))
    proc = subprocess.run(["taskset", "-c", "1", python(), str(BENCH / "floor.py"), "3"] + files,
                          capture_output=True, text=True, check=True)
    m = re.search(r"\| Pillow decode \+ convert L \+ encode q85\s*\|\s*([\d.]+)", proc.stdout)
    return float(m.group(1)) if m else float("nan")


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else BENCH / "data" / "photos-200").resolve()
    photos = BENCH / "data" / "photos"
    if not src.is_dir() or not photos.is_dir():
        sys.exit(f"no photos at {src}: run {BENCH}/make_photos.sh --replicate 200 first")
    runs, warmup = env_int("RUNS", 3), env_int("WARMUP", 1)
    workloads = os.environ.get("WORKLOADS", "thumb full").split()
    n = len(list(src.glob("*.jpg")))
    binary = build()
    lines = [f"# imgpipe vs peers, {n} photos from {src.name}, {os.cpu_count()} cores, "
             f"median of {runs} runs (+{warmup} warm-up), {time.strftime('%Y-%m-%d %H:%M')}", ""]

    peer_walls = {} if os.environ.get("SKIP_PEERS") else peers(src, runs, warmup, workloads)

    lines += ["| workload | tool | median wall s | images/s | vs fastest peer |", "|---|---|---:|---:|---:|"]
    for wl in workloads:
        rows = [(wall, peer) for (w, peer), wall in peer_walls.items() if w == wl]
        fastest = min(rows)[0] if rows else None
        variants = [("imgpipe 2 workers", WORKLOADS[wl]),
                    ("imgpipe 2 workers, grayscale:luma", WORKLOADS[wl].replace("grayscale", "grayscale:luma"))]
        for label, ops in variants:
            res = run_imgpipe(binary, src, ops, 2, 1, runs, warmup, verify_workload=wl)
            rows.append((statistics.median(w for w, _ in res), label))
        for wall, tool in sorted(rows):
            ratio = f"{fastest / wall:.2f}x" if fastest else "-"
            lines.append(f"| {wl} | {tool} | {wall:.2f} | {n / wall:.1f} | {ratio} |")
    lines.append("")
    lines.append("Wall time is the whole command (process start-up included) for every tool, "
                 "as run_peers.sh measures peers; each run's outputs are verified by verify.py.")

    # Codec floor, one core: per-image worker time from the report (no start-up).
    floor_pillow = pillow_floor(photos)
    lines += ["", "| one core, decode + gray + encode q85 | ms/image | vs Pillow floor |", "|---|---:|---:|",
              f"| Pillow (floor.py) | {floor_pillow:.1f} | 1.00 |"]
    for ops in ("grayscale", "grayscale:luma"):
        res = run_imgpipe(binary, photos, ops, 1, 1, runs, warmup, taskset="0")
        ms = statistics.median(r["workers"][0]["busy_s"] / r["workers"][0]["tasks"] * 1000 for _, r in res)
        lines.append(f"| imgpipe worker, {ops} | {ms:.1f} | {ms / floor_pillow:.2f} |")

    # Thread scaling of one worker on the full workload.
    if "full" in workloads:
        rates = {}
        for threads in (1, 2):
            res = run_imgpipe(binary, src, WORKLOADS["full"], 1, threads, runs, warmup)
            rates[threads] = statistics.median(r["images_per_s"] for _, r in res)
        lines += ["", f"One worker on full: 1 thread {rates[1]:.1f} images/s, 2 threads {rates[2]:.1f} "
                      f"images/s: {rates[2] / rates[1]:.2f}x (batch wall time from the sink's report)."]

    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    print(f"saved {out.relative_to(ROOT)}/summary.md")


if __name__ == "__main__":
    main()
