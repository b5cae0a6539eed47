//! Unit tests of the [`Collector`]: one scenario each, actions checked in
//! order.

use std::time::{Duration, Instant};

use shared::protocol::{BatchStart, Outcome, Resync, TaskResult, Transport, MAX_ACK_IDS};

use super::model_tests::png;
use super::{Action, BatchEnd, Collector, CollectorConfig, Event, JournalRecord, Restored};
use crate::events;

const BATCH: u64 = 5;

fn start(total: u64, transport: Transport) -> BatchStart {
    BatchStart {
        batch: BATCH,
        total,
        unprocessed: Vec::new(),
        unprocessed_total: 0,
        skipped: 0,
        ops: "blur:1".into(),
        input_root: "/in".into(),
        output_root: "/out".into(),
        transport,
        synthetic: false,
    }
}

fn written(task: u64, worker: &str) -> TaskResult {
    TaskResult {
        ticket: None,
        batch: BATCH,
        task_id: task,
        rel_path: format!("{task}.jpg"),
        worker: worker.into(),
        outcome: Outcome::Written {
            input_size: (10, 10),
            output_size: (5, 5),
            output_bytes: 100,
            output_path: format!("{task}.jpg"),
        },
        busy_us: 1_000,
        worker_slots: 1,
        warnings: Vec::new(),
        timings: Default::default(),
    }
}

fn encoded(task: u64) -> TaskResult {
    TaskResult {
        outcome: Outcome::Encoded {
            input_size: (10, 10),
            output_size: (5, 5),
            output_path: format!("{task}.png"),
        },
        ..written(task, "w")
    }
}

/// The sink's configuration without the check of workers' outputs, which
/// has its own tests: results on a shared folder are held at once.
fn unverified() -> CollectorConfig {
    CollectorConfig {
        verify_outputs: false,
        ..CollectorConfig::default()
    }
}

fn result(result: TaskResult) -> Event {
    Event::Result {
        result,
        payload: None,
    }
}

fn drain(c: &mut Collector) -> Vec<Action> {
    std::iter::from_fn(|| c.poll_action()).collect()
}

/// The actions that are not hellos, logs or events.
fn effects(c: &mut Collector) -> Vec<Action> {
    drain(c)
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                Action::Hello | Action::Log { .. } | Action::Publish(_) | Action::Failure { .. }
            )
        })
        .collect()
}

fn ack(task_ids: &[u64]) -> Action {
    Action::Ack {
        batch: BATCH,
        task_ids: task_ids.to_vec(),
    }
}

/// The answer to a description in one span: `held` of `0..total`.
fn resynced(total: u64, held: &[(u64, u64)]) -> Action {
    Action::Resync(Resync {
        batch: BATCH,
        from: 0,
        to: total,
        held: held.to_vec(),
    })
}

fn journaled(r: TaskResult) -> Action {
    Action::Journal(JournalRecord::Result(r))
}

