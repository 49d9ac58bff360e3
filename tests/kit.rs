//! The test kit as a user meets it: a handler and a worker unit-tested with a handle of their
//! own, services run in-process (the sequence, the resources chosen, a second signal, the
//! paused clock), and parallel runs that a real SIGTERM to the test process does not reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use graceful::test::{Service, Step};
use graceful::{BoxError, Cause, Close, Config, ResourceOutcome, Shutdown, Signal};
use tower::ServiceExt;

async fn get(router: &axum::Router, path: &str) -> StatusCode {
    let request = Request::get(path).body(Body::empty()).unwrap();
    router.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_router_is_unit_tested_with_a_handle_of_its_own() {
    let (shutdown, control) = graceful::test::shutdown();
    let router = axum::Router::new().merge(graceful::axum::health(&shutdown));
    assert_eq!(get(&router, "/readyz").await, StatusCode::OK);
    control.signal(Signal::Terminate);
    assert_eq!(
        get(&router, "/readyz").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&router, "/livez").await, StatusCode::OK);
    assert_eq!(control.cause(), Some(Cause::Signal(Signal::Terminate)));
    // Nothing moves it on by itself: the cancel is the test's.
    assert!(!shutdown.is_cancelled());
    control.cancel();
    assert!(shutdown.is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_finishes_the_job_it_took_and_takes_no_more_after_the_cancel() {
    let (shutdown, control) = graceful::test::shutdown();
    let (jobs, mut queue) = tokio::sync::mpsc::channel::<u64>(16);
    let (started, mut job_started) = tokio::sync::mpsc::channel::<u64>(16);
    let done = Arc::new(AtomicUsize::new(0));
    let worker = shutdown.clone();
    let finished = done.clone();
    let handle = shutdown.spawn("worker", async move {
        while let Some(Some(ms)) = worker.until_shutdown(queue.recv()).await {
            started.send(ms).await.unwrap();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            finished.fetch_add(1, Ordering::SeqCst);
        }
    });
    jobs.send(300).await.unwrap();
    assert_eq!(job_started.recv().await, Some(300));
    control.cancel();
    jobs.send(1).await.unwrap(); // accepted by the channel, never taken
    handle.await.unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

/// Counts its closes; with `flush_now`, counts that too.
struct Probe {
    closes: Arc<AtomicUsize>,
    flushes: Arc<AtomicUsize>,
    close_takes: Duration,
}

impl Close for Probe {
    async fn close(&self) -> Result<(), BoxError> {
        tokio::time::sleep(self.close_takes).await;
        self.closes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn flush_now(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe(close_takes: Duration) -> (Probe, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (closes, flushes) = (Arc::default(), Arc::default());
    let probe = Probe {
        closes: Arc::clone(&closes),
        flushes: Arc::clone(&flushes),
        close_takes,
    };
    (probe, closes, flushes)
}

#[graceful::service]
async fn three_resources(shutdown: Shutdown) -> Result<(), BoxError> {
    #[resource(order = 1, name = "db")]
    let db = probe(Duration::from_millis(10)).0;
    #[resource(order = 2, name = "cache")]
    let cache = probe(Duration::ZERO).0;
    #[resource(order = 3, name = "publisher", timeout = "2s")]
    let publisher = probe(Duration::from_millis(50)).0;
    let _ = (&*db, &*cache, &*publisher);
    shutdown.spawn("http", shutdown.cancelled());
    let worker = shutdown.clone();
    shutdown.spawn("worker", async move {
        worker.cancelled().await;
        tokio::time::sleep(Duration::from_millis(20)).await; // the job in flight
    });
    Ok(())
}

#[tokio::test]
async fn the_sequence_of_a_process_runs_in_process_with_main_s_resources() {
    let config = Config::new().drain_delay(Duration::from_millis(100));
    let report = Service::new(config)
        .run(three_resources, |control| async move {
            control.reached(Step::Running).await;
            let readiness = control.shutdown().readiness();
            assert!(readiness.is_ready());
            control.signal(Signal::Terminate);
            assert!(!readiness.is_ready());
            control.reached(Step::DrainDelay).await;
            assert!(!control.shutdown().is_cancelled(), "still serving");
            control.reached(Step::Draining).await;
            assert!(control.shutdown().is_cancelled());
            control.reached(Step::Finished).await;
        })
        .await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.cause, Cause::Signal(Signal::Terminate));
    assert_eq!(report.close_order(), ["publisher", "cache", "db"]);
    assert_eq!(report.resource("publisher"), Some(&ResourceOutcome::Closed));
    assert_eq!(report.task("worker").unwrap().succeeded, 1);
    let phases: Vec<_> = report.phases.iter().map(|phase| phase.name).collect();
    assert_eq!(phases, ["drain delay", "drain", "close"]);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_plain_test_runs_it_on_a_runtime_of_its_own() {
    let report = Service::new(Config::new()).run_blocking(three_resources, |control| async move {
        control.signal(Signal::Interrupt);
    });
    assert_eq!(report.cause, Cause::Signal(Signal::Interrupt));
    assert_eq!(report.close_order(), ["publisher", "cache", "db"]);
    assert_eq!(report.exit_code(), 0);
}

#[graceful::service]
async fn with_telemetry(shutdown: Shutdown, telemetry: Probe) {
    #[resource(telemetry)]
    let telemetry = telemetry;
    let _ = &*telemetry;
    shutdown.spawn("stubborn", std::future::pending::<()>());
}

#[tokio::test]
async fn a_second_signal_ends_the_run_at_once_with_a_report_and_flushes_the_telemetry() {
    let (telemetry, closes, flushes) = probe(Duration::ZERO);
    let report = Service::new(Config::new())
        .run(
            |shutdown| with_telemetry(shutdown, telemetry),
            |control| async move {
                control.reached(Step::Running).await;
                control.signal(Signal::Terminate);
                control.reached(Step::Draining).await;
                control.signal(Signal::Interrupt);
            },
        )
        .await;
    assert_eq!(report.forced, Some(Signal::Interrupt));
    assert_eq!(report.exit_code(), 130);
    assert_eq!(report.cause, Cause::Signal(Signal::Terminate));
    assert_eq!(report.aborted(), ["stubborn"]);
    assert!(
        report.summary().starts_with(
            "graceful: exited at once (exit code 130): received SIGINT again, while shutting down (received SIGTERM)"
        ),
        "{report}"
    );
    assert_eq!(
        flushes.load(Ordering::SeqCst),
        1,
        "flush_now, as a process would"
    );
    assert_eq!(closes.load(Ordering::SeqCst), 0, "and no close");
}

#[tokio::test]
async fn a_failing_task_is_the_cause_and_the_exit_code() {
    let report = Service::new(Config::new())
        .run(
            |shutdown| async move {
                shutdown.spawn("importer", async { Err::<(), _>("disk full") });
                shutdown.spawn("http", shutdown.cancelled());
            },
            |_| async {},
        )
        .await;
    assert_eq!(
        report.cause,
        Cause::TaskFailed {
            task: "importer".into(),
            error: "disk full".into()
        }
    );
    assert_eq!(report.task("http").unwrap().succeeded, 1);
    assert_eq!(report.exit_code(), 1);
}

#[graceful::service]
async fn with_stuck_task(shutdown: Shutdown, db: Probe) {
    #[resource(timeout = "2s")]
    let db = db;
    let _ = &*db;
    shutdown.spawn("stuck", std::future::pending::<()>());
}

/// A paused clock: a 20 s drain delay, a task that never stops (aborted at the drain's
/// deadline) and a close that takes 1 s of the clock's time (its timer on the runtime, where
/// a paused clock moves), within a 25 s deadline: no wall time to speak of.
#[tokio::test(start_paused = true)]
async fn a_drain_delay_and_a_deadline_on_the_paused_clock_take_no_wall_time() {
    let wall = std::time::Instant::now();
    let (db, closes, _) = probe(Duration::from_secs(1));
    let config = Config::new()
        .timeout(Duration::from_secs(25))
        .drain_delay(Duration::from_secs(20));
    let report = Service::new(config)
        .run(
            |shutdown| with_stuck_task(shutdown, db),
            |control| async move {
                control.reached(Step::Running).await;
                let started = tokio::time::Instant::now();
                control.signal(Signal::Terminate);
                control.reached(Step::Draining).await;
                assert_eq!(started.elapsed(), Duration::from_secs(20));
            },
        )
        .await;
    let wall = wall.elapsed();
    assert_eq!(report.aborted(), ["stuck"]);
    assert_eq!(report.resource("db"), Some(&ResourceOutcome::Closed));
    assert_eq!(closes.load(Ordering::SeqCst), 1);
    assert!(report.elapsed >= Duration::from_secs(23), "{report:?}");
    assert!(report.elapsed <= Duration::from_secs(25), "{report:?}");
    assert_eq!(report.exit_code(), 1);
    // 23 s and more of the clock's time; a generous bound on the wall's (it takes milliseconds).
    assert!(wall < Duration::from_secs(5), "took {wall:?} of wall time");
}

#[derive(Clone, Debug, PartialEq)]
struct Settings(String);
impl Close for Settings {}

#[graceful::resource(order = 1)]
async fn settings() -> Settings {
    Settings("from the function".into())
}

#[derive(Clone, Debug, PartialEq)]
struct Pool(String);
impl Close for Pool {}

#[graceful::resource(order = 2)]
async fn pool(settings: Settings) -> Pool {
    Pool(format!("pool of {}", settings.0))
}

struct Unasked;
impl Close for Unasked {}

/// Linked into this test binary, and asked for by no test: it must never open.
#[graceful::resource(order = 3)]
async fn unasked() -> Unasked {
    panic!("a resource function the test did not ask for was opened")
}

async fn pool_of(shutdown: &Shutdown) -> Option<Pool> {
    shutdown.resource::<Pool>().map(|pool| Pool::clone(&pool))
}

#[tokio::test]
async fn a_test_opens_the_resource_functions_it_names_with_what_they_take() {
    let (seen, saw) = tokio::sync::oneshot::channel();
    let report = Service::new(Config::new())
        .resource::<Pool>()
        .run(
            |shutdown| async move {
                let _ = seen.send(pool_of(&shutdown).await);
                shutdown.trigger("done");
            },
            |_| async {},
        )
        .await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        saw.await.unwrap(),
        Some(Pool("pool of from the function".into()))
    );
    assert_eq!(report.close_order(), ["pool", "settings"]);
}

#[tokio::test]
async fn a_supplied_value_takes_the_place_of_its_function() {
    let (seen, saw) = tokio::sync::oneshot::channel();
    let report = Service::new(Config::new())
        .provide(Settings("supplied".into()))
        .resource::<Pool>()
        .run(
            |shutdown| async move {
                let settings = shutdown.resource::<Settings>().map(|s| Settings::clone(&s));
                let _ = seen.send((settings, pool_of(&shutdown).await));
                shutdown.trigger("done");
            },
            |_| async {},
        )
        .await;
    assert!(report.is_clean(), "{report}");
    let (settings, pool) = saw.await.unwrap();
    assert_eq!(settings, Some(Settings("supplied".into())));
    assert_eq!(pool, Some(Pool("pool of supplied".into())));
    assert_eq!(
        report.close_order(),
        ["pool"],
        "what the test supplies is its own"
    );
}

#[tokio::test]
async fn without_a_name_no_resource_function_opens_and_an_unknown_one_is_a_startup_failure() {
    let report = Service::new(Config::new())
        .run(
            |shutdown| async move {
                assert!(shutdown.resource::<Settings>().is_none());
                shutdown.trigger("done");
            },
            |_| async {},
        )
        .await;
    assert!(report.is_clean(), "{report}");
    assert!(report.resources.is_empty());

    let report = Service::new(Config::new())
        .resource::<u8>()
        .run(|_shutdown| async {}, |_| async {})
        .await;
    let Cause::Startup(error) = &report.cause else {
        panic!("{report}")
    };
    assert!(
        error.starts_with("the test asks for resource `u8`"),
        "{error}"
    );
    assert!(error.contains("`pool`: `"), "{error}");
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test]
async fn a_setting_is_checked_as_at_startup_and_the_environment_is_not_read() {
    let report = Service::new(Config::new().timeout(Duration::ZERO))
        .run(|_shutdown| async {}, |_| async {})
        .await;
    assert!(
        matches!(&report.cause, Cause::Startup(error) if error.contains("longer than zero")),
        "{report}"
    );
}

/// Two services run in parallel in this test binary while a real SIGTERM is sent to the test
/// process: the test's own listener hears it (the binary keeps its signal behaviour: no
/// handler of graceful's is installed), and neither service does.
#[cfg(unix)]
#[test]
fn parallel_runs_do_not_hear_a_real_sigterm_sent_to_the_test_process() {
    use tokio::signal::unix::{SignalKind, signal};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sigterm = runtime
        .block_on(async { signal(SignalKind::terminate()) })
        .unwrap();
    let (ready, all_ready) = std::sync::mpsc::channel();
    let (sent, _) = tokio::sync::watch::channel(false);
    let runs: Vec<_> = (0..2)
        .map(|run| {
            let ready = ready.clone();
            let mut heard = sent.subscribe();
            std::thread::spawn(move || {
                Service::new(Config::new()).run_blocking(
                    |shutdown| async move {
                        shutdown.spawn("http", shutdown.cancelled());
                    },
                    move |control| async move {
                        control.reached(Step::Running).await;
                        ready.send(()).unwrap();
                        heard.wait_for(|sent| *sent).await.unwrap();
                        assert_eq!(control.cause(), None, "run {run} heard the signal");
                        assert_eq!(control.step(), Step::Running);
                        control.shutdown().trigger(format!("run {run} over"));
                    },
                )
            })
        })
        .collect();
    for _ in 0..2 {
        all_ready.recv().unwrap();
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), sigterm.recv())
            .await
            .expect("the test's own listener hears the SIGTERM");
        // Something that must not happen: give a handler that would deliver it to a run (on a
        // thread of its own) time to do so.
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    sent.send_replace(true);
    for (run, handle) in runs.into_iter().enumerate() {
        let report = handle.join().expect("the run's test part passed");
        assert_eq!(report.cause, Cause::Requested(format!("run {run} over")));
        assert_eq!(report.exit_code(), 0);
    }
}

#[graceful::service]
async fn slow_then_last(shutdown: Shutdown, slow: Probe, last: Probe) {
    #[resource(order = 1)]
    let last = last;
    #[resource(order = 2)]
    let slow = slow;
    let _ = (&*slow, &*last, shutdown);
}

/// A second signal while a resource closes ends the run there: the close in flight is
/// abandoned and no further resource closes, as when a process exits.
#[tokio::test(start_paused = true)]
async fn a_second_signal_during_the_closes_stops_them_there() {
    let (slow, slow_closes, _) = probe(Duration::from_secs(10));
    let (last, last_closes, _) = probe(Duration::ZERO);
    let report = Service::new(Config::new())
        .run(
            |shutdown| slow_then_last(shutdown, slow, last),
            |control| async move {
                control.signal(Signal::Terminate);
                control.reached(Step::Closing).await;
                tokio::time::sleep(Duration::from_secs(1)).await; // into `slow`'s close
                control.signal(Signal::Terminate);
            },
        )
        .await;
    assert_eq!(report.exit_code(), 143);
    assert_eq!(report.close_order(), ["slow", "last"]);
    assert_eq!(report.resource("slow"), Some(&ResourceOutcome::Abandoned));
    assert_eq!(report.resource("last"), Some(&ResourceOutcome::Abandoned));
    tokio::time::sleep(Duration::from_secs(60)).await; // long past `slow`'s close
    assert_eq!(slow_closes.load(Ordering::SeqCst), 0, "abandoned");
    assert_eq!(last_closes.load(Ordering::SeqCst), 0, "never started");
}

/// Holds the handle, as a resource that spawns its own flusher does: a cycle through the
/// run's state unless the run lets go of its resources.
struct HoldsHandle {
    _shutdown: Shutdown,
    dropped: Arc<AtomicUsize>,
}
impl Close for HoldsHandle {}
impl Drop for HoldsHandle {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[graceful::service]
async fn holding_the_handle(shutdown: Shutdown, dropped: Arc<AtomicUsize>) {
    #[resource]
    let holder = HoldsHandle {
        _shutdown: shutdown.clone(),
        dropped,
    };
    let _ = &*holder;
    let ticker = shutdown.clone();
    shutdown.spawn("ticker", async move {
        while ticker
            .until_shutdown(tokio::time::sleep(Duration::from_millis(10)))
            .await
            .is_some()
        {}
        std::future::pending::<()>().await; // never stops by itself
    });
}

#[tokio::test(start_paused = true)]
async fn a_forced_run_lets_go_of_its_resources_and_names_main_still_serving() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let held = dropped.clone();
    let report = Service::new(Config::new())
        .run(
            |shutdown| async move {
                holding_the_handle(shutdown.clone(), held).await;
                shutdown.cancelled().await;
                std::future::pending::<()>().await; // main as a server that does not stop
            },
            |control| async move {
                control.reached(Step::Running).await;
                control.signal(Signal::Terminate);
                control.reached(Step::Draining).await;
                control.signal(Signal::Terminate);
            },
        )
        .await;
    assert_eq!(report.aborted(), ["main", "ticker"]);
    assert_eq!(report.resource("holder"), Some(&ResourceOutcome::Abandoned));
    drop(report);
    tokio::task::yield_now().await; // the aborted ticker's drop
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "no cycle keeps it alive");
}

#[tokio::test(start_paused = true)]
async fn a_run_dropped_by_the_test_s_own_timeout_stops_its_tasks_and_lets_go() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let held = dropped.clone();
    let run = Service::new(Config::new())
        .run(|shutdown| holding_the_handle(shutdown, held), |_| async {});
    assert!(
        tokio::time::timeout(Duration::from_secs(1), run)
            .await
            .is_err()
    );
    tokio::task::yield_now().await;
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "its resource is let go");
}

struct SlowToOpen;
impl Close for SlowToOpen {}

#[graceful::resource(order = 4)]
async fn slow_to_open() -> SlowToOpen {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    SlowToOpen
}

#[tokio::test(start_paused = true)]
async fn a_forced_run_names_the_resource_function_still_opening() {
    let report = Service::new(Config::new())
        .resource::<SlowToOpen>()
        .run(
            |_shutdown| async {},
            |control| async move {
                assert_eq!(control.step(), Step::Starting);
                control.signal(Signal::Terminate);
                control.signal(Signal::Terminate);
            },
        )
        .await;
    assert_eq!(report.aborted(), ["slow_to_open (opening)"]);
    assert_eq!(report.exit_code(), 143);
}

/// The paused clock stamps the trigger wherever it comes from: a signal from a thread outside
/// the runtime, an hour of the clock into the run, still gives a 5 s drain delay.
#[tokio::test(start_paused = true)]
async fn a_signal_from_another_thread_is_on_the_paused_clock() {
    let config = Config::new().drain_delay(Duration::from_secs(5));
    let report = Service::new(config)
        .run(
            |shutdown| async move {
                shutdown.spawn("http", shutdown.cancelled());
            },
            |control| async move {
                control.reached(Step::Running).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                let from_a_thread = control.clone();
                std::thread::spawn(move || from_a_thread.signal(Signal::Terminate))
                    .join()
                    .unwrap();
            },
        )
        .await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.phases[0].name, "drain delay");
    assert_eq!(report.phases[0].elapsed, Duration::from_secs(5));
}

