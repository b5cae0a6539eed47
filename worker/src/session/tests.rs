//! Unit tests of the [`Session`]: one scenario each, actions checked exactly.

use std::time::{Duration, Instant};

use shared::protocol::{Message, Outcome, Packet, Source, Task, TaskResult};

use super::{Action, Event, Session, SessionConfig, DRAIN_TIMEOUT, OUTBOX_GRACE, RESEAL_AFTER};
use crate::HEARTBEAT;

pub(super) fn task(id: u64) -> Task {
    Task {
        ticket: None,
        batch: 1,
        id,
        rel_path: format!("{id}.jpg"),
        output_path: format!("{id}.jpg"),
        source: Source::Synthetic,
        input_root: String::new(),
        output_root: String::new(),
        chain: shared::ops::Chain::default(),
        output: shared::imageio::OutputOptions::default(),
        attempt: 1,
    }
}

pub(super) fn result(id: u64) -> Packet {
    Message::Result(TaskResult {
        ticket: None,
        batch: 1,
        task_id: id,
        rel_path: format!("{id}.jpg"),
        worker: "w".into(),
        outcome: Outcome::Failed {
            error: "test".into(),
        },
        busy_us: 0,
        worker_slots: 1,
        warnings: Vec::new(),
        timings: Default::default(),
    })
    .into()
}

fn session(threads: u32, prefetch: u32) -> Session {
    let config = SessionConfig {
        threads,
        prefetch,
        max_credit: crate::MAX_CREDIT,
        push: false,
        idle_timeout: None,
    };
    Session::new(config, Instant::now())
}

/// The actions, logs left out; results shown by task id.
#[derive(Debug, PartialEq)]
enum Did {
    Ready(u32),
    Run(u64, u64),
    Send(u64),
}

fn drain(s: &mut Session, now: Instant, sink_busy: bool) -> Vec<Did> {
    let mut did = Vec::new();
    while let Some(action) = s.poll_action(now) {
        match action {
            Action::Ready { credit } => did.push(Did::Ready(credit)),
            Action::Run { receipt, task, .. } => did.push(Did::Run(receipt, task.id)),
            Action::SendResult(out) => {
                let Message::Result(r) = &out.packet().message else {
                    panic!("not a result");
                };
                did.push(Did::Send(r.task_id));
                if sink_busy {
                    s.handle_event(now, Event::SinkBusy(*out));
                }
            }
            Action::Log { .. } => {}
        }
    }
    s.check_invariants();
    did
}

fn hear(s: &mut Session, now: Instant, message: Message) {
    s.handle_event(now, Event::Message(Ok(message.into())));
}

fn finish(s: &mut Session, now: Instant, receipt: u64, id: u64) {
    s.handle_event(
        now,
        Event::Finished {
            receipt,
            result: result(id),
        },
    );
}

#[test]
fn asks_for_a_task_per_thread_plus_prefetch_and_one_more_per_result() {
    let now = Instant::now();
    let mut s = session(2, 1);
    assert_eq!(drain(&mut s, now, false), [Did::Ready(3)]);
    for id in 0..3 {
        hear(&mut s, now, Message::Task(task(id)));
    }
    // Two threads: the third task waits for one.
    assert_eq!(drain(&mut s, now, false), [Did::Run(0, 0), Did::Run(1, 1)]);
    finish(&mut s, now, 1, 1);
    assert_eq!(
        drain(&mut s, now, false),
        [Did::Run(2, 2), Did::Send(1), Did::Ready(1)]
    );
}

#[test]
fn a_busy_sink_keeps_the_result_sealed_once_and_earns_no_credit_until_it_is_taken() {
    let now = Instant::now();
    let mut s = session(1, 0);
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Task(task(7)));
    drain(&mut s, now, false);
    finish(&mut s, now, 0, 7);
    let mut seals = 0;
    let mut attempt = |s: &mut Session, at: Instant, busy: bool| {
        let mut out = loop {
            match s.poll_action(at) {
                Some(Action::SendResult(out)) => break *out,
                Some(Action::Log { .. }) => {}
                other => panic!("expected a result to send, got {other:?}"),
            }
        };
        let frames = out.frames(at, |p| {
            seals += 1;
            shared::protocol::encode(p)
        });
        assert!(!frames.is_empty());
        if busy {
            s.handle_event(at, Event::SinkBusy(out));
        }
    };
    attempt(&mut s, now, true);
    assert!(s.sink_busy());
    assert_eq!(
        drain(&mut s, now, false),
        [],
        "no credit, no retry while busy"
    );
    s.handle_event(now, Event::SinkWritable);
    attempt(&mut s, now, true);
    s.handle_event(now, Event::SinkWritable);
    let later = now + RESEAL_AFTER;
    attempt(&mut s, later, false);
    assert_eq!(drain(&mut s, later, false), [Did::Ready(1)]);
    assert_eq!(
        seals, 2,
        "sealed once, and again only when the seal got old"
    );
}

