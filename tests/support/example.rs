//! Where the example service's binary is, and a scratch directory for its database: shared
//! by the tests that run it as a process (tests/service.rs, tests/systemd.rs), by `#[path]`.

use std::path::{Path, PathBuf};

/// `target/<profile>/examples/service`, built by `cargo test` along with this test.
pub fn example() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop(); // deps
    path.pop(); // the profile's directory
    path.push("examples");
    path.push(format!("service{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&path)
        .and_then(|metadata| metadata.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: `cargo test` builds it (not `cargo test --test service` alone); \
                 or run `cargo build --example service`",
                path.display()
            )
        });
    // `cargo test --test service` does not rebuild examples: refuse to test a stale one.
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/service");
    for entry in std::fs::read_dir(&sources)
        .expect("examples/service")
        .flatten()
    {
        let changed = entry.metadata().and_then(|metadata| metadata.modified());
        assert!(
            changed.is_ok_and(|changed| changed <= built),
            "{} is older than {}: run `cargo build --example service` (or plain `cargo test`)",
            path.display(),
            entry.path().display()
        );
    }
    path
}

/// A fresh directory for one test's database.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("graceful-service-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The example, set up as the tests run it: on a free port, with its database in `dir`, text
/// logs at `info`, a 15 s timeout, and none of the settings the environment may carry.
pub fn command(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(example());
    command
        .env("ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/service.db", dir.display()),
        )
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .env("GRACEFUL_TIMEOUT", "15s")
        .env_remove("GRACEFUL_DRAIN_DELAY")
        .env_remove("GRACEFUL_GRACE_PERIOD")
        .env_remove("WORKERS")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("LISTEN_FDS");
    command
}
