//! The dispatch state of one batch: worker credits, leases, heartbeats,
//! redelivery and the end of the batch.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use shared::imageio::OutputOptions;
use shared::log;
use shared::net;
use shared::net::Wire;
use shared::ops::Chain;
use shared::protocol::{
    Message, Packet, Source, Task, Transport, MAX_NAMED_WORKERS, MAX_NAMED_WORKER_BYTES,
};

use crate::ROLE;

/// Most unused credit one worker may hold, whatever it asks for.
const MAX_CREDIT_PER_WORKER: usize = 64;
/// Largest image sent inline (half the sockets' message limit); larger
/// ones are reported as failures with `--transport inline`.
pub const MAX_INLINE_BYTES: u64 = (net::MAX_MESSAGE_BYTES as u64) / 2;

/// How a batch went, from the ventilator's side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tasks in the batch.
    pub tasks: u64,
    /// Task dispatches, re-dispatches included.
    pub dispatched: u64,
    /// Tasks sent again because their worker went silent or vanished.
    pub redispatched: u64,
    /// Distinct workers that asked for work.
    pub workers: usize,
    /// Messages that could not be decoded or made no sense here.
    pub rejected_messages: u64,
    /// Messages refused for failing authentication.
    pub unauthenticated: u64,
    /// Messages refused as replays.
    pub replayed: u64,
    /// True if the batch ended because of a shutdown request.
    pub interrupted: bool,
}

pub(crate) struct WorkerSlot {
    pub(crate) name: String,
    pub(crate) credit: usize,
    pub(crate) last_seen: Instant,
    pub(crate) in_flight: HashSet<u64>,
}

/// The dispatch state of one batch.
pub(crate) struct Dispatcher {
    pub(crate) batch: u64,
    /// When each task in flight was last sent.
    pub(crate) leases: HashMap<u64, Instant>,
    pub(crate) synthetic: bool,
    pub(crate) transport: Transport,
    pub(crate) tasks: Vec<String>,
    pub(crate) input_root: String,
    pub(crate) output_root: String,
    pub(crate) chain: Chain,
    pub(crate) output: OutputOptions,
    pub(crate) pending: VecDeque<u64>,
    pub(crate) done: Vec<bool>,
    pub(crate) done_count: u64,
    /// One entry per credit, oldest first: the next task goes to the front.
    pub(crate) ready: VecDeque<Vec<u8>>,
    pub(crate) workers: HashMap<Vec<u8>, WorkerSlot>,
    pub(crate) stopped_workers: HashSet<Vec<u8>>,
    /// Workers presumed lost; told to stop at the end all the same.
    pub(crate) forgotten: HashSet<Vec<u8>>,
    /// Ids of every worker that asked for work, for the sink's report.
    pub(crate) named: BTreeSet<String>,
    pub(crate) summary: Summary,
}

impl Dispatcher {
    /// Task `id` and, with the inline transport, the image bytes it
    /// carries (read now, so only tasks being sent are held in memory).
    pub(crate) fn packet(&self, id: u64) -> Packet {
        let rel_path = &self.tasks[id as usize];
        let (source, payload) = if self.synthetic {
            (Source::Synthetic, None)
        } else if self.transport == Transport::Path {
            (Source::Path, None)
        } else {
            match read_inline(Path::new(&self.input_root), rel_path) {
                Ok(bytes) => (Source::Inline, Some(bytes)),
                Err(error) => (Source::Unreadable { error }, None),
            }
        };
        Packet {
            message: Message::Task(self.task(id, source)),
            payload,
        }
    }

    pub(crate) fn task(&self, id: u64, source: Source) -> Task {
        Task {
            batch: self.batch,
            id,
            rel_path: self.tasks[id as usize].clone(),
            source,
            input_root: self.input_root.clone(),
            output_root: self.output_root.clone(),
            chain: self.chain.clone(),
            output: self.output,
        }
    }

