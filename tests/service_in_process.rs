//! The example service's shutdown, tested in-process with `graceful::test`, next to the
//! process-level tests in `tests/service.rs` (a real process, a real SIGTERM): the same body
//! (`app::serve`), the database and audit resource functions on a SQLite file of the test's
//! own, settings supplied by the test, and a signal delivered by it. The example's modules are
//! compiled into this test as they are; its telemetry is not (it installs a global subscriber).

#[path = "../examples/service/app.rs"]
mod app;
#[path = "../examples/service/audit.rs"]
mod audit;
#[path = "../examples/service/db.rs"]
mod db;
#[path = "../examples/service/grpc.rs"]
mod grpc;
#[path = "../examples/service/http.rs"]
mod http;
#[path = "../examples/service/jobs.rs"]
mod jobs;
#[path = "../examples/service/settings.rs"]
mod settings;

use std::net::SocketAddr;
use std::time::Duration;

use graceful::test::{Service, Step};
use graceful::{Config, ResourceOutcome, Signal};
use sqlx::{Row, SqlitePool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::audit::Audit;
use crate::settings::Settings;

/// One request on a connection of its own: the status and the body.
async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response[9..12].parse().expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

fn database_file() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "graceful-example-{}-{nanos}/service.db",
        std::process::id()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drains_the_job_and_the_request_then_flushes_the_audit_before_the_pool_closes() {
    let file = database_file();
    let settings = Settings {
        addr: "127.0.0.1:0".to_owned(),
        database_url: format!("sqlite://{}", file.display()),
        workers: 2,
    };
    let config = Config::new()
        .timeout(Duration::from_secs(25))
        .drain_delay(Duration::from_millis(300));
    let (bound, addr) = tokio::sync::oneshot::channel();
    let report = Service::new(config)
        .provide(settings)
        .resource::<Audit>() // and the pool it takes; not the telemetry (a global subscriber)
        .run(
            |shutdown| async move {
                // What `main` takes by type, from what the test supplied and opened.
                let settings = shutdown.resource::<Settings>().expect("supplied");
                let db = shutdown.resource::<SqlitePool>().expect("opened");
                let audit = shutdown.resource::<Audit>().expect("opened");
                let listener = tokio::net::TcpListener::bind(&settings.addr).await?;
                let _ = bound.send(listener.local_addr()?);
                let db = SqlitePool::clone(&db);
                app::serve(&shutdown, listener, settings.workers, db, audit).await;
                Ok::<(), graceful::BoxError>(())
            },
            |control| async move {
                let addr = addr.await.expect("the service listens");
                let (status, body) =
                    request(addr, "POST", "/jobs", r#"{"duration_ms": 800}"#).await;
                assert_eq!(status, 201, "{body}");
                let job: serde_json::Value = serde_json::from_str(&body).unwrap();
                let path = format!("/jobs/{}", job["id"]);
                while request(addr, "GET", &path, "").await.1.contains("queued") {
                    tokio::task::yield_now().await;
                }
                let slow = tokio::spawn(request(addr, "GET", "/slow?ms=600", ""));
                // Accepted by the drain delay's end at the latest (it still serves), the slow
                // request is in flight at the cancel and ends during the drain: only the
                // audit's close writes its row.
                assert_eq!(request(addr, "GET", "/readyz", "").await.0, 200);
                control.signal(Signal::Terminate);
                control.reached(Step::DrainDelay).await;
                assert_eq!(request(addr, "GET", "/readyz", "").await.0, 503);
                let (status, body) = slow.await.unwrap();
                assert_eq!(status, 200, "the request in flight completes: {body}");
                control.reached(Step::Finished).await;
            },
        )
        .await;

    assert!(report.is_clean(), "{report}");
    assert_eq!(report.cause, graceful::Cause::Signal(Signal::Terminate));
    // The audit publisher is flushed while the pool is still open; the settings are the
    // test's, not closed.
    assert_eq!(report.close_order(), ["audit", "database"]);
    assert_eq!(report.resource("audit"), Some(&ResourceOutcome::Closed));
    assert_eq!(report.task("worker-1").map(|t| t.aborted), Some(0));
    assert_eq!(report.exit_code(), 0);

    // What the service wrote is in the file: the job ran to the end, and every business
    // request served, the one in flight at the signal included, has its audit row.
    let db = SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")
        .fetch_one(&db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(done, 1);
    let slow_rows: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM audit WHERE path = '/slow' AND status = 200")
            .fetch_one(&db)
            .await
            .unwrap()
            .get("n");
    assert_eq!(
        slow_rows, 1,
        "the request served during the drain was audited"
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}
