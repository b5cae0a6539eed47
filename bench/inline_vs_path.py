#!/usr/bin/env python3
"""The inline transport's cost against the path transport, and CURVE's.

Runs the same batch with `imgpipe run --workers 2 --threads 1`, alternating
--transport path, inline, and inline with CURVE keys (`--keys`, every byte
encrypted; so machine noise hits all alike), and prints per run and as
medians the wall time (the sink's report) and the CPU time of all roles
(getrusage of the children). Build first: cargo build --release.

    python3 bench/inline_vs_path.py ../shared/bench/data/photos-200 grayscale,blur:3 [ROUNDS]

MODES="path inline" leaves the CURVE runs out.
"""
import json, os, resource, shutil, statistics, subprocess, sys, tempfile
BIN = os.environ.get("BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "..", "target", "release", "imgpipe"))
IN, OPS = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
MODES = os.environ.get("MODES", "path inline inline+keys").split()
tmp = tempfile.mkdtemp()
keys = os.path.join(tmp, "keys")
subprocess.run([BIN, "keygen", keys], check=True, stdout=subprocess.DEVNULL)
rows = []
for i in range(ROUNDS):
    for t in MODES:
        transport, _, extra = t.partition("+")
        flags = ["--keys", keys] if extra == "keys" else []
        out = os.path.join(tmp, "o"); shutil.rmtree(out, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([BIN, "run", IN, out, "--workers", "2", "--threads", "1", "--ops", OPS,
                        "--transport", transport, "--progress", "none", "--report", tmp + "/r.json"] + flags,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        r = json.load(open(tmp + "/r.json"))
        assert r["succeeded"] == r["total"], r
        rows.append((t, r["wall_s"], cpu))
        images = r["total"]
        print(f"{t:11} wall {r['wall_s']:.3f} s  cpu {cpu:.2f} s", flush=True)
shutil.rmtree(tmp)
med = {t: (statistics.median(w for k, w, _ in rows if k == t),
           statistics.median(c for k, _, c in rows if k == t)) for t in MODES}
n = len([1 for k, *_ in rows if k == MODES[0]])
print(f"{OPS} on {IN}; imgpipe run, 2 workers x 1 thread; median of {n} interleaved runs:")
for t in MODES:
    print(f"  {t:11} wall {med[t][0]:.3f} s ({images/med[t][0]:.1f} images/s)  cpu {med[t][1]:.2f} s")
def versus(a, b):
    if a in med and b in med:
        print(f"  {a} vs {b}: wall {100*(med[a][0]/med[b][0]-1):+.1f}%, cpu {100*(med[a][1]/med[b][1]-1):+.1f}%")
versus("inline", "path")
versus("inline+keys", "inline")
