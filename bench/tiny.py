#!/usr/bin/env python3
"""Tiny images: imgpipe against a one-process Pillow loop doing the same work.

Writes one 16x16 JPEG hard-linked N times (10 folders) under a scratch
folder, then in interleaved rounds times `imgpipe run IN OUT --ops
grayscale` at default settings (2 workers; the report's wall time: first
task to last result) and a Pillow loop in one process (open, convert L,
save q85; timed from the first image to the last, the walk excluded).
Prints each round and the medians.

    python3 bench/tiny.py [N]           # default 10000

Environment: IMGPIPE (release binary; default target/release/imgpipe), RUNS
(3), TMPDIR (the scratch folder's parent; /dev/shm keeps the disk out of
it). Pillow comes from ../shared/bench/.venv when its setup.sh has run.
Build first: cargo build --release.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
IMGPIPE = os.environ.get("IMGPIPE", os.path.join(HERE, "..", "target", "release", "imgpipe"))
RUNS = int(os.environ.get("RUNS", "3"))
VENV = os.path.join(HERE, "..", "..", "shared", "bench", ".venv", "bin", "python")
PYTHON = VENV if os.path.exists(VENV) else sys.executable

PILLOW_LOOP = r"""
import os, sys, time
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
files = [os.path.join(r, n) for r, _, names in os.walk(src) for n in names]
t = time.perf_counter()
for f in files:
    out = os.path.join(dst, os.path.relpath(f, src))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    Image.open(f).convert("L").save(out, quality=85)
print(len(files) / (time.perf_counter() - t))
"""

MAKE_TREE = r"""
import os, sys
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
im = Image.new("RGB", (16, 16))
for x in range(16):
    for y in range(16):
        im.putpixel((x, y), (x * 16, y * 16, (x * y) % 256))
first = os.path.join(root, "tiny.jpg")
im.save(first, quality=90)
for i in range(n):
    d = os.path.join(root, f"d{i % 10}")
    os.makedirs(d, exist_ok=True)
    os.link(first, os.path.join(d, f"{i:06}.jpg"))
os.remove(first)
"""


def imgpipe(src, out, tmp):
    report = os.path.join(tmp, "report.json")
    subprocess.run([IMGPIPE, "run", src, out, "--ops", "grayscale", "--progress", "none",
                    "--quiet", "--report", report], check=True)
    r = json.load(open(report))
    assert r["succeeded"] == r["total"], (r["succeeded"], r["total"])
    return r["images_per_s"]


def pillow(src, out):
    done = subprocess.run([PYTHON, "-c", PILLOW_LOOP, src, out], check=True,
                          capture_output=True, text=True)
    return float(done.stdout)


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not sys.argv[1].isdigit()):
        sys.exit(__doc__)
    n = int(sys.argv[1]) if len(sys.argv) == 2 else 10_000
    tmp = tempfile.mkdtemp()
    src, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.mkdir(src)
    subprocess.run([PYTHON, "-c", MAKE_TREE, src, str(n)], check=True)
    rates = {"imgpipe": [], "pillow": []}
    for rnd in range(RUNS):
        for label, run in (("imgpipe", lambda: imgpipe(src, out, tmp)),
                           ("pillow", lambda: pillow(src, out))):
            shutil.rmtree(out, ignore_errors=True)
            rate = run()
            rates[label].append(rate)
            print(f"round {rnd + 1} {label:>8}: {rate:8.0f} images/s", flush=True)
    shutil.rmtree(tmp)
    ratios = [a / b for a, b in zip(rates["imgpipe"], rates["pillow"])]
    print(f"\n{n} 16x16 JPEGs, --ops grayscale, 2 workers, default settings; medians of {RUNS}:")
    print(f"imgpipe {statistics.median(rates['imgpipe']):.0f} images/s, "
          f"Pillow loop {statistics.median(rates['pillow']):.0f}, "
          f"per-round ratio median {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
