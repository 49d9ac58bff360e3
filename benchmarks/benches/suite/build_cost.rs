//! Build cost to a user: a hello service with `#[graceful::main]` against the same with
//! `#[tokio::main]`, with the shutdown written by hand, and with the two peers, each a fresh
//! crate of its own: a cold `cargo build --release`, and the rebuild after touching `main.rs`.
//! Also which major versions of syn the user's tree holds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::Rounds;
use crate::stats::{PAIR_HEADER, Pair, SIDES_HEADER, Sides};

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The `[dependencies]` of a hello crate (see [`manifest`]).
const TOKIO_DEPENDENCIES: &str = r#"tokio = { version = "1.47", features = ["rt-multi-thread", "macros", "signal"] }
"#;

const TOKIO_MAIN: &str = r#"#[tokio::main]
async fn main() {
    println!("hello");
    tokio::signal::ctrl_c().await.expect("a signal handler");
    println!("bye");
}
"#;

const HAND_WRITTEN_DEPENDENCIES: &str = r#"tokio = { version = "1.47", features = ["rt-multi-thread", "macros", "signal", "time"] }
tokio-util = { version = "0.7.16", features = ["rt"] }
"#;

const HAND_WRITTEN_MAIN: &str = r#"use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    println!("hello");
    let waiting = token.clone();
    tracker.spawn(async move {
        waiting.cancelled().await;
        println!("bye");
    });
    tokio::signal::ctrl_c().await.expect("a signal handler");
    token.cancel();
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(30), tracker.wait()).await.is_err() {
        std::process::exit(1);
    }
}
"#;

const TOKIO_GRACEFUL_DEPENDENCIES: &str = r#"tokio = { version = "1.47", features = ["rt-multi-thread", "macros", "signal", "time"] }
tokio-graceful = "0.2.2"
"#;

const TOKIO_GRACEFUL_MAIN: &str = r#"use std::time::Duration;

#[tokio::main]
async fn main() {
    let shutdown = tokio_graceful::Shutdown::default();
    println!("hello");
    shutdown.spawn_task_fn(|guard| async move {
        guard.cancelled().await;
        println!("bye");
    });
    if shutdown.shutdown_with_limit(Duration::from_secs(30)).await.is_err() {
        std::process::exit(1);
    }
}
"#;

const TOKIO_GRACEFUL_SHUTDOWN_DEPENDENCIES: &str = r#"tokio = { version = "1.47", features = ["rt-multi-thread", "macros", "signal", "time"] }
tokio-graceful-shutdown = "0.20.0"
"#;

const TOKIO_GRACEFUL_SHUTDOWN_MAIN: &str = r#"use std::convert::Infallible;
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

async fn hello(subsystem: &mut SubsystemHandle) -> Result<(), Infallible> {
    subsystem.on_shutdown_requested().await;
    println!("bye");
    Ok(())
}

