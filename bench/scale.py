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
WORKERS (2), RESTART_AT (kill a role with SIGKILL once the sink holds
that many results, and start it again on the same endpoint: the row then
says how many results the sink took twice, i.e. were redone instead of
resumed), RESTART_ROLE (ventilator, the default, or sink: the sink then
keeps a journal, and the restarted one replays it).
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


RESTART_AT = int(os.environ.get("RESTART_AT", "0"))
RESTART_ROLE = os.environ.get("RESTART_ROLE", "ventilator")


def endpoints(proc):
    """What a role announces on stdout before its endpoint (`imgpipe-status
    EP`, ...), up to `imgpipe-listening EP`, as {"status": EP, ...}."""
    found = {}
    for line in proc.stdout:
        if line.startswith("imgpipe-") and len(line.split()) == 2:
            name, ep = line.split()
            found[name.removeprefix("imgpipe-")] = ep
            if name == "imgpipe-listening":
                return found
    raise RuntimeError("a role exited before announcing its endpoint")


def endpoint(proc):
    """The endpoint a role announces on stdout (`imgpipe-listening EP`)."""
    return endpoints(proc)["listening"]


def received(status_ep):
    """Results the sink holds, from its status endpoint (0 before a batch)."""
    out = subprocess.run([IMGPIPE, "status", status_ep], capture_output=True, text=True, timeout=30)
    try:
        return json.loads(out.stdout).get("received", 0)
    except json.JSONDecodeError:
        return 0


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

    def ventilator(bind):
        return subprocess.Popen([IMGPIPE, "ventilator", *job, "-o", out,
                                 "--bind", bind, "--status-bind", loopback],
                                stdout=subprocess.PIPE, stderr=vent_log, text=True, env=env)

    vent = ventilator(loopback)
    tasks = endpoint(vent)
    journal = ["--journal", os.path.join(tmp, "journal")] if RESTART_ROLE == "sink" else []

    def start_sink(bind):
        return subprocess.Popen([IMGPIPE, "sink", "--ventilator", tasks, "--bind", bind,
                                 "--status-bind", loopback, "--events-bind", loopback, *journal,
                                 "--progress", "none", "--quiet", "--report", report],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)

    sink = start_sink(loopback)
    sink_eps = endpoints(sink)
    results = sink_eps["listening"]
    workers = [subprocess.Popen([IMGPIPE, "worker", "--ventilator", tasks, "--sink", results,
                                 "--threads", "1", "--id", f"w{i}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
               for i in range(WORKERS)]
    restarted_at = None
    first = None
    if RESTART_AT:
        # Polled, not waited on: this is a benchmark, not a test.
        while (held := received(sink_eps["status"])) < RESTART_AT:
            time.sleep(0.2)
        restarted_at = held
        if RESTART_ROLE == "sink":
            sink.kill()
            first = usage(sink)
            sink = start_sink(results)
            endpoints(sink)
        else:
            vent.kill()
            first = usage(vent)
            vent = ventilator(tasks)
            endpoint(vent)
    roles = {"sink": usage(sink), "ventilator": usage(vent)}
    if first:
        mb, cpu = roles[RESTART_ROLE]
        roles[RESTART_ROLE] = (max(mb, first[0]), cpu + first[1])
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
        **({f"{RESTART_ROLE} restarted at": restarted_at, "results taken twice": m["duplicates"]}
           if RESTART_AT else {}),
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
