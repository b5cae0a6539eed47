//! What `imgpipe bench` writes: the measurements of single runs, the rows
//! that summarise each (dispatch, worker count) configuration, the JSON
//! report (`report.json`) and the per-run CSV (`runs.csv`).

use std::fmt::Write as _;

use serde::Serialize;

use super::stats::{self, median, median_shares, summarize, task_shares};

/// Series name of the single-process baseline (`--in-process`).
pub const IN_PROCESS: &str = "in-process";

/// How wall time is measured, repeated in every output.
pub const WALL_TIME_NOTE: &str =
    "wall time = the run's report wall_s: first task's start to last result; process start-up excluded";

/// One timed run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Series: the dispatch mode, or [`IN_PROCESS`].
    pub series: String,
    /// Worker processes; `None` for the in-process baseline.
    pub workers: Option<usize>,
    /// Threads per worker (total threads for the in-process baseline).
    pub threads: usize,
    /// 1-based index among the timed runs of its configuration.
    pub repeat: usize,
    /// Wall seconds.
    pub wall_s: f64,
    /// Images (or synthetic tasks) per second.
    pub images_per_s: f64,
    /// Max / mean busy time across workers; `None` in process.
    pub load_imbalance: Option<f64>,
    /// CPU time summed over workers / wall time: the cores used.
    pub effective_parallelism: f64,
    /// Tasks each worker returned (workers that returned none are absent).
    pub worker_tasks: Vec<u64>,
    /// False when the run exited non-zero or its report lists failures.
    pub ok: bool,
    /// Share of the machine's CPU capacity (cores × the run's elapsed time,
    /// start-up included) that other processes used during the run: above
    /// a few percent, the timing is disturbed. `None` off Linux.
    pub other_cpu_share: Option<f64>,
}

/// One configuration to summarise, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Series: the dispatch mode, or [`IN_PROCESS`].
    pub series: String,
    /// Worker processes; `None` for the in-process baseline.
    pub workers: Option<usize>,
    /// Threads per worker (total for the in-process baseline).
    pub threads: usize,
    /// Timed runs that ended without a readable report (crashed, timed
    /// out): counted as failed, absent from the statistics.
    pub lost_runs: usize,
}

/// The summary of one configuration's timed runs. Every statistic is over
/// the runs that produced a report, failed ones included (see
/// `failed_runs`); `None` where it is undefined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Dispatch mode, or `in-process`.
    pub dispatch: String,
    /// Worker processes; `null` for the in-process baseline.
    pub workers: Option<usize>,
    /// Threads per worker (total threads for the in-process baseline).
    pub threads: usize,
    /// Timed runs.
    pub runs: usize,
    /// Of those, runs that exited non-zero, reported failed images or
    /// produced no report (these are left out of the statistics).
    pub failed_runs: usize,
    /// Wall seconds of each run, in run order.
    pub wall_s: Vec<f64>,
    /// Median wall seconds.
    pub median_s: Option<f64>,
    /// Mean wall seconds.
    pub mean_s: Option<f64>,
    /// Sample standard deviation of the wall seconds.
    pub stddev_s: Option<f64>,
    /// Fastest run.
    pub min_s: Option<f64>,
    /// Slowest run.
    pub max_s: Option<f64>,
    /// S = T1 / Tp, medians, against the one-worker row of the same
    /// dispatch (the in-process row: against the first dispatch's).
    pub speedup: Option<f64>,
    /// Smallest per-run speedup (T1 median / slowest run).
    pub speedup_min: Option<f64>,
    /// Largest per-run speedup (T1 median / fastest run).
    pub speedup_max: Option<f64>,
    /// E = S / p; `null` in process.
    pub efficiency: Option<f64>,
    /// Karp–Flatt serial fraction (1/S − 1/p) / (1 − 1/p); `null` for p = 1
    /// and in process.
    pub karp_flatt: Option<f64>,
    /// Median images (or tasks) per second.
    pub images_per_s: Option<f64>,
    /// Median effective parallelism (CPU time / wall time: cores used).
    pub effective_parallelism: Option<f64>,
    /// Median load imbalance (max / mean busy time); `null` in process.
    pub load_imbalance: Option<f64>,
    /// Each worker's share of the tasks, largest first: per rank, the median
    /// over runs. Empty in process.
    pub task_shares: Vec<f64>,
    /// Largest share of the CPU that other processes took during a run
    /// (see [`Measurement::other_cpu_share`]).
    pub other_cpu_share_max: Option<f64>,
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// `std::thread::available_parallelism`.
    pub cores: usize,
    /// `model name` from /proc/cpuinfo, when there is one.
    pub cpu_model: Option<String>,
}