    pub(crate) fn complete(&self) -> bool {
        self.done_count == self.tasks.len() as u64
    }

    pub(crate) fn status(&self, sink_connected: bool) -> serde_json::Value {
        let state = match (sink_connected, self.complete()) {
            (false, _) => "waiting-for-sink",
            (true, false) => "dispatching",
            (true, true) => "done",
        };
        serde_json::json!({
            "role": ROLE,
            "state": state,
            "batch": self.batch,
            "tasks": self.tasks.len(),
            "pending": self.pending.len(),
            "in_flight": self.workers.values().map(|w| w.in_flight.len()).sum::<usize>(),
            "done": self.done_count,
            "dispatched": self.summary.dispatched,
            "redispatched": self.summary.redispatched,
            "workers": self.workers.values().map(|w| serde_json::json!({
                "id": w.name,
                "in_flight": w.in_flight.len(),
                "credit": w.credit,
                "last_seen_ms": w.last_seen.elapsed().as_millis() as u64,
            })).collect::<Vec<_>>(),
            "rejected_messages": self.summary.rejected_messages,
            "refused_unauthenticated": self.summary.unauthenticated,
            "transport": self.transport.to_string(),
        })
    }

    pub(crate) fn on_ready(&mut self, identity: &[u8], worker: String, credit: u32) {
        if self.named.len() < MAX_NAMED_WORKERS
            && worker.len() <= MAX_NAMED_WORKER_BYTES
            && !self.named.contains(&worker)
        {
            self.named.insert(worker.clone());
        }
        let slot = self.workers.entry(identity.to_vec()).or_insert_with(|| {
            log!(Debug, ROLE, "worker {worker} joined");
            WorkerSlot {
                name: worker,
                credit: 0,
                last_seen: Instant::now(),
                in_flight: HashSet::new(),
            }
        });
        slot.last_seen = Instant::now();
        // Cap what is outstanding, not what is in flight: in-flight tasks may
        // be finished already and merely not yet acknowledged by the sink.
        let room = MAX_CREDIT_PER_WORKER.saturating_sub(slot.credit);
        let add = (credit as usize).min(room);
        slot.credit += add;
        for _ in 0..add {
            self.ready.push_back(identity.to_vec());
        }
    }

    pub(crate) fn on_ack(&mut self, task_ids: &[u64]) {
        for id in task_ids {
            self.leases.remove(id);
        }
        for &id in task_ids {
            if let Some(done) = self.done.get_mut(id as usize) {
                if !*done {
                    *done = true;
                    self.done_count += 1;
                }
            }
        }
        for slot in self.workers.values_mut() {
            for id in task_ids {
                slot.in_flight.remove(id);
            }
        }
    }

    /// Next pending task not yet acknowledged (a re-dispatched task may have
    /// been finished by its first worker meanwhile).
    pub(crate) fn next_pending(&mut self) -> Option<u64> {
        while let Some(id) = self.pending.pop_front() {
            if !self.done[id as usize] {
                return Some(id);
            }
        }
        None
    }