#[test]
fn a_batch_from_start_to_end() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_timeout(t0);
    assert_eq!(drain(&mut c), vec![Action::Hello]);
    // A result before the batch is known waits for it.
    c.handle_event(t0, result(written(1, "a")));
    assert_eq!(effects(&mut c), vec![]);
    c.handle_event(t0, Event::BatchStart(start(2, Transport::Path)));
    let actions = drain(&mut c);
    assert_eq!(
        actions,
        vec![
            Action::Begin(start(2, Transport::Path)),
            Action::Journal(JournalRecord::Start(start(2, Transport::Path))),
            Action::Publish(events::Event::BatchStarted {
                batch: BATCH,
                total: 2,
                ops: "blur:1".into()
            }),
            journaled(written(1, "a")),
            Action::Publish(events::Event::Result {
                task: 1,
                path: "1.jpg".into(),
                worker: "a".into(),
                ok: true,
                done: 1,
                failed: 0,
                total: 2
            }),
            resynced(2, &[(1, 2)]),
        ]
    );
    // The answer to a second description (a restarted ventilator) is a
    // resync of everything held, even with nothing new.
    let t1 = t0 + Duration::from_millis(10);
    c.handle_event(t1, Event::BatchStart(start(2, Transport::Path)));
    assert_eq!(effects(&mut c), vec![resynced(2, &[(1, 2)])]);
    // A duplicate is acknowledged again, never journaled twice; the next
    // acknowledgement waits for the interval.
    c.handle_event(t1, result(written(1, "b")));
    assert_eq!(effects(&mut c), vec![ack(&[1])]);
    c.handle_event(t1, result(written(1, "c")));
    assert_eq!(effects(&mut c), vec![]);
    let t2 = t1 + Duration::from_millis(60);
    c.handle_timeout(t2);
    assert_eq!(effects(&mut c), vec![ack(&[1])]);
    assert_eq!(c.counts().duplicates, 2);
    // The last result is acknowledged at once; the batch ends when the
    // ventilator confirms it.
    c.handle_event(t2, result(written(0, "b")));
    assert_eq!(effects(&mut c), vec![journaled(written(0, "b")), ack(&[0])]);
    assert!(c.complete() && !c.finished());
    c.handle_event(
        t2,
        Event::BatchEnd(BatchEnd {
            batch: BATCH,
            redispatched: 3,
            workers: vec!["a".into(), "b".into(), "idle".into()],
            ..BatchEnd::default()
        }),
    );
    c.handle_timeout(t2);
    assert_eq!(
        effects(&mut c),
        vec![
            Action::Journal(JournalRecord::Remove),
            Action::Finished { confirmed: true }
        ]
    );
    let report = c.report();
    assert_eq!((report.succeeded, report.redelivered), (2, 3));
    let ids: Vec<&str> = report.workers.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "idle"]);
}

#[test]
fn stale_and_unknown_results_are_counted_not_acknowledged() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_event(t0, Event::BatchStart(start(2, Transport::Path)));
    drain(&mut c);
    let stale = TaskResult {
        batch: BATCH + 1,
        ..written(0, "a")
    };
    c.handle_event(t0, result(stale));
    c.handle_event(t0, result(written(2, "a")));
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(effects(&mut c), vec![]);
    let counts = c.counts();
    assert_eq!((counts.stale, counts.rejected, c.done()), (1, 1, 0));
}

#[test]
fn inline_outputs_are_held_once_stored_and_a_failed_store_is_a_failed_image() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_event(t0, Event::BatchStart(start(3, Transport::Inline)));
    drain(&mut c);
    let with_bytes = |r| Event::Result {
        result: r,
        payload: Some(png(5, 5)),
    };
    c.handle_event(t0, with_bytes(encoded(0)));
    let store = Action::Store {
        batch: BATCH,
        task: 0,
        output_path: "0.png".into(),
        bytes: png(5, 5),
    };
    assert_eq!(effects(&mut c), vec![store]);
    // A copy while the first is being stored: no second store, no ack yet.
    c.handle_event(t0, with_bytes(encoded(0)));
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(effects(&mut c), vec![]);
    let t1 = t0 + Duration::from_secs(2);
    let stored = |task, outcome| Event::Stored {
        batch: BATCH,
        task,
        outcome,
    };
    c.handle_event(t1, stored(0, Ok(3)));
    let held = TaskResult {
        outcome: Outcome::Written {
            input_size: (10, 10),
            output_size: (5, 5),
            output_bytes: 3,
            output_path: "0.png".into(),
        },
        ..encoded(0)
    };
    assert_eq!(effects(&mut c), vec![journaled(held), ack(&[0])]);
    // A store that fails: the image failed, with the reason, and is done.
    c.handle_event(t1, with_bytes(encoded(1)));
    drain(&mut c);
    c.handle_event(t1, stored(1, Err("disk full".into())));
    let failed = TaskResult {
        outcome: Outcome::Failed {
            error: "sink: disk full".into(),
        },
        ..encoded(1)
    };
    let actions = drain(&mut c);
    assert!(actions.contains(&journaled(failed)), "{actions:?}");
    assert!(actions.contains(&Action::Failure {
        path: "1.jpg".into(),
        error: "sink: disk full".into()
    }));
    // An inline result without its bytes is a failure, not an empty file.
    c.handle_event(t1, result(encoded(2)));
    assert_eq!(c.failed(), 2);
    assert!(c.complete());
}