#[tokio::test]
async fn a_handle_of_its_own_moves_through_the_steps_the_test_calls_for() {
    let (shutdown, control) = graceful::test::shutdown();
    let stuck = shutdown.spawn("stuck", std::future::pending::<()>());
    assert_eq!(control.step(), Step::Running);
    control.signal(Signal::Terminate);
    control.reached(Step::DrainDelay).await;
    control.cancel();
    control.reached(Step::Draining).await;
    control.signal(Signal::Terminate);
    control.reached(Step::Finished).await;
    assert!(
        stuck.await.unwrap_err().is_cancelled(),
        "its tasks stop there"
    );
}

#[graceful::service]
async fn slow_close(shutdown: Shutdown, slow: Probe) {
    #[resource]
    let slow = slow;
    let _ = &*slow;
    shutdown.trigger("done");
}

/// On the real clock the closes run on a thread of tokio's blocking pool: a second signal
/// stops the one closing at its next `.await` all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_a_close_on_a_blocking_thread_at_its_next_await() {
    let (slow, closes, _) = probe(Duration::from_millis(600));
    let report = Service::new(Config::new())
        .run(
            |shutdown| slow_close(shutdown, slow),
            |control| async move {
                control.reached(Step::Closing).await;
                control.signal(Signal::Terminate); // while already shutting down (`trigger`)
                control.signal(Signal::Terminate); // the one that forces
            },
        )
        .await;
    assert_eq!(report.exit_code(), 143);
    assert_eq!(report.resource("slow"), Some(&ResourceOutcome::Abandoned));
    // Something that must not happen: give the close the time it would have taken, and more.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(closes.load(Ordering::SeqCst), 0, "stopped at its `.await`");
}

/// `triggered()` is the trigger as a future: at the signal, before the drain delay's end.
#[tokio::test(start_paused = true)]
async fn triggered_resolves_at_the_trigger_while_the_drain_delay_still_serves() {
    let config = Config::new().drain_delay(Duration::from_secs(10));
    let report = Service::new(config)
        .run(
            |shutdown| async move {
                shutdown.spawn("http", shutdown.cancelled());
            },
            |control| async move {
                let shutdown = control.shutdown();
                let triggered = shutdown.triggered();
                control.reached(Step::Running).await;
                let signalled = tokio::time::Instant::now();
                control.signal(Signal::Terminate);
                triggered.await;
                assert_eq!(signalled.elapsed(), Duration::ZERO);
                assert!(!shutdown.is_cancelled(), "still serving");
            },
        )
        .await;
    assert!(report.is_clean(), "{report}");
}