#[tokio::main]
async fn main() {
    println!("hello");
    let stopped = Toplevel::new(async |top: &mut SubsystemHandle| {
        top.start(SubsystemBuilder::new("hello", hello));
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(30))
    .await;
    if stopped.is_err() {
        std::process::exit(1);
    }
}
"#;

const GRACEFUL_MAIN: &str = r#"#[graceful::main]
async fn main(shutdown: graceful::Shutdown) {
    println!("hello");
    let waiting = shutdown.clone();
    shutdown.spawn("hello", async move {
        waiting.cancelled().await;
        println!("bye");
    });
}
"#;

/// A hello crate's manifest, with `dependencies` as its `[dependencies]`.
fn manifest(dependencies: &str) -> String {
    format!(
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\n{dependencies}"
    )
}

fn graceful_manifest() -> String {
    let repository = Path::new(REPOSITORY)
        .canonicalize()
        .expect("the repository");
    manifest(&format!(
        "gracefully = {{ path = {:?} }}\n",
        repository.display().to_string()
    ))
}

/// Writes a hello crate; it starts from the repository's lock file, so both build the very
/// versions the repository is tested with (and nothing needs downloading twice).
fn create(name: &str, manifest: &str, main: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("graceful-build-cost").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).expect("create the crate");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    std::fs::write(dir.join("src/main.rs"), main).expect("write main.rs");
    std::fs::copy(
        Path::new(REPOSITORY).join("Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .expect("copy Cargo.lock");
    dir
}

fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo {args:?} failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn build_seconds(dir: &Path) -> f64 {
    let started = Instant::now();
    cargo(dir, &["build", "--release", "--quiet"]);
    started.elapsed().as_secs_f64()
}

fn cold(dir: &Path) -> f64 {
    let _ = std::fs::remove_dir_all(dir.join("target"));
    build_seconds(dir)
}

fn rebuild(dir: &Path) -> f64 {
    let main = dir.join("src/main.rs");
    let text = std::fs::read(&main).expect("read main.rs");
    // Rewriting the file moves its modification time: the `touch` of the issue.
    std::fs::write(&main, text).expect("touch main.rs");
    build_seconds(dir)
}

/// The crates of the release tree of `dir`, as `name version` lines.
fn tree(dir: &Path) -> Vec<String> {
    let output = cargo(
        dir,
        &[
            "tree",
            "--prefix",
            "none",
            "-e",
            "normal,build",
            "--no-dedupe",
        ],
    );
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

fn syn_majors(crates: &[String]) -> Vec<String> {
    let mut majors: Vec<String> = crates
        .iter()
        .filter_map(|krate| krate.strip_prefix("syn v"))
        .map(|version| version.split('.').next().unwrap_or(version).to_owned())
        .collect();
    majors.dedup();
    majors
}

pub fn run(rounds: Rounds) {
    println!("## Build cost to a user: a hello service\n");
    let graceful_dir = create("graceful", &graceful_manifest(), GRACEFUL_MAIN);
    let tokio_dir = create("tokio", &manifest(TOKIO_DEPENDENCIES), TOKIO_MAIN);
    let by_hand_dir = create(
        "by-hand",
        &manifest(HAND_WRITTEN_DEPENDENCIES),
        HAND_WRITTEN_MAIN,
    );
    let tokio_graceful_dir = create(
        "tokio-graceful",
        &manifest(TOKIO_GRACEFUL_DEPENDENCIES),
        TOKIO_GRACEFUL_MAIN,
    );
    let tokio_graceful_shutdown_dir = create(
        "tokio-graceful-shutdown",
        &manifest(TOKIO_GRACEFUL_SHUTDOWN_DEPENDENCIES),
        TOKIO_GRACEFUL_SHUTDOWN_MAIN,
    );
    println!(
        "Five fresh crates in `{}`, each printing hello and waiting for a signal: \
         `#[graceful::main]` (graceful by path, default features); a plain `#[tokio::main]` \
         (tokio with `rt-multi-thread`, `macros`, `signal`); the same shutdown written by hand \
         (`CancellationToken`, `TaskTracker`, a deadline: tokio-util and tokio's `time`), the \
         baseline of the second table; and the same on tokio-graceful and on \
         tokio-graceful-shutdown. Cold is `cargo build --release` into an empty target \
         directory (sources already downloaded); rebuild is the same after touching \
         `main.rs`.\n",
        graceful_dir.parent().expect("a parent").display()
    );
    let mut cold_pair = Pair::default();
    let mut cold_sides = Sides::default();
    let cold_rounds = rounds.0.div_ceil(3);
    for _ in 0..cold_rounds {
        let graceful = cold(&graceful_dir);
        cold_pair.graceful.push(graceful);
        cold_sides.graceful.push(graceful);
        cold_pair.baseline.push(cold(&tokio_dir));
        cold_sides.baseline.push(cold(&by_hand_dir));
        cold_sides.tokio_graceful.push(cold(&tokio_graceful_dir));
        cold_sides
            .tokio_graceful_shutdown
            .push(cold(&tokio_graceful_shutdown_dir));
    }
    let mut rebuild_pair = Pair::default();
    let mut rebuild_sides = Sides::default();
    for _ in 0..rounds.0 {
        let graceful = rebuild(&graceful_dir);
        rebuild_pair.graceful.push(graceful);
        rebuild_sides.graceful.push(graceful);
        rebuild_pair.baseline.push(rebuild(&tokio_dir));
        rebuild_sides.baseline.push(rebuild(&by_hand_dir));
        rebuild_sides
            .tokio_graceful
            .push(rebuild(&tokio_graceful_dir));
        rebuild_sides
            .tokio_graceful_shutdown
            .push(rebuild(&tokio_graceful_shutdown_dir));
    }
    let graceful_tree = tree(&graceful_dir);
    let tokio_tree = tree(&tokio_dir);
    let by_hand_tree = tree(&by_hand_dir);
    println!("{PAIR_HEADER}");
    println!(
        "{}",
        cold_pair.row(
            &format!("cold release build, {cold_rounds} rounds (s)"),
            2,
            1.15
        )
    );
    println!(
        "{}",
        rebuild_pair.row("release rebuild after touching main.rs (s)", 2, 1.10)
    );
    println!(
        "| crates in the tree (plain; by hand {}) | {} | {} | | |",
        by_hand_tree.len(),
        graceful_tree.len(),
        tokio_tree.len()
    );
    let majors = syn_majors(&graceful_tree);
    println!(
        "| syn major versions | {} | {} | | exactly one: {} |\n",
        majors.join(", "),
        syn_majors(&tokio_tree).join(", "),
        if majors.len() == 1 {
            "met"
        } else {
            "**missed**"
        }
    );
    println!("Against the shutdown written by hand, with the peers:\n");
    println!("{SIDES_HEADER}");
    println!(
        "{}",
        cold_sides.row(
            &format!("cold release build, {cold_rounds} rounds (s)"),
            2,
            1.15
        )
    );
    println!(
        "{}\n",
        rebuild_sides.row("release rebuild after touching main.rs (s)", 2, 0.85)
    );
    let added = |tree: &[String], base: &[String]| -> String {
        tree.iter()
            .filter(|krate| !base.contains(krate))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Crates graceful adds to the plain tree: {}.\n\nCrates graceful adds to the \
         hand-written tree: {}.\n",
        added(&graceful_tree, &tokio_tree),
        added(&graceful_tree, &by_hand_tree)
    );
}