#[test]
fn a_written_output_is_checked_before_it_is_held_and_one_not_found_fails_its_image() {
    let t0 = Instant::now();
    let mut c = Collector::new(CollectorConfig::default(), t0);
    c.handle_event(t0, Event::BatchStart(start(3, Transport::Path)));
    drain(&mut c);
    c.handle_event(t0, result(written(0, "w")));
    let verify = |task: u64| Action::Verify {
        batch: BATCH,
        task,
        output_path: format!("{task}.jpg"),
        bytes: 100,
        size: (5, 5),
    };
    assert_eq!(effects(&mut c), vec![verify(0)]);
    // A copy while the first is checked: no second check, no ack yet.
    c.handle_event(t0, result(written(0, "w")));
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(effects(&mut c), vec![]);
    assert_eq!(c.done(), 0);
    let t1 = t0 + Duration::from_secs(2);
    let checked = |task, outcome| Event::Stored {
        batch: BATCH,
        task,
        outcome,
    };
    c.handle_event(t1, checked(0, Ok(100)));
    assert_eq!(effects(&mut c), vec![journaled(written(0, "w")), ack(&[0])]);
    // Not there: the image failed, with the reason, and is done.
    c.handle_event(t1, result(written(1, "w")));
    assert_eq!(effects(&mut c), vec![verify(1)]);
    c.handle_event(t1, checked(1, Err("1.jpg is not there".into())));
    let failed = TaskResult {
        outcome: Outcome::Failed {
            error: "sink: 1.jpg is not there".into(),
        },
        ..written(1, "w")
    };
    let actions = drain(&mut c);
    assert!(actions.contains(&journaled(failed)), "{actions:?}");
    // A worker's failure has nothing to check.
    let broken = TaskResult {
        outcome: Outcome::Failed {
            error: "corrupt".into(),
        },
        ..written(2, "w")
    };
    c.handle_event(t1, result(broken));
    assert!(!effects(&mut c)
        .iter()
        .any(|a| matches!(a, Action::Verify { .. })));
    assert_eq!((c.done(), c.failed()), (3, 2));
    assert!(c.complete());
}

#[test]
fn nothing_is_checked_when_told_not_to_or_when_the_tasks_touch_no_image() {
    let t0 = Instant::now();
    let synthetic = BatchStart {
        synthetic: true,
        ..start(1, Transport::Path)
    };
    for (config, start) in [
        (unverified(), start(1, Transport::Path)),
        (CollectorConfig::default(), synthetic),
    ] {
        let mut c = Collector::new(config, t0);
        c.handle_event(t0, Event::BatchStart(start));
        drain(&mut c);
        c.handle_event(t0, result(written(0, "w")));
        c.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(effects(&mut c), vec![journaled(written(0, "w")), ack(&[0])]);
    }
}

/// Feeds `c` a journal, as the run loop does: its header, each result,
/// the end.
fn restore(c: &mut Collector, results: Vec<TaskResult>, start: Option<BatchStart>, at: Instant) {
    let restored = Restored {
        batch: BATCH,
        started: at,
        start,
    };
    c.handle_event(at, Event::Restored(restored));
    for result in results {
        c.handle_event(at, Event::Replayed(result));
    }
    c.handle_event(at, Event::ReplayDone);
}

