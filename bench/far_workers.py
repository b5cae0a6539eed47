#!/usr/bin/env python3
"""Workers far from the ventilator and the sink: throughput against the
round trip, at default settings.

Starts the roles by hand (ventilator and sink on loopback, 2 workers x 1
thread) and puts a proxy between the workers and both bound sockets that
holds every byte for half the round trip in each direction (TCP on
loopback, order kept, bandwidth not limited). Round trips are interleaved
within each round, so machine noise hits all alike; prints the median
images/s of each (the sink's report: from the first task to the last
result) and its share of the no-delay median.

    python3 bench/far_workers.py IN_DIR [RTT_MS ...]   # default 0 50 100

Environment: OPS (resize:800,grayscale,blur:1.5), RUNS (3), IMGPIPE (release
binary; default target/release/imgpipe), ALSO ("label=path ..."; more
binaries timed in the same rounds, e.g. a build of an older commit),
RUN_LIMIT (600: seconds one run may take), VERBOSE=1 (workers' logs on
stderr).
Build first: cargo build --release.
"""

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
IMGPIPE = os.environ.get("IMGPIPE", os.path.join(HERE, "..", "target", "release", "imgpipe"))
OPS = os.environ.get("OPS", "resize:800,grayscale,blur:1.5")
RUNS = int(os.environ.get("RUNS", "3"))


class DelayProxy:
    """TCP proxies on loopback that delay each direction by `one_way` s."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def forward(self, upstream, one_way):
        """Listens on a free loopback port; returns its tcp:// endpoint."""
        up_host, up_port = upstream.removeprefix("tcp://").rsplit(":", 1)

        async def pump(reader, writer):
            queue = asyncio.Queue()

            async def deliver():
                while True:
                    at, data = await queue.get()
                    if data is None:
                        break
                    await asyncio.sleep(max(0.0, at - self.loop.time()))
                    writer.write(data)
                    await writer.drain()
                writer.close()

            task = asyncio.ensure_future(deliver())
            try:
                while data := await reader.read(65536):
                    queue.put_nowait((self.loop.time() + one_way, data))
            except ConnectionError:
                pass
            queue.put_nowait((0, None))
            await task

        async def accept(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(up_host, int(up_port))
            except OSError:
                writer.close()
                return
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer),
                                 return_exceptions=True)

        async def start():
            server = await asyncio.start_server(accept, "127.0.0.1", 0)
            return server, server.sockets[0].getsockname()[1]

        server, listen_port = asyncio.run_coroutine_threadsafe(start(), self.loop).result()
        return server, f"tcp://127.0.0.1:{listen_port}"

    def close(self, server):
        self.loop.call_soon_threadsafe(server.close)


def endpoint(proc):
    """Reads the role's stdout up to the endpoint it listens on."""
    for line in proc.stdout:
        if line.startswith("imgpipe-listening "):
            return line.split()[1]
    raise RuntimeError("a role exited before announcing its endpoint")


def one_run(binary, photos, rtt_ms, proxy, tmp):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    report = os.path.join(tmp, "report.json")
    env = dict(os.environ)
    env.setdefault("IMGPIPE_LOG", "warn")  # e.g. worker=debug with VERBOSE=1
    loopback = "tcp://127.0.0.1:*"
    common = dict(stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    vent = subprocess.Popen([binary, "ventilator", "-i", photos, "-o", out, "--ops", OPS,
                             "--bind", loopback, "--status-bind", loopback], **common)
    tasks = endpoint(vent)
    sink = subprocess.Popen([binary, "sink", "--ventilator", tasks, "--bind", loopback,
                             "--status-bind", loopback, "--events-bind", loopback,
                             "--progress", "none", "--quiet", "--report", report], **common)
    results = endpoint(sink)
    servers = []
    if rtt_ms > 0:
        for upstream in (tasks, results):
            server, ep = proxy.forward(upstream, rtt_ms / 2000.0)
            servers.append((server, ep))
        tasks, results = servers[0][1], servers[1][1]
    workers = [subprocess.Popen([binary, "worker", "--ventilator", tasks, "--sink", results,
                                 "--threads", "1", "--id", f"w{i}"],
                                stdout=subprocess.DEVNULL, stderr=None if os.environ.get("VERBOSE") else subprocess.DEVNULL, env=env)
               for i in range(2)]
    code = sink.wait(timeout=float(os.environ.get("RUN_LIMIT", "600")))
    vent.wait(timeout=60)
    for w in workers:
        w.wait(timeout=60)
    for server, _ in servers:
        proxy.close(server)
    r = json.load(open(report))
    assert code == 0 and r["succeeded"] == r["total"], (code, r["succeeded"], r["total"])
    return r["images_per_s"]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    photos = sys.argv[1]
    rtts = [int(a) for a in sys.argv[2:]] or [0, 50, 100]
    binaries = [("imgpipe", IMGPIPE)] + [tuple(b.split("=", 1))
                                         for b in os.environ.get("ALSO", "").split()]
    proxy = DelayProxy()
    tmp = tempfile.mkdtemp()
    rates = {}
    for rnd in range(RUNS):
        for label, binary in binaries:
            for rtt in rtts:
                rate = one_run(binary, photos, rtt, proxy, tmp)
                rates.setdefault((label, rtt), []).append(rate)
                print(f"round {rnd + 1} {label:>12} rtt {rtt:4} ms: {rate:7.1f} images/s", flush=True)
    shutil.rmtree(tmp)
    print(f"\n{OPS} on {photos}; 2 workers x 1 thread, default settings; "
          f"median of {RUNS} interleaved rounds\n")
    print("| binary | round trip | images/s | of no delay |")
    print("|---|---:|---:|---:|")
    for label, _ in binaries:
        base = statistics.median(rates[(label, rtts[0])])
        for rtt in rtts:
            med = statistics.median(rates[(label, rtt)])
            print(f"| {label} | {rtt} ms | {med:.1f} | {100 * med / base:.0f}% |")


if __name__ == "__main__":
    main()
