//! What memory a process may use for images: its cgroup's limit (a
//! container's `--memory`, a systemd slice), the machine's available
//! memory, and its own address-space limit (`ulimit -v`, `prlimit --as`).
//! The readers are thin; the parsing is pure and tested.

use super::{human, BASELINE};

/// A memory limit and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Bytes available for images.
    pub bytes: u64,
    /// Where it came from, for the log: `cgroup memory.max`, ...
    pub source: String,
}

impl Limit {
    fn new(bytes: u64, source: impl Into<String>) -> Self {
        Self {
            bytes,
            source: source.into(),
        }
    }

    fn min(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if other.bytes < self.bytes => other,
            _ => self,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", human(self.bytes), self.source)
    }
}

/// Address space each thread takes besides its images (its stack, its
/// share of glibc's malloc arenas), fitted to a measured worker: with 2
/// image threads running 24-megapixel images through `blur:3,sharpen:1`,
/// `VmPeak` exceeded `VmHWM` by 219 MiB, 82 MiB of it mapped at start.
const PER_THREAD: u64 = 40 << 20;
/// Threads of a worker besides its image threads that allocate much: the
/// main thread (ZeroMQ's I/O and reaper threads take little).
const OTHER_THREADS: u64 = 1;
/// The smallest budget given: a worker below it still runs small images.
pub const MIN_BUDGET: u64 = 64 << 20;

/// Memory shared by every process of this machine or container: the
/// smaller of what the cgroup still allows and the machine's available
/// memory, less [`BASELINE`]. `None` when neither can be read.
#[must_use]
pub fn shared() -> Option<Limit> {
    let available = read("/proc/meminfo")
        .and_then(|t| mem_available(&t))
        .map(|b| Limit::new(b, "available memory (MemAvailable)"));
    let cgroup = cgroup_headroom();
    let limit = match (available, cgroup) {
        (Some(a), c) => a.min(c),
        (None, c) => c?,
    };
    Some(Limit::new(
        limit.bytes.saturating_sub(BASELINE),
        limit.source,
    ))
}

/// This process's address-space headroom for images with `threads` image
/// threads: its soft `RLIMIT_AS` less what it maps already and what its
/// threads will reserve. `None` without such a limit.
#[must_use]
pub fn address_space(threads: u32) -> Option<Limit> {
    use nix::sys::resource::{getrlimit, Resource};
    let (soft, _hard) = getrlimit(Resource::RLIMIT_AS).ok()?;
    if soft == nix::sys::resource::RLIM_INFINITY {
        return None;
    }
    let mapped = read("/proc/self/status")
        .and_then(|t| status_field(&t, "VmSize:"))
        .unwrap_or(0);
    let reserved = (u64::from(threads) + OTHER_THREADS) * PER_THREAD + BASELINE;
    Some(Limit::new(
        soft.saturating_sub(mapped + reserved),
        format!("address-space limit {}", human(soft)),
    ))
}

/// The budget of a worker with `threads` image threads: `explicit` (the
/// `--memory-budget` flag) or else [`shared`] divided among `sharing`
/// workers, in any case no more than [`address_space`] allows and at least
/// [`MIN_BUDGET`].
#[must_use]
pub fn worker_budget(explicit: Option<u64>, sharing: u32, threads: u32) -> Limit {
    let chosen = match explicit {
        Some(bytes) => Limit::new(bytes, "--memory-budget"),
        None => shared().map_or_else(
            || Limit::new(u64::MAX, "no limit found"),
            |l| {
                let sharing = u64::from(sharing.max(1));
                let source = if sharing > 1 {
                    format!("{}, shared by {sharing} workers", l.source)
                } else {
                    l.source
                };
                Limit::new(l.bytes / sharing, source)
            },
        ),
    };
    let limit = chosen.min(address_space(threads));
    // What the threads' spare buffers may keep is not the tasks' to use;
    // never more than a quarter of the budget (many threads, little memory).
    let spares = (u64::from(threads) * crate::pool::SPARE_MAX_BYTES as u64).min(limit.bytes / 4);
    Limit::new(
        limit.bytes.saturating_sub(spares).max(MIN_BUDGET),
        limit.source,
    )
}

