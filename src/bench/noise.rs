//! How much CPU other processes used while a run was measured: the
//! machine's busy time (/proc/stat) minus this process's own and its
//! reaped children's (/proc/self/stat), so a run disturbed by unrelated
//! work can be told from a slow one. Linux only; `None` elsewhere.

/// Clock ticks per second of /proc/stat and /proc/self/stat (`USER_HZ`,
/// 100 on every Linux architecture that matters here).
const TICKS_PER_S: f64 = 100.0;

/// CPU counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    /// Ticks every core spent running anything (user, nice, system, irq,
    /// softirq), summed over cores.
    busy: u64,
    /// Ticks this process and its waited-for descendants ran.
    own: u64,
}

/// Busy ticks of the aggregate `cpu` line of /proc/stat: user + nice +
/// system + irq + softirq (idle, iowait and steal are not work done here;
/// guest time is already inside user).
#[must_use]
pub fn parse_busy(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?)
}

/// utime + stime + cutime + cstime of /proc/self/stat (fields 14 to 17,
/// counted after the parenthesised command name, which may hold spaces).
#[must_use]
pub fn parse_own(self_stat: &str) -> Option<u64> {
    let rest = &self_stat[self_stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): utime is field 14.
    let f: Vec<&str> = rest.split_whitespace().collect();
    (11..15)
        .map(|i| f.get(i)?.parse::<u64>().ok())
        .sum::<Option<u64>>()
}

/// Reads the counters now.
#[must_use]
pub fn sample() -> Option<CpuSample> {
    Some(CpuSample {
        busy: parse_busy(&std::fs::read_to_string("/proc/stat").ok()?)?,
        own: parse_own(&std::fs::read_to_string("/proc/self/stat").ok()?)?,
    })
}

/// CPU seconds that processes other than this one and its children used
/// between `before` and `after` (children count once they are waited for).
#[must_use]
pub fn other_cpu_s(before: CpuSample, after: CpuSample) -> f64 {
    let busy = after.busy.saturating_sub(before.busy);
    let own = after.own.saturating_sub(before.own);
    busy.saturating_sub(own) as f64 / TICKS_PER_S
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_user_nice_system_irq_softirq() {
        let stat = "cpu  100 2 30 5000 60 4 5 70 0 0\ncpu0 50 1 15 2500 30 2 2 35 0 0\n";
        assert_eq!(parse_busy(stat), Some(100 + 2 + 30 + 4 + 5));
        assert_eq!(parse_busy("intr 1 2 3\n"), None);
    }

    #[test]
    fn own_time_survives_spaces_in_the_command_name() {
        let stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194304 102 0 0 0 7 3 11 13 20 0 1 0 668225";
        assert_eq!(parse_own(stat), Some(7 + 3 + 11 + 13));
        assert_eq!(parse_own("42 (x) S 1"), None);
    }

    #[test]
    fn other_cpu_is_busy_minus_own() {
        let before = CpuSample {
            busy: 1000,
            own: 10,
        };
        let after = CpuSample {
            busy: 1450,
            own: 410,
        };
        assert!((other_cpu_s(before, after) - 0.5).abs() < 1e-9);
        // own time counted late (a child reaped afterwards) never goes negative
        let after = CpuSample {
            busy: 1100,
            own: 510,
        };
        assert_eq!(other_cpu_s(before, after), 0.0);
        assert!(sample().is_some(), "this test runs on Linux");
    }
}