#[test]
fn heartbeats_every_interval_after_the_last_ready() {
    let now = Instant::now();
    let mut s = session(1, 1);
    drain(&mut s, now, false);
    assert_eq!(s.poll_timeout(), Some(now + HEARTBEAT));
    let early = now + HEARTBEAT - Duration::from_millis(1);
    s.handle_timeout(early);
    assert_eq!(drain(&mut s, early, false), []);
    let due = now + HEARTBEAT;
    s.handle_timeout(due);
    assert_eq!(drain(&mut s, due, false), [Did::Ready(0)]);
    assert_eq!(s.poll_timeout(), Some(due + HEARTBEAT));
}

#[test]
fn welcome_announces_all_free_capacity_and_forgets_what_was_owed() {
    let now = Instant::now();
    let mut s = session(2, 2);
    drain(&mut s, now, false);
    for id in 0..3 {
        hear(&mut s, now, Message::Task(task(id)));
    }
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Welcome);
    // Four slots, three held (two running, one queued).
    assert_eq!(drain(&mut s, now, false), [Did::Ready(1)]);
    finish(&mut s, now, 0, 0);
    hear(&mut s, now, Message::Welcome);
    // The delivered result's credit is in the fresh announcement.
    assert_eq!(
        drain(&mut s, now, false),
        [Did::Run(2, 2), Did::Send(0), Did::Ready(2)]
    );
}

#[test]
fn a_task_beyond_the_credit_is_run_but_earns_nothing() {
    let now = Instant::now();
    let mut s = session(1, 0);
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Task(task(0)));
    hear(&mut s, now, Message::Task(task(0)));
    drain(&mut s, now, false);
    finish(&mut s, now, 0, 0);
    assert_eq!(
        drain(&mut s, now, false),
        [Did::Run(1, 0), Did::Send(0), Did::Ready(1)]
    );
    finish(&mut s, now, 1, 0);
    assert_eq!(drain(&mut s, now, false), [Did::Send(0)]);
}

#[test]
fn after_the_sentinel_running_tasks_finish_later_ones_are_dropped_then_it_exits() {
    let now = Instant::now();
    let mut s = session(1, 1);
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Task(task(0)));
    hear(&mut s, now, Message::Task(task(1)));
    hear(&mut s, now, Message::Stop);
    hear(&mut s, now, Message::Task(task(2)));
    assert_eq!(drain(&mut s, now, false), [Did::Run(0, 0)]);
    finish(&mut s, now, 0, 0);
    assert_eq!(drain(&mut s, now, false), [Did::Run(1, 1), Did::Send(0)]);
    assert!(!s.finished(), "task 1 still runs");
    finish(&mut s, now, 1, 1);
    assert_eq!(drain(&mut s, now, false), [Did::Send(1)]);
    assert!(s.finished());
    assert_eq!(s.summary().tasks, 2);
}

#[test]
fn after_the_sentinel_undelivered_results_are_given_up_after_the_grace() {
    let now = Instant::now();
    let mut s = session(1, 0);
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Task(task(0)));
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Stop);
    finish(&mut s, now, 0, 0);
    assert_eq!(drain(&mut s, now, true), [Did::Send(0)]);
    assert!(!s.finished());
    assert_eq!(s.poll_timeout(), Some(now + HEARTBEAT));
    let end = now + OUTBOX_GRACE;
    s.handle_timeout(end);
    assert!(s.finished());
}

#[test]
fn an_interrupted_worker_waits_for_the_sink_until_the_drain_timeout() {
    let now = Instant::now();
    let mut s = session(1, 0);
    drain(&mut s, now, false);
    hear(&mut s, now, Message::Task(task(0)));
    drain(&mut s, now, false);
    s.shutdown(now);
    finish(&mut s, now, 0, 0);
    assert_eq!(drain(&mut s, now, true), [Did::Send(0)]);
    s.handle_timeout(now + OUTBOX_GRACE);
    assert!(!s.finished(), "no grace when interrupted");
    s.handle_timeout(now + DRAIN_TIMEOUT);
    assert!(s.finished());
    assert!(s.summary().interrupted);
}

#[test]
fn push_mode_pulls_only_while_a_thread_is_free_and_asks_for_no_credit() {
    let now = Instant::now();
    let config = SessionConfig {
        threads: 1,
        prefetch: 4,
        max_credit: crate::MAX_CREDIT,
        push: true,
        idle_timeout: None,
    };
    let mut s = Session::new(config, now);
    assert_eq!(drain(&mut s, now, false), [Did::Ready(0)]);
    assert!(s.wants_pull());
    hear(&mut s, now, Message::Task(task(0)));
    assert!(!s.wants_pull());
    drain(&mut s, now, false);
    finish(&mut s, now, 0, 0);
    assert_eq!(drain(&mut s, now, false), [Did::Send(0)]);
    assert!(s.wants_pull());
}