/// `DIR/report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The command line, shell-quoted.
    pub command: String,
    /// imgpipe version.
    pub version: String,
    /// Where it ran.
    pub machine: Machine,
    /// Input folder.
    pub input: String,
    /// Images in the input, or synthetic tasks with `--messaging-only`.
    pub items: u64,
    /// `images`, or `tasks` with `--messaging-only`.
    pub unit: String,
    /// True with `--messaging-only` (no image read, filtered or written).
    pub messaging_only: bool,
    /// Filter chain.
    pub ops: String,
    /// Timed runs per configuration.
    pub repeat: usize,
    /// Untimed warm-up runs per configuration.
    pub warmup: usize,
    /// Threads per worker process.
    pub threads_per_worker: usize,
    /// Threads of the in-process baseline, when it ran (threads per worker ×
    /// the largest worker count).
    pub in_process_threads: Option<usize>,
    /// How wall time is measured.
    pub wall_time: String,
    /// One row per configuration.
    pub rows: Vec<Row>,
}

/// Summarises `measurements` into one row per entry of `configs`.
#[must_use]
pub fn rows(configs: &[Config], measurements: &[Measurement]) -> Vec<Row> {
    let of = |c: &Config| -> Vec<&Measurement> {
        measurements
            .iter()
            .filter(|m| m.series == c.series && m.workers == c.workers)
            .collect()
    };
    let walls = |ms: &[&Measurement]| -> Vec<f64> { ms.iter().map(|m| m.wall_s).collect() };
    let baseline = |series: &str| -> Option<f64> {
        let ms: Vec<&Measurement> = measurements
            .iter()
            .filter(|m| m.series == series && m.workers == Some(1))
            .collect();
        median(&walls(&ms))
    };
    let first_series = configs
        .iter()
        .find(|c| c.workers.is_some())
        .map(|c| c.series.clone());
    configs
        .iter()
        .map(|c| {
            let ms = of(c);
            let wall_s = walls(&ms);
            let summary = summarize(&wall_s);
            let (t1, p) = match c.workers {
                Some(p) => (baseline(&c.series), p),
                None => (first_series.as_deref().and_then(baseline), 1),
            };
            let scaling = t1.and_then(|t1| stats::scaling(t1, p, &wall_s));
            let in_process = c.workers.is_none();
            let medians = |f: &dyn Fn(&Measurement) -> Option<f64>| -> Option<f64> {
                median(&ms.iter().filter_map(|m| f(m)).collect::<Vec<_>>())
            };
            let shares: Vec<Vec<f64>> = match c.workers {
                Some(p) => ms.iter().map(|m| task_shares(&m.worker_tasks, p)).collect(),
                None => Vec::new(),
            };
            Row {
                dispatch: c.series.clone(),
                workers: c.workers,
                threads: c.threads,
                runs: ms.len() + c.lost_runs,
                failed_runs: ms.iter().filter(|m| !m.ok).count() + c.lost_runs,
                wall_s,
                median_s: summary.map(|s| s.median),
                mean_s: summary.map(|s| s.mean),
                stddev_s: summary.map(|s| s.stddev),
                min_s: summary.map(|s| s.min),
                max_s: summary.map(|s| s.max),
                speedup: scaling.map(|s| s.speedup),
                speedup_min: scaling.map(|s| s.speedup_min),
                speedup_max: scaling.map(|s| s.speedup_max),
                efficiency: scaling.filter(|_| !in_process).map(|s| s.efficiency),
                karp_flatt: scaling.filter(|_| !in_process).and_then(|s| s.karp_flatt),
                images_per_s: medians(&|m| Some(m.images_per_s)),
                effective_parallelism: medians(&|m| Some(m.effective_parallelism)),
                load_imbalance: medians(&|m| m.load_imbalance),
                task_shares: median_shares(&shares),
                other_cpu_share_max: ms.iter().filter_map(|m| m.other_cpu_share).reduce(f64::max),
            }
        })
        .collect()
}

/// `DIR/runs.csv`: one line per timed run.
#[must_use]
pub fn runs_csv(measurements: &[Measurement]) -> String {
    let mut csv = String::from(
        "dispatch,workers,threads,repeat,wall_s,images_per_s,load_imbalance,effective_parallelism,ok,other_cpu_share\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for m in measurements {
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.6},{:.3},{},{:.4},{},{}",
            m.series,
            opt(m.workers.map(|w| w.to_string())),
            m.threads,
            m.repeat,
            m.wall_s,
            m.images_per_s,
            opt(m.load_imbalance.map(|l| format!("{l:.4}"))),
            m.effective_parallelism,
            m.ok,
            opt(m.other_cpu_share.map(|s| format!("{s:.4}")))
        );
    }
    csv
}

