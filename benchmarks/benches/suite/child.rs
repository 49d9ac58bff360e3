//! Running a benchmark service as a real process: start it, wait for its `ready` line, signal
//! it, and collect its exit with the kernel's account of its peak memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A started service.
pub struct Service {
    child: Child,
    stdout: BufReader<ChildStdout>,
    pub started: Instant,
}

/// How a service ended.
pub struct Ended {
    pub at: Instant,
    pub exit_code: i32,
    /// Peak resident set size, in bytes (`ru_maxrss`).
    pub peak_rss: u64,
}

impl Service {
    /// Starts the benchmark binary `name` (built next to the suite by `cargo bench`).
    pub fn start(path: &str, args: &[String]) -> Service {
        let started = Instant::now();
        let mut child = Command::new(path)
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            // What the services log (graceful announces the signal) is not the benchmark's.
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {path}: {error}"));
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Service {
            child,
            stdout,
            started,
        }
    }

    /// Reads lines until one starts with `prefix`, and returns the rest of it.
    pub fn wait_for(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.stdout.read_line(&mut line).expect("stdout readable");
            assert!(read > 0, "the service ended before printing `{prefix}`");
            if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn terminate(&self) -> Instant {
        let at = Instant::now();
        // SAFETY: kill(2) with a pid we own and have not reaped.
        let sent = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "kill failed");
        at
    }

    /// Waits for the exit with wait4(2), which also returns the peak memory.
    pub fn wait(self) -> Ended {
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our unreaped child; the pointers are valid for the call.
        let reaped = unsafe { libc::wait4(self.pid(), &mut status, 0, &mut usage) };
        let at = Instant::now();
        assert_eq!(reaped, self.pid(), "wait4 failed");
        let exit_code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        // Drain the rest of stdout so nothing blocks (the process is gone; this is EOF soon).
        let _ = std::io::copy(&mut self.stdout.into_inner(), &mut std::io::sink());
        Ended {
            at,
            exit_code,
            peak_rss: usage.ru_maxrss as u64 * 1024,
        }
    }
}

/// Lets the tasks a service spawned reach their first await before it is signalled.
pub fn settle(tasks: usize) {
    std::thread::sleep(Duration::from_millis(200 + (tasks / 1000) as u64 * 2));
}
