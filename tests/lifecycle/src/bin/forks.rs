//! A service whose process forks: the child has none of graceful's threads, so a signal to it
//! must do what it does without graceful (the default action), never reach the parent; and a
//! service run in such a child is refused at startup.

use std::time::Duration;

use graceful::{Config, Flavor};
use graceful_lifecycle_tests::{event, scenario};

fn main() {
    let config = Config::new()
        .timeout(Duration::from_secs(5))
        .flavor(Flavor::CurrentThread);
    if scenario() == "run_in_child" {
        let report = config.clone().run(|shutdown| async move {
            shutdown.trigger("first run over");
        });
        event(format!("first run: exit code {}", report.exit_code()));
        // SAFETY: the child runs only graceful's startup check, then exits.
        match unsafe { libc::fork() } {
            0 => {
                let report = config.run(|_| async {});
                event(format!("child run: {}", report.cause));
                // SAFETY: ends the child without running the parent's exit handlers.
                unsafe { libc::_exit(report.exit_code()) }
            }
            child => event(format!("child ended: status {}", wait(child))),
        }
        return;
    }
    config
        .run(|shutdown| async move {
            // SAFETY: the child only waits in pause(2), async-signal-safe, until killed.
            let child = unsafe { libc::fork() };
            if child == 0 {
                loop {
                    // SAFETY: as above.
                    unsafe { libc::pause() };
                }
            }
            event(format!("child {child}"));
            std::thread::spawn(move || event(format!("child ended: status {}", wait(child))));
            let task = shutdown.clone();
            shutdown.spawn("idle", async move { task.cancelled().await });
            event("ready");
        })
        .exit()
}

/// Reaps `child`: `signal N` if a signal ended it, `code N` otherwise.
fn wait(child: libc::pid_t) -> String {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("code {}", libc::WEXITSTATUS(status))
    }
}
