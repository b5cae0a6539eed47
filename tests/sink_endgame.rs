//! The sink's endgame on real processes (issue 17): a sink restarted after
//! the last result must finish the batch from its journal by itself, and a
//! sink stopped before it learned any batch must not replace the real
//! report with "0 of 0 images".

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::protocol::{BatchStart, Outcome, TaskResult, Transport};

const LIMIT: Duration = Duration::from_secs(60);

/// A ventilator endpoint nobody listens on (the ventilator is gone).
fn no_ventilator() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    format!("tcp://127.0.0.1:{port}")
}

fn sink(ventilator: &str, report: &Path, journal: Option<&Path>) -> Proc {
    let mut cmd = imgpipe();
    cmd.args(["sink", "--bind", "tcp://127.0.0.1:*"])
        .args(["--status-bind", "tcp://127.0.0.1:*"])
        .args(["--events-bind", "tcp://127.0.0.1:*"])
        .args(["--ventilator", ventilator, "--progress", "none"])
        .arg("--report")
        .arg(report)
        .stdout(Stdio::piped());
    if let Some(journal) = journal {
        cmd.arg("--journal").arg(journal);
    }
    Proc::spawn("sink", &mut cmd)
}

/// Regression (issue 17): a sink restarted after the last output waited
/// for ever for a ventilator that had already finished.
#[test]
fn a_sink_whose_journal_holds_every_result_finishes_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (journal_path, report_path) = (dir.path().join("sink.journal"), dir.path().join("r.json"));
    let total = 5;
    let start = BatchStart {
        batch: 42,
        total,
        unprocessed: Vec::new(),
        unprocessed_total: 0,
        skipped: 0,
        ops: "resize:64".into(),
        input_root: dir.path().join("in").to_string_lossy().into_owned(),
        output_root: dir.path().join("out").to_string_lossy().into_owned(),
        transport: Transport::Path,
        synthetic: false,
    };
    // What the sink killed after its last result left behind.
    let (mut journal, _) = sink::journal::Journal::open(&journal_path).expect("journal");
    journal
        .start(&start, SystemTime::now() - Duration::from_secs(10))
        .expect("header");
    for task_id in 0..total {
        journal
            .append(&TaskResult {
                ticket: None,
                batch: 42,
                task_id,
                rel_path: format!("{task_id}.jpg"),
                worker: "w1".into(),
                outcome: Outcome::Written {
                    input_size: (100, 100),
                    output_size: (64, 64),
                    output_bytes: 1000,
                    output_path: "o.png".into(),
                },
                busy_us: 100_000,
                worker_slots: 1,
                warnings: Vec::new(),
                timings: Default::default(),
            })
            .expect("result");
    }
    drop(journal);

    let mut restarted = sink(&no_ventilator(), &report_path, Some(&journal_path));
    restarted.endpoint();
    assert_eq!(
        restarted.wait(LIMIT).code(),
        Some(0),
        "finished alone, all written"
    );
    let report = report(&report_path);
    assert_eq!(report["succeeded"], total, "{report:#}");
    assert_eq!(report["total"], total, "{report:#}");
    assert_eq!(report["ops"], "resize:64");
    assert!(!journal_path.exists(), "journal removed: the batch is over");
}

/// Regression (issue 17): a sink that knew no batch, stopped with SIGTERM,
/// overwrote the real report with "0 of 0 images".
#[test]
fn a_stopped_sink_never_replaces_the_report_with_an_emptier_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    let images = photo_folder(&input, 1);
    let report_path = dir.path().join("report.json");
    let (status, _, err) = run(
        imgpipe()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .args(["--ops", "resize:32", "--progress", "none", "--report"])
            .arg(&report_path),
        LIMIT,
    );
    assert_eq!(status.code(), Some(0), "{err}");
    let real = std::fs::read(&report_path).expect("the real report");
    assert_eq!(report(&report_path)["succeeded"], images.len());

    // Restarted after the end: no journal, no ventilator, then stopped.
    let mut late = sink(&no_ventilator(), &report_path, None);
    late.endpoint();
    kill(Pid::from_raw(late.pid()), Signal::SIGTERM).expect("signal");
    assert_eq!(late.wait(LIMIT).code(), Some(130), "interrupted");
    assert_eq!(
        std::fs::read(&report_path).expect("report"),
        real,
        "the real report is kept"
    );
}
