//! The renamed service builds (that is most of the test) and runs its resources in order.

use std::process::Command;

#[test]
fn a_service_that_names_graceful_otherwise_opens_and_closes_its_resources() {
    let output = Command::new(env!("CARGO_BIN_EXE_graceful-renamed-tests"))
        .env_remove("GRACEFUL_TIMEOUT")
        .env_remove("GRACEFUL_DRAIN_DELAY")
        .output()
        .expect("run the service");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("event "))
        .collect();
    assert_eq!(
        events,
        [
            "opened pool",
            "opened caches",
            "closed cache",
            "closed pool",
            "closed cache"
        ]
    );
}
