use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const MB: u64 = 1 << 20;

fn chain(text: &str) -> Chain {
    Chain::parse(text).expect("chain")
}

fn rgb(width: u32, height: u32) -> Layout {
    Layout {
        width,
        height,
        channels: 3,
        bytes_per_channel: 1,
    }
}

#[test]
fn the_estimate_grows_with_the_image_and_the_chain() {
    let big = rgb(12_000, 8_000);
    let jpeg = OutputFormat::Jpeg;
    let plain = estimate_peak(0, big, true, &chain(""), jpeg);
    let blur = estimate_peak(0, big, true, &chain("blur:3"), jpeg);
    let sharp = estimate_peak(0, big, true, &chain("blur:3,sharpen:1"), jpeg);
    assert!(plain >= big.bytes() * 2, "{}", human(plain));
    assert!(plain < blur && blur < sharp, "{plain} {blur} {sharp}");
    // 288 MB of RGB through an unsharp mask needs over a gigabyte.
    assert!(sharp > 1_300 * MB, "{}", human(sharp));
    // Gray first: every later step works on a third of the bytes.
    let gray = estimate_peak(0, big, true, &chain("grayscale,blur:3,sharpen:1"), jpeg);
    assert!(gray < sharp / 2, "{} {}", human(gray), human(sharp));
    // A leading shrink bounds the rest by the smaller image.
    let thumb = estimate_peak(0, big, true, &chain("resize:800,blur:3,sharpen:1"), jpeg);
    assert!(thumb < plain, "{} {}", human(thumb), human(plain));
    // The file held in memory counts.
    assert_eq!(
        estimate_peak(10 * MB, big, true, &chain(""), jpeg),
        plain + 10 * MB
    );
}

#[test]
fn layouts_follow_what_the_ops_make() {
    let deep = Layout {
        width: 100,
        height: 50,
        channels: 3,
        bytes_per_channel: 2,
    };
    let after = |l: Layout, op: &str| l.after(&chain(op).0[0]);
    assert_eq!(
        after(deep, "rotate:90"),
        Layout {
            width: 50,
            height: 100,
            ..deep
        }
    );
    assert_eq!(after(deep, "grayscale").channels, 1);
    assert_eq!(after(deep, "blur:2"), deep, "16-bit kept");
    let sharp = after(deep, "sharpen:1");
    assert_eq!((sharp.channels, sharp.bytes_per_channel), (4, 1));
    assert_eq!(after(rgb(10, 10), "sharpen:1"), rgb(10, 10));
    assert_eq!(after(rgb(10, 10), "edges").channels, 1);
    assert_eq!(after(rgb(1000, 500), "resize:100"), rgb(100, 50));
}

#[test]
fn sizes_read_as_people_write_them() {
    assert_eq!(human(1_288_490_189), "1.2 GB");
    assert_eq!(human(350 * MB), "350 MB");
    assert_eq!(human(12 << 10), "12 KB");
    assert_eq!(human(7), "7 B");
}

#[test]
fn a_request_over_the_budget_is_refused_and_one_that_fits_waits_its_turn() {
    let mut a = Admission::new(100);
    assert_eq!(a.request(101).1, Decision::Refused);
    assert_eq!(a.request(60).1, Decision::Admitted);
    let (big, d) = a.request(70);
    assert_eq!(d, Decision::Wait);
    // A small one that would fit waits behind the big one.
    let (small, d) = a.request(10);
    assert_eq!(d, Decision::Wait);
    assert!(!a.poll(small), "not before the big one");
    assert!(!a.poll(big), "no room yet");
    a.release(60);
    assert!(a.poll(big));
    assert!(a.poll(small), "fits beside it");
    assert_eq!(a.in_use(), 80);
}

/// One step of a random workload on [`Admission`].
#[derive(Debug, Clone)]
enum Step {
    Request(u64),
    /// Release the admitted task with this index (modulo their count).
    Release(usize),
    /// Poll every waiting ticket, as woken threads do.
    PollAll,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..=120).prop_map(Step::Request),
        any::<usize>().prop_map(Step::Release),
        Just(Step::PollAll),
    ]
}

/// What the model test knows of an [`Admission`] it drives.
#[derive(Default)]
struct Model {
    admitted: Vec<(Ticket, u64)>,
    waiting: BTreeMap<Ticket, u64>,
    last_admitted: Option<Ticket>,
}

impl Model {
    fn admit(&mut self, t: Ticket, bytes: u64) -> Result<(), TestCaseError> {
        if let Some(last) = self.last_admitted {
            prop_assert!(t > last, "ticket {} admitted after {}", t, last);
        }
        self.last_admitted = Some(t);
        self.admitted.push((t, bytes));
        Ok(())
    }