    /// Plain PUSH dispatch (the guide's taskvent): everything goes into the
    /// socket as fast as it takes it, round-robin over connected workers,
    /// with no idea who holds what.
    pub(crate) fn push_all(&mut self, push: &zmq::Socket, wire: &Wire) -> zmq::Result<()> {
        while let Some(id) = self.next_pending() {
            let frames = wire.frames(&self.packet(id));
            match push.send_multipart(frames, zmq::DONTWAIT) {
                Ok(()) => self.summary.dispatched += 1,
                Err(zmq::Error::EAGAIN) => {
                    self.pending.push_front(id);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Gives pending tasks to workers with credit, oldest credit first.
    pub(crate) fn dispatch(&mut self, socket: &zmq::Socket, wire: &Wire) {
        while !self.pending.is_empty() {
            let Some(identity) = self.ready.pop_front() else {
                break;
            };
            let Some(slot) = self.workers.get_mut(&identity) else {
                continue;
            };
            if slot.credit == 0 {
                continue;
            }
            slot.credit -= 1;
            let Some(id) = self.next_pending() else {
                // Give the credit back: nothing left to send.
                if let Some(slot) = self.workers.get_mut(&identity) {
                    slot.credit += 1;
                }
                self.ready.push_front(identity);
                break;
            };
            let packet = self.packet(id);
            match wire.send_to(socket, &identity, &packet) {
                Ok(()) => {
                    self.summary.dispatched += 1;
                    self.leases.insert(id, Instant::now());
                    if let Some(slot) = self.workers.get_mut(&identity) {
                        slot.in_flight.insert(id);
                    }
                }
                Err(e) => {
                    // ROUTER_MANDATORY: the peer is gone; forget it, keep the task.
                    log!(
                        Warn,
                        ROLE,
                        "worker unreachable ({e}); task {id} goes to another"
                    );
                    self.pending.push_front(id);
                    self.forget_worker(&identity);
                }
            }
        }
    }

    pub(crate) fn forget_worker(&mut self, identity: &[u8]) {
        if let Some(slot) = self.workers.remove(identity) {
            self.forgotten.insert(identity.to_vec());
            self.ready.retain(|i| i != identity);
            let mut lost: Vec<u64> = slot
                .in_flight
                .into_iter()
                .filter(|id| !self.done[*id as usize])
                .collect();
            lost.sort_unstable();
            if !lost.is_empty() {
                log!(
                    Warn,
                    ROLE,
                    "worker {} lost with {} tasks in flight; re-dispatching them",
                    slot.name,
                    lost.len()
                );
            }
            self.summary.redispatched += lost.len() as u64;
            for id in lost.into_iter().rev() {
                self.pending.push_front(id);
            }
        }
    }

    /// Sends again, to any worker, the tasks whose lease ran out: a hung
    /// filter, or a result lost on its way to the sink.
    pub(crate) fn expire_leases(&mut self, lease: Duration) {
        let mut expired: Vec<u64> = self
            .leases
            .iter()
            .filter(|(id, since)| since.elapsed() > lease && !self.done[**id as usize])
            .map(|(id, _)| *id)
            .collect();
        if expired.is_empty() {
            return;
        }
        expired.sort_unstable();
        log!(
            Warn,
            ROLE,
            "{} tasks outlived their {lease:?} lease; dispatching them again",
            expired.len()
        );
        self.summary.redispatched += expired.len() as u64;
        for id in expired.into_iter().rev() {
            self.leases.remove(&id);
            self.pending.push_front(id);
        }
    }

    /// A new sink connected: results on their way to the old one may be
    /// lost, so every unacknowledged task in flight goes out again (the
    /// sink drops the duplicates).
    pub(crate) fn requeue_in_flight(&mut self) {
        let mut ids: Vec<u64> = self
            .workers
            .values()
            .flat_map(|w| w.in_flight.iter().copied())
            .filter(|id| !self.done[*id as usize])
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.summary.redispatched += ids.len() as u64;
        for id in ids.into_iter().rev() {
            self.leases.remove(&id);
            self.pending.push_front(id);
        }
    }

    pub(crate) fn reap_silent_workers(&mut self, timeout: Duration) {
        let silent: Vec<Vec<u8>> = self
            .workers
            .iter()
            .filter(|(_, s)| s.last_seen.elapsed() > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for identity in silent {
            self.forget_worker(&identity);
        }
    }
}

/// Reads an image to send inline, refusing files over [`MAX_INLINE_BYTES`]
/// before reading them.
fn read_inline(input_root: &Path, rel_path: &str) -> Result<Vec<u8>, String> {
    let path = shared::discover::safe_join(input_root, rel_path)?;
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .len();
    if size > MAX_INLINE_BYTES {
        return Err(format!(
            "{} has {size} bytes, over the {MAX_INLINE_BYTES}-byte limit of the inline transport",
            path.display()
        ));
    }
    std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))
}