#[test]
fn a_journal_holding_every_result_finishes_the_batch_alone() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    let all = vec![written(0, "a"), written(1, "a")];
    restore(&mut c, all, Some(start(2, Transport::Path)), t0);
    c.handle_timeout(t0);
    assert_eq!(
        effects(&mut c),
        vec![
            Action::Begin(start(2, Transport::Path)),
            Action::Journal(JournalRecord::Resume),
        ],
        "nothing acknowledged before the ventilator speaks"
    );
    assert!(c.complete());
    let grace = CollectorConfig::default().batch_end_grace;
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + grace.min(Duration::from_secs(1)))
    );
    c.handle_timeout(t0 + grace);
    assert_eq!(
        effects(&mut c),
        vec![
            resynced(2, &[(0, 2)]),
            Action::Journal(JournalRecord::Remove),
            Action::Finished { confirmed: false }
        ]
    );
    assert_eq!(c.report().succeeded, 2);
}

#[test]
fn a_journal_with_every_result_answers_a_live_ventilator_first() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    let all = vec![written(0, "a"), written(1, "a")];
    restore(&mut c, all, Some(start(2, Transport::Path)), t0);
    drain(&mut c);
    c.handle_event(t0, Event::BatchStart(start(2, Transport::Path)));
    assert_eq!(effects(&mut c), vec![resynced(2, &[(0, 2)])]);
}

#[test]
fn a_journal_without_a_description_is_set_aside_for_a_fresh_start() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    restore(&mut c, vec![written(0, "a")], None, t0);
    c.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(effects(&mut c), vec![]);
    assert_eq!(c.done(), 0, "nothing taken from it");
    let t1 = t0 + Duration::from_secs(61);
    c.handle_event(t1, Event::BatchStart(start(2, Transport::Path)));
    assert_eq!(
        effects(&mut c),
        vec![
            Action::Begin(start(2, Transport::Path)),
            Action::Journal(JournalRecord::Start(start(2, Transport::Path))),
            resynced(2, &[]),
        ]
    );
    assert_eq!(c.started(), Some(t1));
}

#[test]
fn a_journal_of_another_batch_gives_way_to_the_ventilators() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    let other = BatchStart {
        batch: BATCH + 1,
        ..start(2, Transport::Path)
    };
    let old = Event::Restored(Restored {
        batch: BATCH + 1,
        started: t0,
        start: Some(other),
    });
    c.handle_event(t0, old);
    drain(&mut c);
    // This batch's result comes before the ventilator's word: kept, not stale.
    c.handle_event(t0, result(written(0, "a")));
    c.handle_event(t0, Event::BatchStart(start(2, Transport::Path)));
    let actions = effects(&mut c);
    assert_eq!(
        actions,
        vec![
            Action::Begin(start(2, Transport::Path)),
            Action::Journal(JournalRecord::Start(start(2, Transport::Path))),
            journaled(written(0, "a")),
            resynced(2, &[(0, 1)]),
        ]
    );
    assert_eq!(c.counts().stale, 0);
}

#[test]
fn repeated_warnings_are_rate_limited_with_a_count() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    for i in 0..1000 {
        let event = Event::Rejected {
            from: super::Peer::Worker,
            reason: "junk".into(),
        };
        c.handle_event(t0 + Duration::from_millis(i), event);
    }
    c.handle_event(
        t0 + Duration::from_secs(6),
        Event::Rejected {
            from: super::Peer::Worker,
            reason: "junk".into(),
        },
    );
    let logs: Vec<String> = drain(&mut c)
        .into_iter()
        .filter_map(|a| match a {
            Action::Log { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(
        logs[1].contains("999 similar warnings left out"),
        "{logs:?}"
    );
    assert_eq!(c.counts().rejected, 1001);
}

/// A worker restarted under the same id: its results count once each in
/// the per-worker figures of the events and the report.
#[test]
fn a_worker_restarted_under_the_same_id_is_counted_once() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_event(t0, Event::BatchStart(start(3, Transport::Path)));
    for task in [0, 1, 0, 1, 2] {
        c.handle_event(t0, result(written(task, "w")));
    }
    let report = c.report();
    assert_eq!(report.workers.len(), 1);
    assert_eq!(report.workers[0].tasks, 3);
    assert_eq!(c.worker_tasks().get("w"), Some(&3));
}

#[test]
fn a_new_watcher_gets_the_state_at_once() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    drain(&mut c);
    let published = |c: &mut Collector| -> Vec<events::Event> {
        drain(c)
            .into_iter()
            .filter_map(|a| match a {
                Action::Publish(e) => Some(e),
                _ => None,
            })
            .collect()
    };
    c.handle_event(t0, Event::Subscribed);
    assert_eq!(published(&mut c), vec![events::Event::Waiting]);

    c.handle_event(t0, Event::BatchStart(start(3, Transport::Path)));
    c.handle_event(t0, result(written(0, "w")));
    drain(&mut c);
    c.handle_event(t0, Event::Subscribed);
    assert_eq!(
        published(&mut c),
        vec![
            events::Event::BatchStarted {
                batch: BATCH,
                total: 3,
                ops: "blur:1".into(),
            },
            events::Event::Progress {
                done: 1,
                failed: 0,
                total: 3,
                workers: [("w".to_string(), 1)].into(),
            },
        ]
    );
}

