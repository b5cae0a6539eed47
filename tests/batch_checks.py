"""Checks shared by the container tests (tests/compose/run.sh,
tests/swarm/run.sh): one batch's outputs, its JSON report and the sink's
summary, each printed as an "ok"/"FAIL" line and counted.

    sys.path.insert(0, TESTS_DIR); from batch_checks import Checks
"""
import json
import os


class Checks:
    """Counts passed and failed checks and prints one line per check."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, text, detail=""):
        if ok:
            self.passed += 1
            print(f"    ok    {text}")
        else:
            self.failed += 1
            print(f"    FAIL  {text}" + (f": {detail}" if detail else ""))
        return ok

    def outputs(self, in_dir, out_dir, photos):
        """One complete JPEG in out_dir for each of the `photos` inputs."""
        inputs = sorted(os.path.relpath(os.path.join(d, f), in_dir)
                        for d, _, files in os.walk(in_dir) for f in files)
        bad = []
        for rel in inputs:
            try:
                with open(os.path.join(out_dir, rel), "rb") as fh:
                    data = fh.read()
            except OSError as e:
                bad.append(f"{rel}: {e.strerror}")
                continue
            if len(data) < 1000 or data[:3] != b"\xff\xd8\xff" or data[-2:] != b"\xff\xd9":
                bad.append(f"{rel}: not a complete JPEG ({len(data)} bytes)")
        self.check(len(inputs) == photos and not bad,
                   f"{len(inputs)} outputs exist, non-empty, JPEG SOI/EOI markers", "; ".join(bad[:5]))

    def report(self, path, photos, workers):
        """The sink's JSON report: every photo written, `workers` workers
        that each had tasks. Returns the report, or None."""
        try:
            with open(path) as fh:
                report = json.load(fh)
        except (OSError, ValueError) as e:
            self.check(False, "JSON report written by the sink", str(e))
            return None
        self.check(report["total"] == photos and report["succeeded"] == photos and not report["failed"],
                   f"report: total == succeeded == {photos}, no failure",
                   f"total {report['total']}, succeeded {report['succeeded']}, failed {len(report['failed'])}")
        loads = {w["id"]: w["tasks"] for w in report["workers"]}
        self.check(len(loads) == workers and all(t > 0 for t in loads.values())
                   and sum(loads.values()) == photos,
                   f"report: {workers} workers, each with tasks > 0", str(loads))
        return report

    def sink_summary(self, sink_lines, photos):
        """The sink's closing summary is among its log lines; prints it."""
        self.check(any(l.startswith(f"imgpipe: {photos} of {photos} images written, 0 failed")
                       for l in sink_lines),
                   "sink printed the summary")
        print()
        print("    sink's summary:")
        start = next((i for i, l in enumerate(sink_lines) if l.startswith("imgpipe: ")), len(sink_lines))
        for l in sink_lines[start:]:
            print(f"      {l}")

    def save(self, path):
        """Writes "passed failed" for the calling shell script."""
        with open(path, "w") as fh:
            fh.write(f"{self.passed} {self.failed}\n")
