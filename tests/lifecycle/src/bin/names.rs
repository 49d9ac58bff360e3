//! A million short tasks, each under a name of its own (`SCENARIO=unique`) or all under one
//! (`SCENARIO=one`), a thousand at a time; prints the peak RSS at the end. The bookkeeping of
//! the task group must grow with the tasks alive, not with the names ever seen.

use std::borrow::Cow;

use graceful::{Config, Flavor};
use graceful_lifecycle_tests::{event, scenario};

const TASKS: u32 = 1_000_000;
const BATCH: u32 = 1_000;

fn main() {
    let unique = scenario() == "unique";
    let report = Config::new()
        .flavor(Flavor::CurrentThread)
        .run(|shutdown| async move {
            for batch in 0..TASKS / BATCH {
                let handles: Vec<_> = (0..BATCH)
                    .map(|n| {
                        let name: Cow<'static, str> = if unique {
                            format!("job-{}", batch * BATCH + n).into()
                        } else {
                            "job".into()
                        };
                        shutdown.spawn(name, async {})
                    })
                    .collect();
                for handle in handles {
                    let _ = handle.await;
                }
            }
        });
    let counted: u64 = report.tasks.iter().map(|task| task.succeeded).sum();
    let lines = report.tasks.len();
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .expect("VmHWM")
        .trim()
        .trim_end_matches(" kB")
        .to_owned();
    event(format!(
        "counted {counted} in {lines} lines, peak {peak} KiB"
    ));
}
