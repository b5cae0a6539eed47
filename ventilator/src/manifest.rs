//! What made each output: the manifest `.imgpipe-manifest` in the output
//! folder, so that `--skip-existing` redoes an output whose input, chain or
//! settings changed instead of trusting modification times.
//!
//! One JSON line per output: its path, a fingerprint of what makes it (the
//! input's size and modification time, its path, the chain, the encoder
//! settings, the output format, the imgpipe version), and the output's
//! modification time *before* the batch that recorded it was dispatched.
//! The ventilator writes the manifest when it plans a batch, so it never
//! needs to know which tasks succeeded: an output counts as made by the
//! recorded batch only if it has changed since (a failed task leaves the
//! old output, or none, behind). No clocks are compared across hosts.
//!
//! A missing or unreadable manifest (outputs of an older imgpipe, a file
//! damaged by hand) means nothing is known to be up to date: every output
//! is redone, never kept on a guess; a damaged line redoes its output only.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// File name of the manifest in the output folder (hidden: no output can
/// take this name).
pub const FILE: &str = ".imgpipe-manifest";
/// First line of a manifest, with its format version.
const HEADER: &str = r#"{"imgpipe_manifest":1}"#;

/// What is recorded of one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Fingerprint of everything that makes the output.
    pub fp: u64,
    /// The output's modification time (ns since the epoch) when the batch
    /// was planned, `None` if it did not exist.
    pub before: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    out: String,
    #[serde(flatten)]
    entry: Entry,
}

/// The manifest: entries by output path (relative, `/`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Entries by output path.
    pub entries: BTreeMap<String, Entry>,
    /// Lines that could not be read (their outputs are redone).
    pub damaged: usize,
    /// False when there was no readable manifest at all.
    pub found: bool,
}

/// A file's size and modification time (ns since the epoch).
#[must_use]
pub fn stamp(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), u64::try_from(mtime.as_nanos()).ok()?))
}

/// Fingerprint of an output: FNV-1a over `parts` (each ended by a 0xff
/// byte so that no two lists give one stream) and the imgpipe version.
#[must_use]
pub fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    for part in parts.iter().chain(&[version]) {
        for b in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

impl Manifest {
    /// Parses a manifest's text; anything but a manifest gives an empty,
    /// not-found one.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Self::default();
        }
        let mut manifest = Self {
            found: true,
            ..Self::default()
        };
        for line in lines.filter(|l| !l.is_empty()) {
            match serde_json::from_str::<Line>(line) {
                Ok(l) => {
                    manifest.entries.insert(l.out, l.entry);
                }
                Err(_) => manifest.damaged += 1,
            }
        }
        manifest
    }

    /// Reads the manifest of `output_root` (empty if there is none).
    #[must_use]
    pub fn load(output_root: &Path) -> Self {
        std::fs::read_to_string(output_root.join(FILE))
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    /// The manifest as text.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = format!("{HEADER}\n");
        for (out, entry) in &self.entries {
            let line = Line {
                out: out.clone(),
                entry: *entry,
            };
            if let Ok(json) = serde_json::to_string(&line) {
                text.push_str(&json);
                text.push('\n');
            }
        }
        text
    }

    /// Writes the manifest into `output_root`, atomically.
    ///
    /// # Errors
    /// With the path named.
    pub fn save(&self, output_root: &Path) -> Result<(), String> {
        shared::pipeline::write_atomically(&output_root.join(FILE), self.render().as_bytes())
    }

    /// True if the output at `out` (modified at `out_mtime`, `None` if
    /// missing) was made from what `fp` fingerprints: the recorded
    /// fingerprint matches and the output changed after it was recorded.
    #[must_use]
    pub fn is_fresh(&self, out: &str, fp: u64, out_mtime: Option<u64>) -> bool {
        match (self.entries.get(out), out_mtime) {
            (Some(entry), Some(mtime)) => entry.fp == fp && entry.before != Some(mtime),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_is_fresh_only_once_rewritten_after_its_record() {
        let mut m = Manifest::default();
        m.entries.insert(
            "a.jpg".into(),
            Entry {
                fp: 7,
                before: Some(100),
            },
        );
        m.entries.insert(
            "new.jpg".into(),
            Entry {
                fp: 8,
                before: None,
            },
        );
        assert!(m.is_fresh("a.jpg", 7, Some(200)), "rewritten by the batch");
        assert!(
            !m.is_fresh("a.jpg", 7, Some(100)),
            "its task failed: old output"
        );
        assert!(!m.is_fresh("a.jpg", 9, Some(200)), "another chain or input");
        assert!(!m.is_fresh("a.jpg", 7, None), "output deleted since");
        assert!(m.is_fresh("new.jpg", 8, Some(1)));
        assert!(!m.is_fresh("other.jpg", 7, Some(200)), "not recorded");
    }

    #[test]
    fn round_trips_and_survives_damage() {
        let mut m = Manifest {
            found: true,
            ..Manifest::default()
        };
        m.entries.insert(
            "d/\"q\"\n.jpg".into(),
            Entry {
                fp: u64::MAX,
                before: Some(5),
            },
        );
        m.entries.insert(
            "b.png".into(),
            Entry {
                fp: 1,
                before: None,
            },
        );
        assert_eq!(Manifest::parse(&m.render()), m);
        let damaged = m.render().replace(r#"{"out":"b.png""#, r#"{"out":#"#);
        let back = Manifest::parse(&damaged);
        assert_eq!((back.entries.len(), back.damaged), (1, 1));
        assert!(!Manifest::parse("garbage").found);
        assert!(Manifest::parse("").entries.is_empty());
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
    }
}
