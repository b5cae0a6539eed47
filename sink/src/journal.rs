//! The sink's append-only journal: every accepted result is appended, so a
//! sink killed mid-batch and restarted with the same `--journal` picks up
//! where it was (results already acknowledged are not sent again by anyone).
//!
//! Format: records of `u32 little-endian length | bytes`. The first record
//! is the header (batch id and batch start in Unix milliseconds, both u64
//! LE); each later record is a message encoded with `shared::protocol`: the
//! batch's description (`BatchStart`, so a sink whose journal holds every
//! result can finish the batch without the ventilator), then one `Result`
//! per accepted result. A torn last record (a crash mid-write) is ignored.
//! Writes are not fsynced: the journal survives a killed process, not a
//! power cut. A journal is read one record at a time
//! ([`Journal::next_result`]), so its size costs no memory.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shared::protocol::{self, BatchStart, Message, Packet, TaskResult};

/// What a previous run of the sink left.
#[derive(Debug, Clone)]
pub struct Restored {
    /// Batch it was collecting.
    pub batch: u64,
    /// When that batch started.
    pub started: SystemTime,
    /// The batch's description, if the journal kept it.
    pub start: Option<BatchStart>,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// What the previous run left, while it is being read.
    left: Option<BufReader<File>>,
    /// Bytes of whole records read from what the previous run left: a
    /// torn record after them is cut off before appending, or it would
    /// swallow what follows.
    whole: u64,
}

/// The next whole record; `None` at the end or at a torn record.
fn read_record(from: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0; 4];
    match from.read_exact(&mut len) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let len = u64::from(u32::from_le_bytes(len));
    // Read through `take`, not into a buffer of `len`: a torn length may
    // be anything.
    let mut record = Vec::new();
    from.by_ref().take(len).read_to_end(&mut record)?;
    Ok((record.len() as u64 == len).then_some(record))
}

impl Journal {
    /// Opens `path` and reads what a previous run left there, if anything.
    ///
    /// # Errors
    /// When the file exists but cannot be read.
    pub fn open(path: &Path) -> std::io::Result<(Self, Option<Restored>)> {
        let mut journal = Self {
            path: path.to_path_buf(),
            file: None,
            left: None,
            whole: 0,
        };
        let mut left = match File::open(path) {
            Ok(f) => BufReader::new(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((journal, None)),
            Err(e) => return Err(e),
        };
        let Some(header) = read_record(&mut left)?.filter(|h| h.len() == 16) else {
            return Ok((journal, None));
        };
        let batch = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        let millis = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        let mut whole = 4 + header.len() as u64;
        // The description follows the header (`start` writes both).
        let start = match read_record(&mut left)? {
            Some(record) => {
                whole += 4 + record.len() as u64;
                match protocol::decode(vec![record]) {
                    Ok(Packet {
                        message: Message::BatchStart(s),
                        ..
                    }) if s.batch == batch => Some(s),
                    _ => None,
                }
            }
            None => None,
        };
        journal.whole = whole;
        if start.is_some() {
            journal.left = Some(left);
        }
        let restored = Restored {
            batch,
            started: UNIX_EPOCH + Duration::from_millis(millis),
            start,
        };
        Ok((journal, Some(restored)))
    }

    /// The next result the previous run left, in the order it accepted
    /// them; `None` once they are all read (or the rest is torn).
    ///
    /// # Errors
    /// When the file cannot be read (what follows is then redone).
    pub fn next_result(&mut self) -> std::io::Result<Option<TaskResult>> {
        let Some(left) = &mut self.left else {
            return Ok(None);
        };
        loop {
            let record = match read_record(left) {
                Ok(Some(record)) => record,
                other => {
                    self.left = None;
                    return other.map(|_| None);
                }
            };
            self.whole += 4 + record.len() as u64;
            if let Ok(Packet {
                message: Message::Result(result),
                ..
            }) = protocol::decode(vec![record])
            {
                return Ok(Some(result));
            }
        }
    }

    fn append_record(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(f) = &mut self.file {
            let len = u32::try_from(bytes.len())
                .map_err(|_| std::io::Error::other("record too large"))?;
            let mut record = len.to_le_bytes().to_vec();
            record.extend_from_slice(bytes);
            f.write_all(&record)?;
        }
        Ok(())
    }

    /// Starts the journal of `batch` afresh (a different batch, or none
    /// before): the header, then the batch's description.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn start(&mut self, batch: &BatchStart, started: SystemTime) -> std::io::Result<()> {
        self.left = None;
        self.file = Some(File::create(&self.path)?);
        let millis = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut header = batch.batch.to_le_bytes().to_vec();
        header.extend_from_slice(&millis.to_le_bytes());
        self.append_record(&header)?;
        self.append_message(Message::BatchStart(batch.clone()))
    }