/// Issue 17: a worker frozen across a ventilator restart (or left behind by
/// a ventilator that died) waited for ever. A live ventilator answers every
/// heartbeat; after `idle_timeout` of silence the worker finishes what it
/// runs, offers the results to the sink and exits, saying why.
#[test]
fn a_silent_ventilator_is_given_up_after_the_idle_timeout_running_images_first() {
    let t0 = Instant::now();
    let idle = Duration::from_secs(10);
    let config = SessionConfig {
        threads: 1,
        prefetch: 0,
        max_credit: crate::MAX_CREDIT,
        push: false,
        idle_timeout: Some(idle),
    };
    let mut s = Session::new(config, t0);
    drain(&mut s, t0, false);
    hear(&mut s, t0, Message::Task(task(0)));
    drain(&mut s, t0, false);
    let heard = t0 + Duration::from_secs(9);
    hear(&mut s, heard, Message::Heartbeat);
    let before = heard + idle - Duration::from_millis(1);
    s.handle_timeout(before);
    drain(&mut s, before, false);
    assert!(!s.stopping(), "a heartbeat 9 s in restarts the count");
    assert!(s.poll_timeout().is_some_and(|at| at <= heard + idle));
    let end = heard + idle;
    s.handle_timeout(end);
    drain(&mut s, end, false);
    assert!(s.stopping() && !s.finished(), "task 0 still runs");
    hear(&mut s, end, Message::Task(task(1)));
    finish(&mut s, end, 0, 0);
    assert_eq!(drain(&mut s, end, false), [Did::Send(0)], "task 1 dropped");
    assert!(s.finished());
    let summary = s.summary();
    assert!(summary.gave_up && !summary.interrupted);
    assert_eq!(summary.tasks, 1);
}

#[test]
fn without_an_idle_timeout_a_worker_waits_for_ever() {
    let t0 = Instant::now();
    let mut s = session(1, 0);
    drain(&mut s, t0, false);
    let much_later = t0 + Duration::from_secs(86_400);
    s.handle_timeout(much_later);
    drain(&mut s, much_later, false);
    assert!(!s.stopping());
    assert_eq!(s.poll_timeout(), Some(much_later + HEARTBEAT));
}

#[test]
fn credit_grows_to_cover_the_round_trip_and_shrinks_when_it_gets_short() {
    const MS: Duration = Duration::from_millis(1);
    let t0 = Instant::now();
    let mut s = session(1, 1);
    assert_eq!(drain(&mut s, t0, false), [Did::Ready(2)]);
    // A far ventilator: every answer comes 100 ms after the request.
    let mut now = t0 + 100 * MS;
    hear(&mut s, now, Message::Task(task(0)));
    hear(&mut s, now, Message::Task(task(1)));
    assert_eq!(drain(&mut s, now, false), [Did::Run(0, 0)]);
    // Images take 10 ms; the first request was not timed: no growth yet.
    now += 10 * MS;
    finish(&mut s, now, 0, 0);
    assert_eq!(
        drain(&mut s, now, false),
        [Did::Run(1, 1), Did::Send(0), Did::Ready(1)]
    );
    now += 10 * MS;
    finish(&mut s, now, 1, 1);
    // Each request is timed by the task that answers it: task 2 answers
    // the request made at 110 ms.
    assert_eq!(drain(&mut s, now, false), [Did::Send(1), Did::Ready(1)]);
    now += 90 * MS;
    hear(&mut s, now, Message::Task(task(2)));
    // One thread does 10 images per 100 ms round trip: 2 + 10 held.
    let grown = drain(&mut s, now, false);
    assert_eq!(grown, [Did::Run(2, 2), Did::Ready(10)]);
    assert_eq!(s.pacer.rtt(), Some(100 * MS));
    // The link gets short (heartbeats answered in 1 ms): the credit of
    // delivered results is retired, not earned back, down to 1 + 1
    // (1 ms / 10 ms rounds to no task more).
    for _ in 0..16 {
        now += HEARTBEAT;
        s.handle_timeout(now);
        assert_eq!(drain(&mut s, now, false), [Did::Ready(0)]);
        hear(&mut s, now + MS, Message::Heartbeat);
    }
    assert_eq!(s.pacer.rtt(), Some(MS));
    now += MS;
    for id in 3..14 {
        hear(&mut s, now, Message::Task(task(id)));
    }
    let mut announced = 0;
    // Receipts follow task ids here: task 2 was receipt 2.
    for id in 2..14 {
        now += 10 * MS;
        finish(&mut s, now, id, id);
        for did in drain(&mut s, now, false) {
            if let Did::Ready(n) = did {
                announced += n;
            }
        }
    }
    assert_eq!(s.granted, 2, "shrunk to threads + prefetch");
    assert_eq!(announced, 2, "of 12 delivered, only 2 earned back");
}
