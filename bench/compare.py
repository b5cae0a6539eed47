#!/usr/bin/env python3
"""Side-by-side benchmark: imgpipe against the peers a user would pick instead.

    python3 bench/compare.py [IN_DIR]          # default ../shared/bench/data/photos-200

Runs, on the same photos, in rounds (see below):
  1. the peers of ../shared/bench (libvips through pyvips, the Python pyzmq +
     Pillow pipeline, ...), each `peers/<name>.sh IN OUT WORKLOAD` timed as a
     whole command and its outputs checked by the harness's verify.py;
  2. imgpipe with 2 workers x 1 thread on the same workloads, timed the same
     way (the whole `imgpipe run`, process start-up included) and verified by
     the same verify.py;
  3. the codec floor on one core: Pillow decode + gray + encode q85 in one
     process from memory (the harness's floor.py) against the same work done
     by imgpipe's worker code (shared/examples/codec_floor.rs), both pinned to
     the same core; and, for reference, a whole one-worker run on that core;
  4. thread scaling: one worker given 2 threads against 1 thread (full).

Every comparison is interleaved: each round runs every contender once, in an
order that rotates from round to round, so a burst of load from elsewhere
hits all of them alike. Ratios are given two ways: of the medians, and the
median of the per-round ratios (each round's contenders ran within seconds
of each other). Prints a markdown table and saves it under
bench/results/<timestamp>/ with every single run in runs.csv.

Environment: RUNS (3 timed rounds), WARMUP (1 untimed round), WORKLOADS
("thumb full"), PEERS ("pyvips py-zmq"; "all" for every peer of the harness),
SKIP_PEERS=1 to time imgpipe alone, IMGPIPE (a release binary of imgpipe;
default: built here, in $CARGO_TARGET_DIR when set), CORE (1: the core of the
one-core measurements), ALSO ("label=path ..."; more imgpipe binaries timed
in the same rounds on both workloads, e.g. a build with `--features c-jpeg`
or of an older commit, to measure a change side by side).
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


def target_dir():
    return (ROOT / os.environ.get("CARGO_TARGET_DIR", "target")).resolve()


def build():
    """Paths of the imgpipe binary and of the codec_floor example (release)."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "shared", "--example", "codec_floor"],
                   cwd=ROOT, check=True)
    floor = str(target_dir() / "release" / "examples" / "codec_floor")
    binary = os.environ.get("IMGPIPE")
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        binary = str(target_dir() / "release" / "imgpipe")
    return binary, floor