/// How much the cgroup of this process still allows: `memory.max` less
/// `memory.current` (v2), or the v1 limit less its usage.
fn cgroup_headroom() -> Option<Limit> {
    let own = read("/proc/self/cgroup")?;
    if let Some(path) = cgroup_v2_path(&own) {
        let dir = format!("/sys/fs/cgroup{path}");
        let max = read(&format!("{dir}/memory.max")).and_then(|t| limit_value(&t))?;
        let current = read(&format!("{dir}/memory.current"))
            .and_then(|t| limit_value(&t))
            .unwrap_or(0);
        return Some(Limit::new(
            max.saturating_sub(current),
            format!("cgroup memory.max {}", human(max)),
        ));
    }
    let dir = "/sys/fs/cgroup/memory";
    let max = read(&format!("{dir}/memory.limit_in_bytes")).and_then(|t| limit_value(&t))?;
    // v1 reports "no limit" as a huge number.
    if max >= 1 << 60 {
        return None;
    }
    let usage = read(&format!("{dir}/memory.usage_in_bytes"))
        .and_then(|t| limit_value(&t))
        .unwrap_or(0);
    Some(Limit::new(
        max.saturating_sub(usage),
        format!("cgroup memory limit {}", human(max)),
    ))
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `MemAvailable` of `/proc/meminfo`, bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    status_field(meminfo, "MemAvailable:")
}

/// A `Name:   1234 kB` field of `/proc/meminfo` or `/proc/self/status`,
/// bytes.
fn status_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The cgroup v2 path (`0::/path`) of `/proc/self/cgroup`.
fn cgroup_v2_path(text: &str) -> Option<&str> {
    text.lines().find_map(|l| l.strip_prefix("0::"))
}

/// A cgroup limit file's value; `max` (no limit) is `None`.
fn limit_value(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Parses a size as people write it: `900M`, `2G`, `1.5GB`, `512MiB`,
/// `4096` (bytes). Units are powers of 1024.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("`{text}`: a size such as 900M, 2G or 1.5GB")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: a size such as 900M, 2G or 1.5GB"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}`: out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_people_write_them() {
        assert_eq!(parse_size("900M"), Ok(900 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 64 kb "), Ok(64 << 10));
        for bad in ["", "G", "1.2.3M", "5X", "-1G", "0", "1e30T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proc_and_cgroup_files_parse() {
        let meminfo = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(mem_available(meminfo), Some(2048 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        let status = "Name:\tworker\nVmPeak:\t  999 kB\nVmSize:\t  512 kB\n";
        assert_eq!(status_field(status, "VmSize:"), Some(512 * 1024));
        assert_eq!(
            cgroup_v2_path("0::/system.slice/docker-1.scope\n"),
            Some("/system.slice/docker-1.scope")
        );
        assert_eq!(cgroup_v2_path("12:memory:/docker/1\n"), None);
        assert_eq!(limit_value("max\n"), None);
        assert_eq!(limit_value("943718400\n"), Some(943_718_400));
    }

    #[test]
    fn the_address_space_limit_of_this_process_is_read() {
        // Test processes run without one unless the test is run under
        // `prlimit --as`: then the headroom is below the limit.
        use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
        let (soft, _) = getrlimit(Resource::RLIMIT_AS).expect("getrlimit");
        match address_space(2) {
            None => assert_eq!(soft, RLIM_INFINITY),
            Some(limit) => assert!(limit.bytes < soft, "{limit}"),
        }
        let budget = worker_budget(Some(100 << 20), 1, 2);
        assert!(
            budget.bytes <= 100 << 20 && budget.bytes >= MIN_BUDGET,
            "{budget}"
        );
        assert!(worker_budget(None, 4, 1).bytes >= MIN_BUDGET);
    }
}