/// Quotes `args` for a POSIX shell, so the recorded command can be pasted.
#[must_use]
pub fn shell_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:,=+@%".contains(c));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(series: &str, workers: Option<usize>, repeat: usize, wall_s: f64) -> Measurement {
        Measurement {
            series: series.into(),
            workers,
            threads: 1,
            repeat,
            wall_s,
            images_per_s: 100.0 / wall_s,
            load_imbalance: workers.map(|_| 1.0 + wall_s / 100.0),
            effective_parallelism: 1.0,
            worker_tasks: match workers {
                Some(1) => vec![100],
                Some(_) => vec![40, 60],
                None => vec![],
            },
            ok: true,
            other_cpu_share: Some(wall_s / 1000.0),
        }
    }

    fn config(series: &str, workers: Option<usize>) -> Config {
        Config {
            series: series.into(),
            workers,
            threads: 1,
            lost_runs: 0,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn rows_compare_each_dispatch_with_its_own_single_worker() {
        let ms = vec![
            run("credit", Some(1), 1, 10.0),
            run("credit", Some(1), 2, 12.0),
            run("credit", Some(1), 3, 11.0),
            run("credit", Some(2), 1, 6.0),
            run("credit", Some(2), 2, 5.5),
            run("credit", Some(2), 3, 5.0),
            run("push", Some(1), 1, 8.0),
            run("push", Some(2), 1, 8.0),
            run(IN_PROCESS, None, 1, 5.5),
        ];
        let configs = [
            config("credit", Some(1)),
            config("credit", Some(2)),
            config("push", Some(1)),
            config("push", Some(2)),
            config(IN_PROCESS, None),
        ];
        let rows = rows(&configs, &ms);
        assert_eq!(rows.len(), 5);

        let c1 = &rows[0];
        assert_eq!(c1.wall_s, [10.0, 12.0, 11.0]);
        assert!(close(c1.median_s, 11.0) && close(c1.mean_s, 11.0));
        assert!(close(c1.stddev_s, 1.0));
        assert!(close(c1.min_s, 10.0) && close(c1.max_s, 12.0));
        assert!(close(c1.other_cpu_share_max, 0.012));
        assert!(close(c1.speedup, 1.0) && close(c1.efficiency, 1.0));
        assert_eq!(c1.karp_flatt, None);
        assert_eq!(c1.task_shares, [1.0]);

        let c2 = &rows[1];
        assert!(close(c2.median_s, 5.5));
        assert!(close(c2.speedup, 2.0));
        assert!(close(c2.speedup_min, 11.0 / 6.0));
        assert!(close(c2.speedup_max, 11.0 / 5.0));
        assert!(close(c2.efficiency, 1.0));
        assert!(close(c2.karp_flatt, 0.0));
        assert_eq!(c2.task_shares, [0.6, 0.4]);
        assert!(close(c2.images_per_s, 100.0 / 5.5));
        assert!(close(c2.load_imbalance, 1.055));

        // push against push's own one-worker time: no speedup, all serial
        let p2 = &rows[3];
        assert!(close(p2.speedup, 1.0));
        assert!(close(p2.efficiency, 0.5));
        assert!(close(p2.karp_flatt, 1.0));

        // in process: against credit's one worker, no p so no E or e
        let ip = &rows[4];
        assert_eq!(ip.workers, None);
        assert!(close(ip.speedup, 2.0));
        assert_eq!(ip.efficiency, None);
        assert_eq!(ip.karp_flatt, None);
        assert_eq!(ip.load_imbalance, None);
        assert!(ip.task_shares.is_empty());
    }

    #[test]
    fn missing_baseline_or_runs_give_nulls_not_nan() {
        let ms = vec![run("credit", Some(2), 1, 4.0)];
        let rows = rows(&[config("credit", Some(2)), config("push", Some(2))], &ms);
        assert!(close(rows[0].median_s, 4.0));
        assert_eq!(rows[0].speedup, None, "no one-worker run to compare with");
        assert_eq!(rows[1].runs, 0);
        assert_eq!(rows[1].median_s, None);
        let json = serde_json::to_string(&rows).expect("serialisable");
        assert!(!json.contains("NaN"));
    }

    #[test]
    fn failed_runs_are_counted() {
        let mut bad = run("credit", Some(1), 2, 10.0);
        bad.ok = false;
        let ms = vec![run("credit", Some(1), 1, 10.0), bad];
        let mut c = config("credit", Some(1));
        c.lost_runs = 1;
        let rows = rows(&[c], &ms);
        assert_eq!((rows[0].runs, rows[0].failed_runs), (3, 2));
        assert_eq!(rows[0].wall_s.len(), 2, "a run without report has no time");
    }

    #[test]
    fn csv_has_one_line_per_run() {
        let ms = vec![
            run("credit", Some(2), 1, 2.0),
            run(IN_PROCESS, None, 1, 1.0),
        ];
        let csv = runs_csv(&ms);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "dispatch,workers,threads,repeat,wall_s,images_per_s,load_imbalance,effective_parallelism,ok,other_cpu_share"
        );
        assert_eq!(
            lines[1],
            "credit,2,1,1,2.000000,50.000,1.0200,1.0000,true,0.0020"
        );
        assert_eq!(
            lines[2],
            "in-process,,1,1,1.000000,100.000,,1.0000,true,0.0010"
        );
    }

    #[test]
    fn shell_line_quotes_only_what_needs_it() {
        assert_eq!(
            shell_line(&["imgpipe", "bench", "--ops", "resize:800,blur:1.5"]),
            "imgpipe bench --ops resize:800,blur:1.5"
        );
        assert_eq!(shell_line(&["a b", "it's", ""]), r"'a b' 'it'\''s' ''");
    }
}