def timed(cmd, scratch):
    """Wall seconds, peak RSS in MB of its largest process (GNU time's %M,
    as run_peers.sh reports it) and output of one command; exits with that
    output if the command fails."""
    rss_file = scratch / "rss"
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + list(map(str, cmd)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    rss_mb = int(rss_file.read_text().split()[-1]) / 1024
    return wall, rss_mb, proc.stdout


# imgpipe's record of what made each output (for --skip-existing); the
# harness's verify.py counts every file, so it is set aside before checking.
MANIFEST = ".imgpipe-manifest"


def verify(src, out, workload):
    (Path(out) / MANIFEST).unlink(missing_ok=True)
    v = subprocess.run([python(), str(BENCH / "verify.py"), str(src), str(out), workload],
                       capture_output=True, text=True)
    if v.returncode != 0:
        sys.exit(f"outputs in {out} failed verification: {v.stdout}{v.stderr}")


class Contender:
    """One thing timed once per round: a command writing into a fresh folder."""

    def __init__(self, label, command, verify_workload=None, measure=None):
        self.label = label
        self.command = command  # out folder -> argv
        self.verify_workload = verify_workload
        self.measure = measure or (lambda wall, out, stdout: wall)  # -> the value recorded
        self.values = []
        self.rss_mb = []

    def run(self, src, scratch):
        out = scratch / "out"
        shutil.rmtree(out, ignore_errors=True)
        wall, rss_mb, stdout = timed(self.command(out), scratch)
        self.rss_mb.append(rss_mb)
        if self.verify_workload:
            verify(src, out, self.verify_workload)
        return self.measure(wall, out, stdout)


def rounds(contenders, src, runs, warmup, log):
    """Runs every contender once per round, rotating the order; returns the
    per-round values as a list of dicts label -> value (warm-up excluded)."""
    scratch = Path(tempfile.mkdtemp(prefix="imgpipe-compare-"))
    per_round = []
    try:
        for r in range(warmup + runs):
            shift = r % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            values = {}
            for c in order:
                values[c.label] = c.run(src, scratch)
                tag = "warm-up" if r < warmup else f"run {r - warmup + 1}"
                print(f"  {tag:8} {c.label:42} {values[c.label]:8.3f}", file=sys.stderr)
            if r >= warmup:
                per_round.append(values)
                for c in contenders:
                    c.values.append(values[c.label])
                    log.append((c.label, r - warmup + 1, values[c.label]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return per_round


def imgpipe_run(binary, src, ops, workers, threads, report=None, taskset=None):
    def command(out):
        cmd = [binary, "run", str(src), str(out), "--workers", str(workers), "--threads", str(threads),
               "--ops", ops, "--quality", "85", "--progress", "none"]
        if report:
            cmd += ["--report", str(report)]
        return (["taskset", "-c", taskset] if taskset else []) + cmd
    return command


def peer_run(name, src, workload):
    return lambda out: [str(BENCH / "peers" / f"{name}.sh"), str(src), str(out), workload]


def load_average():
    return os.getloadavg()[0]


def fmt_range(values):
    return f"{min(values):.2f}–{max(values):.2f}"


def also_binaries():
    """The ALSO binaries as (label, path) pairs."""
    pairs = []
    for item in os.environ.get("ALSO", "").split():
        label, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            sys.exit(f"ALSO: `{item}` is not label=path to a binary")
        pairs.append((label, path))
    return pairs


def compare_workloads(binary, src, n, runs, warmup, workloads, peers, lines, log):
    for wl in workloads:
        ops = WORKLOADS[wl]
        ours = [Contender("imgpipe 2 workers", imgpipe_run(binary, src, ops, 2, 1), wl),
                Contender("imgpipe 2 workers, grayscale:luma",
                          imgpipe_run(binary, src, ops.replace("grayscale", "grayscale:luma"), 2, 1), wl)]
        ours += [Contender(f"imgpipe 2 workers ({label})", imgpipe_run(path, src, ops, 2, 1), wl)
                 for label, path in also_binaries()]
        theirs = [Contender(p, peer_run(p, src, wl), wl) for p in peers]
        print(f"{wl}: {', '.join(c.label for c in theirs + ours)}", file=sys.stderr)
        per_round = rounds(theirs + ours, src, runs, warmup, log)
        fastest = min(theirs, key=lambda c: statistics.median(c.values)) if theirs else None
        lines += [f"### {wl}: `{ops}`", "",
                  "| tool | median wall s | min–max s | images/s | vs fastest peer (medians) "
                  "| per-round ratio, median (min–max) | peak RSS MB, largest process |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for c in sorted(theirs + ours, key=lambda c: statistics.median(c.values)):
            med = statistics.median(c.values)
            ratio, per = "-", "-"
            if fastest:
                ratio = f"{statistics.median(fastest.values) / med:.2f}×"
                rs = [min(r[p.label] for p in theirs) / r[c.label] for r in per_round]
                per = f"{statistics.median(rs):.2f}× ({fmt_range(rs)})"
            lines.append(f"| {c.label} | {med:.2f} | {fmt_range(c.values)} | {n / med:.1f} | {ratio} | {per} "
                         f"| {max(c.rss_mb):.0f} |")
        lines.append("")


def compare_floor(binary, floor, photos, runs, warmup, core, lines, log):
    files = sorted(str(p) for p in Path(photos).glob("*.jpg"))

    def pillow(_wall, _out, stdout):
        m = re.search(r"\| Pillow decode \+ convert L \+ encode q85\s*\|\s*([\d.]+)", stdout)
        if not m:
            sys.exit(f"floor.py printed no Pillow floor:\n{stdout}")
        return float(m.group(1))

    def ours(_wall, _out, stdout):
        return float(re.search(r"median ms/image: ([\d.]+)", stdout).group(1))

    report = Path(tempfile.mkdtemp(prefix="imgpipe-floor-")) / "report.json"

    def worker_busy(_wall, _out, _stdout):
        w = json.loads(report.read_text())["workers"][0]
        return w["busy_s"] / w["tasks"] * 1000

    pin = ["taskset", "-c", core]
    contenders = [
        Contender("Pillow (floor.py): decode + convert L + encode", lambda out: pin + [python(), str(BENCH / "floor.py"), "1"] + files,
                  measure=pillow),
        Contender("imgpipe worker code, grayscale", lambda out: pin + [floor, "1", "grayscale"] + files, measure=ours),
        Contender("imgpipe worker code, grayscale:luma", lambda out: pin + [floor, "1", "grayscale:luma"] + files, measure=ours),
        Contender("imgpipe run, 1 worker, grayscale", imgpipe_run(binary, photos, "grayscale", 1, 1, report, core),
                  measure=worker_busy),
    ]
    print("one core:", file=sys.stderr)
    per_round = rounds(contenders, photos, runs, warmup, log)
    shutil.rmtree(report.parent, ignore_errors=True)
    base = contenders[0]
    lines += [f"### One core (core {core}), {len(files)} photos: decode + gray + encode q85", "",
              "| measured | ms/image, median | min–max | vs Pillow (medians) | per-round ratio, median (min–max) |",
              "|---|---:|---:|---:|---:|"]
    for c in contenders:
        med = statistics.median(c.values)
        rs = [r[c.label] / r[base.label] for r in per_round]
        lines.append(f"| {c.label} | {med:.1f} | {fmt_range(c.values)} | {med / statistics.median(base.values):.2f} "
                     f"| {statistics.median(rs):.2f} ({fmt_range(rs)}) |")
    lines += ["", "Pillow and `codec_floor` both work from memory in one process (no files, no messaging). "
              "The last row is the busy time per image of a real worker in `imgpipe run` with the "
              "ventilator and the sink on the same core, reading and writing files.", ""]


def compare_threads(binary, src, runs, warmup, lines, log):
    reports = Path(tempfile.mkdtemp(prefix="imgpipe-threads-"))

    def rate(threads):
        report = reports / f"{threads}.json"
        return Contender(f"1 worker, {threads} thread{'s' if threads > 1 else ''}",
                         imgpipe_run(binary, src, WORKLOADS["full"], 1, threads, report),
                         measure=lambda _w, _o, _s: json.loads(report.read_text())["images_per_s"])

    contenders = [rate(1), rate(2)]
    print("threads:", file=sys.stderr)
    per_round = rounds(contenders, src, runs, warmup, log)
    shutil.rmtree(reports, ignore_errors=True)
    one, two = (statistics.median(c.values) for c in contenders)
    rs = [r[contenders[1].label] / r[contenders[0].label] for r in per_round]
    lines += ["### One worker on full, `--threads 2` against `--threads 1`", "",
              f"1 thread {one:.1f} images/s, 2 threads {two:.1f} images/s (medians, batch wall time from the "
              f"sink's report): {two / one:.2f}×; per round {statistics.median(rs):.2f}× ({fmt_range(rs)}).", ""]


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else BENCH / "data" / "photos-200").resolve()
    photos = BENCH / "data" / "photos"
    if not src.is_dir() or not photos.is_dir():
        sys.exit(f"no photos at {src}: run {BENCH}/make_photos.sh --replicate 200 first")
    runs, warmup = env_int("RUNS", 3), env_int("WARMUP", 1)
    workloads = os.environ.get("WORKLOADS", "thumb full").split()
    names = os.environ.get("PEERS", "pyvips py-zmq")
    peers = [] if os.environ.get("SKIP_PEERS") else (ALL_PEERS if names == "all" else names).split()
    core = os.environ.get("CORE", "1")
    n = len(list(src.glob("*.jpg")))
    binary, floor = build()
    subprocess.run(["bash", "-c", f'cat "{src}"/* "{photos}"/* > /dev/null'], check=True)  # page cache warm
    load_before = load_average()
    lines = [f"# imgpipe vs peers, {n} photos from {src.name}, {os.cpu_count()} cores, "
             f"{runs} interleaved rounds (+{warmup} warm-up), {time.strftime('%Y-%m-%d %H:%M')}", ""]
    log = []
    compare_workloads(binary, src, n, runs, warmup, workloads, peers, lines, log)
    lines += ["Wall time is the whole command (process start-up included) for every tool; each run's "
              "outputs are verified by the harness's verify.py. Peers: `peers/<name>.sh` of ../shared/bench, "
              "2 processes each. Peak RSS: GNU time's %M over all runs, the largest single process "
              "(for imgpipe, a worker, the ventilator, the sink or the launcher), not the sum.", ""]
    compare_floor(binary, floor, photos, runs, warmup, core, lines, log)
    if "full" in workloads:
        compare_threads(binary, src, runs, warmup, lines, log)
    lines.append(f"Load average (1 min): {load_before:.2f} before, {load_average():.2f} after.")

    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["contender", "round", "value"])
        w.writerows(log)
    print(f"saved {out.relative_to(ROOT)}/summary.md and runs.csv")


if __name__ == "__main__":
    main()