    /// Continues the journal a previous run left (its batch goes on).
    ///
    /// # Errors
    /// When the file cannot be opened for appending.
    pub fn resume(&mut self) -> std::io::Result<()> {
        // Whatever was not read is dropped with the torn tail.
        self.left = None;
        let file = OpenOptions::new().append(true).open(&self.path)?;
        file.set_len(self.whole)?;
        self.file = Some(file);
        Ok(())
    }

    /// Appends one accepted result.
    ///
    /// # Errors
    /// When the write fails.
    pub fn append(&mut self, result: &TaskResult) -> std::io::Result<()> {
        self.append_message(Message::Result(result.clone()))
    }

    fn append_message(&mut self, message: Message) -> std::io::Result<()> {
        let frames = protocol::encode(&message.into());
        match frames.first() {
            Some(header) => self.append_record(header),
            None => Ok(()),
        }
    }

    /// The batch is complete: the journal has served its purpose.
    pub fn remove(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::{Outcome, Transport};

    fn batch(id: u64) -> BatchStart {
        BatchStart {
            batch: id,
            total: 3,
            unprocessed: Vec::new(),
            unprocessed_total: 0,
            skipped: 1,
            ops: "blur:1".into(),
            input_root: "/in".into(),
            output_root: "/out".into(),
            transport: Transport::Path,
            synthetic: false,
        }
    }

    fn result(id: u64) -> TaskResult {
        TaskResult {
            ticket: None,
            batch: 9,
            task_id: id,
            rel_path: format!("{id}.jpg"),
            worker: "w".into(),
            outcome: Outcome::Failed { error: "x".into() },
            busy_us: 1,
            worker_slots: 1,
            warnings: Vec::new(),
            timings: Default::default(),
        }
    }

    #[test]
    fn survives_a_restart_and_a_torn_last_record() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j");
        let (mut j, restored) = Journal::open(&path)?;
        assert!(restored.is_none());
        let t0 = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        j.start(&batch(9), t0)?;
        j.append(&result(1))?;
        j.append(&result(2))?;
        drop(j);
        // a crash mid-write leaves half a record
        let mut f = OpenOptions::new().append(true).open(&path)?;
        f.write_all(&[200, 0, 0, 0, 1, 2])?;
        let (mut j, restored) = Journal::open(&path)?;
        let restored = restored.expect("restored");
        assert_eq!(restored.batch, 9);
        assert_eq!(restored.started, t0);
        assert_eq!(restored.start, Some(batch(9)), "the description is kept");
        assert_eq!(replay(&mut j)?, vec![result(1), result(2)]);
        // Resumed, the torn record goes: what is appended stays readable.
        j.resume()?;
        j.append(&result(0))?;
        drop(j);
        let (mut j, _) = Journal::open(&path)?;
        assert_eq!(replay(&mut j)?, vec![result(1), result(2), result(0)]);
        j.start(&batch(10), t0)?;
        drop(j);
        let (mut j, restored) = Journal::open(&path)?;
        assert_eq!(restored.map(|r| r.batch), Some(10));
        assert_eq!(replay(&mut j)?, vec![], "a new batch starts afresh");
        Ok(())
    }

    fn replay(j: &mut Journal) -> std::io::Result<Vec<TaskResult>> {
        std::iter::from_fn(|| j.next_result().transpose()).collect()
    }

    #[test]
    fn a_journal_torn_inside_its_header_or_description_is_of_no_use() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open(&path)?;
        j.start(&batch(9), UNIX_EPOCH)?;
        j.append(&result(1))?;
        drop(j);
        let len = std::fs::metadata(&path)?.len();
        let header = 4 + 16;
        for cut in [header + 3, header, 2] {
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(cut)?;
            let (mut j, restored) = Journal::open(&path)?;
            assert!(restored.and_then(|r| r.start).is_none(), "cut at {cut}");
            assert_eq!(replay(&mut j)?, vec![], "cut at {cut}");
        }
        assert!(len > header + 3);
        Ok(())
    }
}
