//! The report as a value, for code that wants it: `Config::run` returns it without exiting.

use std::time::Duration;

use graceful::{BoxError, Cause, Config, Flavor};

fn config() -> Config {
    Config::new()
        .timeout(Duration::from_secs(5))
        .flavor(Flavor::CurrentThread)
}

#[test]
fn every_task_error_is_kept_and_the_first_is_the_cause() {
    let report = config().run(|shutdown| async move {
        shutdown.spawn("first", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err::<(), BoxError>("disk full".into())
        });
        let second = shutdown.clone();
        shutdown.spawn("second", async move {
            // Fails during the drain, after the first failure started shutdown.
            second.cancelled().await;
            Err::<(), _>(std::io::Error::other("connection reset"))
        });
        shutdown.spawn("fine", async {});
    });

    assert_eq!(
        report.cause,
        Cause::TaskFailed {
            task: "first".into(),
            error: "disk full".into()
        }
    );
    let messages: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "task `first` failed: disk full",
            "task `second` failed: connection reset"
        ]
    );
    assert_eq!(report.exit_code(), 1);
    // Each said once: the first is the cause, the second a line of its own.
    assert_eq!(
        report.summary(),
        "graceful: shutdown failed (exit code 1): task `first` failed: disk full\n  \
         task `second` failed: connection reset"
    );
    let fine = report
        .tasks
        .iter()
        .find(|task| task.name == "fine")
        .expect("tallied");
    assert_eq!((fine.succeeded, fine.failed, fine.aborted), (1, 0, 0));
}

#[test]
fn a_requested_shutdown_runs_every_phase_and_is_clean() {
    let report = config()
        .drain_delay(Duration::from_millis(50))
        .run(|shutdown| async move {
            let worker = shutdown.clone();
            shutdown.spawn("worker", async move { worker.cancelled().await });
            shutdown.trigger("maintenance");
        });
    assert_eq!(report.cause, Cause::Requested("maintenance".into()));
    let phases: Vec<&str> = report.phases.iter().map(|phase| phase.name).collect();
    assert_eq!(phases, ["drain delay", "drain", "close"]);
    assert!(report.phases[0].elapsed >= Duration::from_millis(50));
    assert!(report.is_clean());
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn main_returning_an_error_is_the_cause_and_fails_the_exit() {
    let report = config().run(|_| async { Err::<(), _>("config file missing") });
    assert_eq!(
        report.cause,
        Cause::MainFailed("config file missing".into())
    );
    assert_eq!(report.main_error.as_deref(), Some("config file missing"));
    assert_eq!(report.exit_code(), 1);
    assert!(
        report
            .summary()
            .contains("main failed: config file missing"),
        "{}",
        report.summary()
    );
}

#[test]
fn a_panic_message_is_kept() {
    let report = config().run(|shutdown| async move {
        let items: Vec<u32> = Vec::new();
        shutdown.spawn("handler", async move {
            let index = 7;
            assert!(index < items.len(), "index {index} out of bounds");
        });
    });
    assert_eq!(
        report.cause,
        Cause::TaskPanicked {
            task: "handler".into(),
            message: "index 7 out of bounds".into()
        }
    );
}

#[test]
fn until_shutdown_stops_taking_work_but_never_cancels_work_taken() {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let (done_sender, done) = std::sync::mpsc::channel::<u32>();
    let report = config().run(|shutdown| async move {
        for job in 0..3 {
            sender.send(job).expect("queue open");
        }
        let worker = shutdown.clone();
        shutdown.spawn("worker", async move {
            while let Some(Some(job)) = worker.until_shutdown(receiver.recv()).await {
                if job == 0 {
                    // Shutdown begins while this job runs; the job still completes.
                    worker.trigger("deploy");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                done_sender.send(job).expect("test alive");
            }
        });
    });
    assert!(report.is_clean(), "{}", report.summary());
    let done: Vec<u32> = done.try_iter().collect();
    assert_eq!(done, [0], "job 0 was finished, jobs 1 and 2 were not taken");
}

#[test]
fn a_task_aborted_through_its_handle_leaves_no_straggler() {
    let report = config().run(|shutdown| async move {
        let handle = shutdown.spawn("connection", std::future::pending::<()>());
        handle.abort();
        let _ = handle.await;
        shutdown.trigger("done");
    });
    assert!(report.is_clean(), "{}", report.summary());
    assert!(report.stragglers.is_empty());
    let connection = report
        .tasks
        .iter()
        .find(|task| task.name == "connection")
        .expect("tallied");
    assert_eq!(connection.aborted, 1);
}

#[test]
fn an_absurd_timeout_is_a_startup_failure_naming_the_setting() {
    let report = Config::new().timeout(Duration::MAX).run(|_| async {});
    let Cause::Startup(error) = &report.cause else {
        panic!("not a startup failure: {:?}", report.cause);
    };
    assert!(
        error.starts_with("`timeout` (of #[graceful::main], or Config::timeout) is out of range"),
        "{error}"
    );
    assert_eq!(report.exit_code(), 1);
    // A service that never started did not fail a shutdown.
    assert!(
        report.summary().starts_with(
            "graceful: could not start (exit code 1): `timeout` (of #[graceful::main]"
        ),
        "{}",
        report.summary()
    );
}

#[test]
fn once_run_has_returned_its_deadline_can_never_end_the_process() {
    // The body is cut at the deadline and panics as it is dropped; `run` still returns a
    // report, and nothing of it is left armed to end this process (the test binary) later.
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("dropped in anger");
        }
    }
    let deadline = Duration::from_millis(300);
    let report = Config::new()
        .timeout(deadline)
        .flavor(Flavor::CurrentThread)
        .run(|shutdown| async move {
            let _local = PanicsOnDrop;
            shutdown.trigger("test");
            std::future::pending::<()>().await;
        });
    assert_eq!(report.exit_code(), 1);
    assert_eq!(
        report.drop_panics,
        ["main's body panicked when dropped at the deadline: dropped in anger"]
    );
    // Nothing to wait for but time: well past where the watchdog would have fired.
    std::thread::sleep(deadline + Duration::from_secs(1));
}

#[tokio::test]
async fn run_inside_a_runtime_is_a_startup_failure_that_says_why() {
    let report = config().run(|_| async {});
    let Cause::Startup(error) = &report.cause else {
        panic!("not a startup failure: {:?}", report.cause);
    };
    assert!(
        error.starts_with("Config::run builds its own Tokio runtime, and was called inside one"),
        "{error}"
    );
}
