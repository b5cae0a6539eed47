//! The arithmetic of `imgpipe bench`, as pure functions on timings so it can
//! be checked on made-up numbers: summary statistics of repeated runs,
//! speedup, efficiency, the Karp–Flatt serial fraction and per-worker task
//! shares.

/// Summary statistics of one configuration's repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator, as hyperfine);
    /// 0 for a single value.
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Median of `values` (mean of the two middle ones for an even count);
/// `None` when empty.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Median, mean, sample standard deviation, min and max of `values`;
/// `None` when empty.
#[must_use]
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let median = median(values)?;
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let stddev = if n > 1 {
        let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (squares / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Summary {
        n,
        median,
        mean,
        stddev,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Speedup S = T1 / Tp; `None` unless both times are positive.
#[must_use]
pub fn speedup(t1: f64, tp: f64) -> Option<f64> {
    (t1 > 0.0 && tp > 0.0).then(|| t1 / tp)
}

/// Efficiency E = S / p.
#[must_use]
pub fn efficiency(speedup: f64, p: usize) -> f64 {
    speedup / p.max(1) as f64
}

/// Karp–Flatt experimentally determined serial fraction
/// e = (1/S − 1/p) / (1 − 1/p). Undefined (`None`) for p = 1 and for a
/// speedup that is not positive.
#[must_use]
pub fn karp_flatt(speedup: f64, p: usize) -> Option<f64> {
    if p < 2 || speedup <= 0.0 || !speedup.is_finite() {
        return None;
    }
    let p = p as f64;
    Some((1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p))
}

/// How a configuration scales against the one-worker baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// T1 median / Tp median.
    pub speedup: f64,
    /// Smallest per-run speedup, T1 median / slowest Tp run.
    pub speedup_min: f64,
    /// Largest per-run speedup, T1 median / fastest Tp run.
    pub speedup_max: f64,
    /// Speedup / p.
    pub efficiency: f64,
    /// Karp–Flatt serial fraction; `None` for p = 1.
    pub karp_flatt: Option<f64>,
}

/// Scaling of the runs `tp` (wall seconds) of `p` workers against the
/// one-worker median `t1_median`. `None` when a time is missing or not
/// positive.
#[must_use]
pub fn scaling(t1_median: f64, p: usize, tp: &[f64]) -> Option<Scaling> {
    let s = summarize(tp)?;
    let speedup = speedup(t1_median, s.median)?;
    Some(Scaling {
        speedup,
        speedup_min: self::speedup(t1_median, s.max)?,
        speedup_max: self::speedup(t1_median, s.min)?,
        efficiency: efficiency(speedup, p),
        karp_flatt: karp_flatt(speedup, p),
    })
}

/// Each worker's share of one run's tasks (`tasks[i]` / sum), padded with
/// zeros to `p` workers (one that never reached the ventilator before the
/// batch ended is absent from the report) and sorted largest first. All zeros when no task was counted.
#[must_use]
pub fn task_shares(tasks: &[u64], p: usize) -> Vec<f64> {
    let total: u64 = tasks.iter().sum();
    let mut shares: Vec<f64> = tasks
        .iter()
        .map(|&t| {
            if total > 0 {
                t as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect();
    if shares.len() < p {
        shares.resize(p, 0.0);
    }
    shares.sort_by(|a, b| b.total_cmp(a));
    shares
}

/// Median over runs of each rank's share: element `i` is the median of the
/// `i`-th largest share of every run (missing ranks count as 0).
#[must_use]
pub fn median_shares(runs: &[Vec<f64>]) -> Vec<f64> {
    let ranks = runs.iter().map(Vec::len).max().unwrap_or(0);
    (0..ranks)
        .filter_map(|i| {
            let at: Vec<f64> = runs
                .iter()
                .map(|r| r.get(i).copied().unwrap_or(0.0))
                .collect();
            median(&at)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = summarize(&[4.0, 2.0, 9.0]).expect("three values");
        assert_eq!(s.n, 3);
        assert!(close(s.median, 4.0));
        assert!(close(s.mean, 5.0));
        // deviations -1, -3, 4: squares 26, / (3 - 1) = 13
        assert!(close(s.stddev, 13f64.sqrt()));
        assert!(close(s.min, 2.0));
        assert!(close(s.max, 9.0));

        let s = summarize(&[1.0, 4.0, 2.0, 3.0]).expect("four values");
        assert!(close(s.median, 2.5));
        assert!(close(s.mean, 2.5));
        // squares 2.25 + 0.25 + 0.25 + 2.25 = 5, / 3
        assert!(close(s.stddev, (5.0f64 / 3.0).sqrt()));
    }

    #[test]
    fn one_value_has_no_spread_and_none_has_no_summary() {
        let s = summarize(&[7.5]).expect("one value");
        assert!(close(s.median, 7.5) && close(s.stddev, 0.0));
        assert!(close(s.min, 7.5) && close(s.max, 7.5));
        assert_eq!(summarize(&[]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn speedup_efficiency_and_karp_flatt() {
        // T1 = 10 s, T4 = 4 s: S = 2.5, E = 0.625,
        // e = (1/2.5 - 1/4) / (1 - 1/4) = 0.15 / 0.75 = 0.2
        let s = speedup(10.0, 4.0).expect("positive times");
        assert!(close(s, 2.5));
        assert!(close(efficiency(s, 4), 0.625));
        assert!(close(karp_flatt(s, 4).expect("p > 1"), 0.2));
        // perfect scaling: serial fraction 0
        assert!(close(karp_flatt(2.0, 2).expect("p > 1"), 0.0));
        // no speedup at all on 2 workers: everything serial
        assert!(close(karp_flatt(1.0, 2).expect("p > 1"), 1.0));
        assert_eq!(karp_flatt(1.0, 1), None, "undefined for one worker");
        assert_eq!(karp_flatt(0.0, 2), None);
        assert_eq!(speedup(10.0, 0.0), None);
        assert_eq!(speedup(0.0, 1.0), None);
    }

    #[test]
    fn scaling_error_bars_come_from_per_run_speedups() {
        let sc = scaling(12.0, 2, &[6.0, 8.0, 5.0]).expect("runs");
        assert!(close(sc.speedup, 2.0)); // 12 / median 6
        assert!(close(sc.speedup_min, 1.5)); // 12 / slowest 8
        assert!(close(sc.speedup_max, 2.4)); // 12 / fastest 5
        assert!(close(sc.efficiency, 1.0));
        assert!(close(sc.karp_flatt.expect("p = 2"), 0.0));
        let one = scaling(12.0, 1, &[12.0]).expect("baseline");
        assert!(close(one.speedup, 1.0) && one.karp_flatt.is_none());
        assert_eq!(scaling(12.0, 2, &[]), None);
    }

    #[test]
    fn shares_are_padded_sorted_and_sum_to_one() {
        let s = task_shares(&[50, 150], 2);
        assert!(close(s[0], 0.75) && close(s[1], 0.25));
        // a starved worker does not appear in the report: it counts as 0
        let s = task_shares(&[200], 2);
        assert_eq!(s.len(), 2);
        assert!(close(s[0], 1.0) && close(s[1], 0.0));
        assert!(task_shares(&[], 3).iter().all(|&x| x == 0.0));
        assert_eq!(task_shares(&[], 3).len(), 3);
    }

    #[test]
    fn median_shares_take_each_rank_separately() {
        let runs = vec![
            vec![0.6, 0.4],
            vec![0.5, 0.5],
            vec![1.0], // short run: the missing rank counts as 0
        ];
        let m = median_shares(&runs);
        assert_eq!(m.len(), 2);
        assert!(close(m[0], 0.6));
        assert!(close(m[1], 0.4));
        assert!(median_shares(&[]).is_empty());
    }
}
