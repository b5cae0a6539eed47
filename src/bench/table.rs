//! The table `imgpipe bench` prints on stdout (in the spirit of hyperfine's):
//! one line per configuration with median ± σ, range, throughput, speedup,
//! efficiency, Karp–Flatt serial fraction and task shares.

use std::fmt::Write as _;

use super::report::{BenchReport, Row, WALL_TIME_NOTE};
use super::DISTURBED;

/// Shown where a value is undefined.
const NONE: &str = "—";

/// A duration in seconds, in milliseconds below one second.
fn time(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// `median ± σ`, both in the median's unit.
fn median_pm(median: f64, stddev: f64) -> String {
    if median < 1.0 {
        format!("{:.1} ms ± {:.1} ms", median * 1e3, stddev * 1e3)
    } else {
        format!("{median:.3} s ± {stddev:.3} s")
    }
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| NONE.to_string(), |v| format!("{v:.decimals$}"))
}

fn shares(row: &Row) -> String {
    if row.task_shares.is_empty() {
        return NONE.to_string();
    }
    row.task_shares
        .iter()
        .map(|s| format!("{:.0}%", s * 100.0))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn cells(row: &Row) -> Vec<String> {
    let wall = match (row.median_s, row.stddev_s) {
        (Some(m), Some(s)) => median_pm(m, s),
        _ => NONE.to_string(),
    };
    let range = match (row.min_s, row.max_s) {
        (Some(lo), Some(hi)) => format!("{} … {}", time(lo), time(hi)),
        _ => NONE.to_string(),
    };
    vec![
        row.dispatch.clone(),
        row.workers
            .map_or_else(|| NONE.to_string(), |w| w.to_string()),
        row.threads.to_string(),
        wall,
        range,
        num(row.images_per_s, 1),
        num(row.speedup, 2),
        num(row.efficiency, 2),
        num(row.karp_flatt, 3),
        shares(row),
        row.other_cpu_share_max
            .map_or_else(|| NONE.to_string(), |s| format!("{:.0}%", s * 100.0)),
        if row.failed_runs > 0 {
            format!("{} of {}", row.failed_runs, row.runs)
        } else {
            String::new()
        },
    ]
}

/// Lays out `rows` under `headers`, columns padded to their widest cell;
/// `right[i]` right-aligns column `i`.
fn layout(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .chain(std::iter::once(headers[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                s.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "{}", line(&header));
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out
}

/// The whole stdout output: a heading naming the batch and the machine,
/// then the table.
#[must_use]
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    let what = if report.messaging_only {
        format!("{} synthetic tasks (messaging only)", report.items)
    } else {
        format!(
            "{} images, ops {}",
            report.items,
            if report.ops.is_empty() {
                "(none)"
            } else {
                &report.ops
            }
        )
    };
    let _ = writeln!(
        out,
        "imgpipe bench: {what}; {} timed run{} after {} warm-up{} per row",
        report.repeat,
        if report.repeat == 1 { "" } else { "s" },
        report.warmup,
        if report.warmup == 1 { "" } else { "s" },
    );
    let _ = writeln!(
        out,
        "machine: {} cores, {}",
        report.machine.cores,
        report
            .machine
            .cpu_model
            .as_deref()
            .unwrap_or("CPU model unknown")
    );
    let _ = writeln!(out, "{WALL_TIME_NOTE}");
    if let Some(t) = report.in_process_threads {
        let _ = writeln!(
            out,
            "in-process: one process, rayon over all {}, {t} threads (threads per worker × largest worker count); speedup against the first dispatch's 1 worker",
            report.unit
        );
    }
    out.push('\n');
    let rate = format!("{}/s", report.unit);
    let headers = [
        "dispatch",
        "workers",
        "threads",
        "wall (median ± σ)",
        "min … max",
        &rate,
        "speedup",
        "efficiency",
        "Karp–Flatt",
        "task shares",
        "others' CPU",
        "failed runs",
    ];
    let right = [
        false, true, true, true, true, true, true, true, true, false, true, false,
    ];
    // The last two columns only when they have something to say.
    let disturbed = report
        .rows
        .iter()
        .any(|r| r.other_cpu_share_max.is_some_and(|s| s > DISTURBED));
    let failed = report.rows.iter().any(|r| r.failed_runs > 0);
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| (i != 10 || disturbed) && (i != 11 || failed))
        .collect();
    let pick = |cells: &[String]| -> Vec<String> {
        keep.iter().filter_map(|&i| cells.get(i).cloned()).collect()
    };
    let rows: Vec<Vec<String>> = report.rows.iter().map(|r| pick(&cells(r))).collect();
    let headers: Vec<&str> = keep.iter().map(|&i| headers[i]).collect();
    let right: Vec<bool> = keep.iter().map(|&i| right[i]).collect();
    out.push_str(&layout(&headers, &right, &rows));
    if disturbed {
        let _ = writeln!(
            out,
            "others' CPU: the largest share of the CPU other processes took during one run of the row; above {:.0}% the timing is disturbed",
            DISTURBED * 100.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::Machine;

    fn row(dispatch: &str, workers: Option<usize>, median: f64) -> Row {
        Row {
            dispatch: dispatch.into(),
            workers,
            threads: 1,
            runs: 3,
            failed_runs: 0,
            wall_s: vec![median; 3],
            median_s: Some(median),
            mean_s: Some(median),
            stddev_s: Some(0.0421),
            min_s: Some(median - 0.1),
            max_s: Some(median + 0.1),
            speedup: Some(10.0 / median),
            speedup_min: None,
            speedup_max: None,
            efficiency: workers.map(|w| 10.0 / median / w as f64),
            karp_flatt: None,
            images_per_s: Some(200.0 / median),
            effective_parallelism: Some(1.0),
            load_imbalance: Some(1.0),
            task_shares: match workers {
                Some(2) => vec![0.52, 0.48],
                _ => vec![1.0],
            },
            other_cpu_share_max: Some(0.01),
        }
    }

    fn report(rows: Vec<Row>) -> BenchReport {
        BenchReport {
            command: "imgpipe bench".into(),
            version: "0".into(),
            machine: Machine {
                cores: 2,
                cpu_model: Some("Test CPU".into()),
            },
            input: "in".into(),
            items: 200,
            unit: "images".into(),
            messaging_only: false,
            ops: "grayscale".into(),
            repeat: 3,
            warmup: 1,
            threads_per_worker: 1,
            in_process_threads: None,
            wall_time: WALL_TIME_NOTE.into(),
            rows,
        }
    }

    #[test]
    fn table_aligns_columns_and_marks_undefined_values() {
        let text = render(&report(vec![
            row("credit", Some(1), 10.0),
            row("credit", Some(2), 5.0),
        ]));
        assert!(text.contains("200 images, ops grayscale; 3 timed runs after 1 warm-up"));
        assert!(text.contains("2 cores, Test CPU"));
        let lines: Vec<&str> = text.lines().skip_while(|l| !l.is_empty()).skip(1).collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("dispatch  workers"));
        assert!(lines[1].contains("10.000 s ± 0.042 s"));
        assert!(lines[1].contains("9.900 s … 10.100 s"));
        assert!(lines[2].contains("52% / 48%"), "{text}");
        assert!(
            lines[1].contains('—'),
            "Karp–Flatt is undefined for one worker"
        );
        // right-aligned numbers end in the same column
        let end = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(end(lines[1], "20.0"), end(lines[2], "40.0"));
        assert!(!text.contains("failed runs"));
    }

    #[test]
    fn short_runs_are_shown_in_milliseconds_and_failures_are_counted() {
        let mut r = row("push", Some(1), 0.25);
        r.failed_runs = 1;
        r.other_cpu_share_max = Some(0.2);
        let text = render(&report(vec![r]));
        assert!(text.contains("250.0 ms ± 42.1 ms"), "{text}");
        assert!(text.contains("failed runs"));
        assert!(text.contains("1 of 3"));
        assert!(text.contains("others' CPU"));
        assert!(text.contains("20%"));
    }
}