/// Issue 16: at 354k results the resync was one 1.64 MB ack, over the
/// header limit, and the restarted ventilator waited for ever. It now goes
/// in spans of bounded size; acknowledgements too.
#[test]
fn no_answer_grows_with_the_batch() {
    let t0 = Instant::now();
    let config = CollectorConfig {
        resync_ranges: 2,
        ..unverified()
    };
    let mut c = Collector::new(config, t0);
    let total = MAX_ACK_IDS as u64 + 10;
    c.handle_event(t0, Event::BatchStart(start(total, Transport::Path)));
    drain(&mut c);
    // Every result but 3 and 5 and the last few, in one interval.
    for id in (0..total - 4).filter(|id| *id != 3 && *id != 5) {
        c.handle_event(t0, result(written(id, "a")));
    }
    c.handle_timeout(t0 + Duration::from_secs(1));
    let acks: Vec<usize> = effects(&mut c)
        .into_iter()
        .filter_map(|a| match a {
            Action::Ack { task_ids, .. } => Some(task_ids.len()),
            _ => None,
        })
        .collect();
    assert!(acks.iter().all(|n| *n <= MAX_ACK_IDS), "{acks:?}");
    assert_eq!(acks.iter().sum::<usize>() as u64, total - 6);
    // A restarted ventilator asks: two ranges a span.
    c.handle_event(t0, Event::BatchStart(start(total, Transport::Path)));
    let spans: Vec<Action> = effects(&mut c);
    let end = total - 4;
    assert_eq!(
        spans,
        vec![
            Action::Resync(Resync {
                batch: BATCH,
                from: 0,
                to: 6,
                held: vec![(0, 3), (4, 5)]
            }),
            Action::Resync(Resync {
                batch: BATCH,
                from: 6,
                to: total,
                held: vec![(6, end)]
            })
        ]
    );
}

fn idle_config(idle: Duration) -> CollectorConfig {
    CollectorConfig {
        idle_timeout: Some(idle),
        ..unverified()
    }
}

/// Issue 17: a sink restarted after the ventilator was gone waited for
/// ever. A live ventilator answers every hello; after `idle_timeout` of
/// silence an incomplete batch is given up, the journal kept.
#[test]
fn a_silent_ventilator_is_given_up_after_the_idle_timeout_and_the_journal_kept() {
    let t0 = Instant::now();
    let idle = Duration::from_secs(30);
    let mut c = Collector::new(idle_config(idle), t0);
    c.handle_event(t0, Event::BatchStart(start(3, Transport::Path)));
    c.handle_event(t0, result(written(0, "a")));
    drain(&mut c);
    // Results do not count: they may come from workers the ventilator left.
    let heard = t0 + Duration::from_secs(20);
    c.handle_event(heard, Event::Heartbeat);
    c.handle_event(heard + idle / 2, result(written(1, "a")));
    c.handle_timeout(heard + idle - Duration::from_millis(1));
    drain(&mut c);
    assert!(!c.finished());
    assert!(c.poll_timeout().is_some_and(|at| at <= heard + idle));
    c.handle_timeout(heard + idle);
    let actions = drain(&mut c);
    assert!(actions.contains(&Action::GaveUp), "{actions:?}");
    assert!(
        !actions.contains(&Action::Journal(JournalRecord::Remove)),
        "the journal stays for a rerun"
    );
    assert!(c.finished() && c.gave_up());
    assert_eq!(c.report().succeeded, 2);
}

