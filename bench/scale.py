#!/usr/bin/env python3
"""Scale: N synthetic tasks (or a real tree) through the real roles, and what
each role needs.

Starts a ventilator (`--synthetic N`: tasks that need no files; or a folder
of images, with `--ops grayscale`), a sink and 2 workers by hand on
loopback, as on several hosts, and prints per role its peak RSS (the
kernel's ru_maxrss; for workers the largest) and CPU seconds (for workers
the sum), the time from the ventilator's start to its first task (planning,
before any dispatch), tasks per second (the sink's report: first task to
last result) and whether any message was refused. Every header is decoded
with a 1 MiB limit, so a batch that completes with no message rejected sent
none larger.

    python3 bench/scale.py [N|DIR ...]      # default 1000000

Environment: IMGPIPE (release binary; default target/release/imgpipe),
WORKERS (2).
Build first: cargo build --release.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IMGPIPE = os.environ.get("IMGPIPE", os.path.join(HERE, "..", "target", "release", "imgpipe"))
WORKERS = int(os.environ.get("WORKERS", "2"))


def endpoint(proc):
    """The endpoint a role announces on stdout (`imgpipe-listening EP`)."""
    for line in proc.stdout:
        if line.startswith("imgpipe-listening "):
            return line.split()[1]
    raise RuntimeError("a role exited before announcing its endpoint")


def logged_at(line):
    """The UTC timestamp that starts a log line, as seconds since the epoch."""
    stamp = line.split()[0].rstrip("Z")
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.timezone.utc).timestamp()


def usage(proc):
    """Waits for `proc`; its peak RSS in MB and its CPU seconds."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def one(what, tmp):
    loopback = "tcp://127.0.0.1:*"
    env = dict(os.environ, IMGPIPE_LOG="info")
    inp, out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.mkdir(inp)
    report = os.path.join(tmp, "report.json")
    vent_log = open(os.path.join(tmp, "ventilator.log"), "w+")
    started = time.time()
    job = ["-i", inp, "--synthetic", what] if what.isdigit() else ["-i", what, "--ops", "grayscale"]
    vent = subprocess.Popen([IMGPIPE, "ventilator", *job, "-o", out,
                             "--bind", loopback, "--status-bind", loopback],
                            stdout=subprocess.PIPE, stderr=vent_log, text=True, env=env)
    tasks = endpoint(vent)
    sink = subprocess.Popen([IMGPIPE, "sink", "--ventilator", tasks, "--bind", loopback,
                             "--status-bind", loopback, "--events-bind", loopback,
                             "--progress", "none", "--quiet", "--report", report],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    results = endpoint(sink)
    workers = [subprocess.Popen([IMGPIPE, "worker", "--ventilator", tasks, "--sink", results,
                                 "--threads", "1", "--id", f"w{i}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
               for i in range(WORKERS)]
    roles = {"sink": usage(sink), "ventilator": usage(vent)}
    each = [usage(w) for w in workers]
    roles["worker"] = (max(mb for mb, _ in each), sum(cpu for _, cpu in each))
    vent_log.seek(0)
    planned = next((logged_at(line) for line in vent_log if " images under " in line), None)
    r = json.load(open(report))
    m = r["messages"]
    return {
        "tasks": what if what.isdigit() else f"{r['total']} files",
        "completed": r["succeeded"] == r["total"] and sink.returncode == 0,
        "first task s": None if planned is None else planned - started,
        "tasks/s": r["images_per_s"],
        "refused or rejected messages": m["rejected"] + m["unauthenticated"],
        **{f"{role} peak MB": mb for role, (mb, _) in roles.items()},
        **{f"{role} CPU s": cpu for role, (_, cpu) in roles.items()},
    }


def cell(v):
    if isinstance(v, float):
        return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
    return str(v)


def main():
    if any(a.startswith("-") for a in sys.argv[1:]):
        sys.exit(__doc__)
    rows = []
    for what in sys.argv[1:] or ["1000000"]:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(one(what, tmp))
        print(rows[-1], flush=True)
    keys = list(rows[0])
    print("\n| " + " | ".join(keys) + " |")
    print("|" + "---:|" * len(keys))
    for row in rows:
        cells = [cell(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
