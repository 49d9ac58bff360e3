//! The benchmark suite: graceful against the same work written by hand on tokio + tokio-util,
//! measured side by side in one run and reported as ratios (absolute times on small, noisy
//! machines move from run to run; ratios between interleaved runs hold).
//!
//! `cargo bench -p graceful-benches` runs every section; name sections to run only those:
//! `cargo bench -p graceful-benches -- spawn http http2 grpc`. `--quick` runs fewer rounds.
//! The report is markdown on stdout, in the shape of BENCHMARKS.md. The two best-known peers
//! (tokio-graceful, tokio-graceful-shutdown) run the same workloads, as further columns.

mod build_cost;
mod child;
mod hot_path;
mod http;
mod peers;
mod shutdown;
mod spawn_join;
mod stats;
mod teardown;

/// How many interleaved rounds each comparison runs.
#[derive(Clone, Copy, Debug)]
pub struct Rounds(pub usize);

/// A section of the report: its name on the command line, and what prints it.
type Section = (&'static str, fn(Rounds));

const SECTIONS: &[Section] = &[
    ("spawn", spawn_join::run),
    ("shutdown", shutdown::run),
    ("hot", hot_path::run),
    ("teardown", teardown::run),
    ("http", http::run),
    ("http2", http::run_http2),
    ("grpc", http::run_grpc),
    ("build", build_cost::run),
];

fn main() {
    // Started again as a peer's service (see `peers`).
    if let Ok(peer) = std::env::var(peers::PEER) {
        peers::serve(&peer);
        return;
    }
    // `cargo bench` passes `--bench`; anything else not a flag names a section.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let chosen: Vec<&str> = args
        .iter()
        .filter(|arg| !arg.starts_with("--"))
        .map(String::as_str)
        .collect();
    for name in &chosen {
        if !SECTIONS.iter().any(|(section, _)| section == name) {
            let names: Vec<&str> = SECTIONS.iter().map(|(section, _)| *section).collect();
            eprintln!(
                "unknown section `{name}`; the sections are {}",
                names.join(", ")
            );
            std::process::exit(2);
        }
    }
    let rounds = Rounds(if quick { 3 } else { 7 });
    println!("# graceful benchmarks\n");
    println!("{}\n", stats::machine());
    for (name, run) in SECTIONS {
        if chosen.is_empty() || chosen.contains(name) {
            run(rounds);
        }
    }
}