#[test]
fn a_sink_that_never_hears_a_ventilator_gives_up_too() {
    let t0 = Instant::now();
    let idle = Duration::from_secs(30);
    let mut c = Collector::new(idle_config(idle), t0);
    c.handle_timeout(t0 + idle);
    assert!(drain(&mut c).contains(&Action::GaveUp));
    assert!(c.batch().is_none());
}

#[test]
fn a_complete_batch_ends_normally_even_when_the_ventilator_is_silent() {
    let t0 = Instant::now();
    // Shorter than the grace for the ventilator's word on the end.
    let idle = Duration::from_secs(1);
    let mut c = Collector::new(idle_config(idle), t0);
    c.handle_event(t0, Event::BatchStart(start(1, Transport::Path)));
    c.handle_event(t0, result(written(0, "a")));
    drain(&mut c);
    c.handle_timeout(t0 + idle);
    let actions = drain(&mut c);
    assert!(!actions.contains(&Action::GaveUp), "{actions:?}");
    let grace = CollectorConfig::default().batch_end_grace;
    c.handle_timeout(t0 + grace);
    assert!(drain(&mut c).contains(&Action::Finished { confirmed: false }));
    assert!(!c.gave_up());
}

/// Issue 17: a worker holding the secret made the sink plant files such
/// as `rogue/evil.sh`. An inline output must be the image its name
/// promises; one that is not is refused (not held, not acknowledged), so
/// the genuine result still counts.
#[test]
fn an_inline_output_that_is_not_the_promised_image_is_refused() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_event(t0, Event::BatchStart(start(1, Transport::Inline)));
    drain(&mut c);
    let script = b"#!/bin/sh\necho owned\n".to_vec();
    let forged = [
        ("rogue/evil.sh", script.clone()),
        ("0.png", script),
        ("0.png", png(6, 5)),
    ];
    for (path, bytes) in forged {
        let mut r = encoded(0);
        r.outcome = Outcome::Encoded {
            input_size: (10, 10),
            output_size: (5, 5),
            output_path: path.into(),
        };
        c.handle_event(
            t0,
            Event::Result {
                result: r,
                payload: Some(bytes),
            },
        );
        assert_eq!(effects(&mut c), vec![], "{path} refused");
    }
    assert_eq!(c.counts().rejected, 3);
    c.handle_event(
        t0,
        Event::Result {
            result: encoded(0),
            payload: Some(png(5, 5)),
        },
    );
    assert!(matches!(&effects(&mut c)[..], [Action::Store { .. }]));
}

#[test]
fn half_a_workers_in_flight_cap_is_acknowledged_at_once() {
    let t0 = Instant::now();
    let mut c = Collector::new(unverified(), t0);
    c.handle_timeout(t0);
    c.handle_event(t0, Event::BatchStart(start(100, Transport::Path)));
    drain(&mut c);
    let half = shared::protocol::MAX_IN_FLIGHT_PER_WORKER as u64 / 2;
    // Results arriving within one ack interval: acknowledged at the first
    // (the interval had passed), then only when half the cap waits.
    let mut acked = Vec::new();
    for task in 0..=half {
        c.handle_event(t0, result(written(task, "a")));
        for a in effects(&mut c) {
            if let Action::Ack { task_ids, .. } = a {
                acked.push(task_ids);
            }
        }
    }
    let expected: Vec<Vec<u64>> = vec![vec![0], (1..=half).collect()];
    assert_eq!(acked, expected);
}