    /// Polls every waiting ticket, as woken threads do.
    fn poll_all(&mut self, a: &mut Admission) -> Result<(), TestCaseError> {
        let tickets: Vec<_> = self.waiting.keys().copied().collect();
        for t in tickets {
            if a.poll(t) {
                let bytes = self.waiting.remove(&t).unwrap_or_default();
                self.admit(t, bytes)?;
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The sum admitted never exceeds the budget, requests are admitted in
    /// arrival order, only those over the budget are refused, and once all
    /// is released every waiting request is admitted in the end.
    #[test]
    fn admission_keeps_the_budget_order_and_progress(steps in prop::collection::vec(step(), 1..80)) {
        const BUDGET: u64 = 100;
        let mut a = Admission::new(BUDGET);
        let mut m = Model::default();
        for s in steps {
            match s {
                Step::Request(bytes) => match a.request(bytes) {
                    (_, Decision::Refused) => prop_assert!(bytes > BUDGET),
                    (t, Decision::Admitted) => {
                        prop_assert!(m.waiting.is_empty());
                        m.admit(t, bytes)?;
                    }
                    (t, Decision::Wait) => {
                        prop_assert!(bytes <= BUDGET);
                        m.waiting.insert(t, bytes);
                    }
                },
                Step::Release(i) if !m.admitted.is_empty() => {
                    let n = m.admitted.len();
                    let (_, bytes) = m.admitted.remove(i % n);
                    a.release(bytes);
                }
                Step::Release(_) => {}
                Step::PollAll => m.poll_all(&mut a)?,
            }
            let sum: u64 = m.admitted.iter().map(|(_, b)| b).sum();
            prop_assert_eq!(a.in_use(), sum);
            prop_assert!(sum <= BUDGET);
        }
        // Progress: release everything, poll, repeat; the queue drains.
        while !m.waiting.is_empty() {
            for (_, bytes) in m.admitted.drain(..) {
                a.release(bytes);
            }
            let before = m.waiting.len();
            m.poll_all(&mut a)?;
            prop_assert!(m.waiting.len() < before, "stuck: {:?}", m.waiting);
        }
    }
}

/// Two threads with two images that do not fit together run them one
/// after the other; a third over the budget is refused at once.
#[test]
fn threads_run_what_does_not_fit_together_one_after_the_other() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    let budget = Arc::new(Budget::new(100));
    let held = Arc::new(AtomicU64::new(0));
    let most = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (budget, held, most, start) = (
                Arc::clone(&budget),
                Arc::clone(&held),
                Arc::clone(&most),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..50 {
                    let _r = budget.reserve(60).expect("fits alone");
                    let now = held.fetch_add(60, Ordering::SeqCst) + 60;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    held.fetch_sub(60, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(most.load(Ordering::SeqCst), 60, "never two at once");
    let err = budget.reserve(101).expect_err("over the budget");
    assert!(err.contains("memory budget of 100 B"), "{err}");
}

/// A task stacked on another one on the same thread (rayon's work
/// stealing inside a parallel loop) is admitted at once: waiting there
/// would wait for ever for the task below it.
#[test]
fn a_task_nested_on_a_thread_that_holds_memory_does_not_wait() {
    let budget = Budget::new(100);
    let below = budget.reserve(60).expect("first");
    let nested = budget
        .reserve(60)
        .expect("admitted at once, over the budget");
    assert_eq!(budget.in_use(), 120);
    assert!(
        budget.reserve(101).is_err(),
        "still never more than the budget alone"
    );
    drop(nested);
    drop(below);
    assert_eq!(budget.in_use(), 0);
    // Released, the thread waits as any other again: a request that fits
    // is admitted normally.
    let again = budget.reserve(100).expect("fits");
    drop(again);
}

/// Two waiting requests that fit together are both admitted by one release.
#[test]
fn one_release_admits_every_waiting_request_that_fits() {
    use std::sync::{Arc, Barrier};
    let budget = Arc::new(Budget::new(100));
    let both = Arc::new(Barrier::new(2));
    let whole = budget.reserve(100).expect("whole budget");
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (budget, both) = (Arc::clone(&budget), Arc::clone(&both));
            std::thread::spawn(move || {
                let r = budget.reserve(50).expect("fits");
                // Both are held at once before either lets go.
                both.wait();
                drop(r);
            })
        })
        .collect();
    while budget.lock().waiting.len() < 2 {
        std::thread::yield_now();
    }
    drop(whole);
    for w in waiters {
        w.join().expect("waiter");
    }
    assert_eq!(budget.in_use(), 0);
}
