//! Running a benchmark service as a real process: start it, wait for its `ready` line, signal
//! it, and collect its exit with the kernel's account of its peak memory.
//!
//! A service that hangs or dies must fail the suite, not stall it: lines are read with a
//! timeout, and a service still running when its `Service` is dropped (a failed assertion
//! unwinding) is killed and reaped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a service may take to print an expected line.
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// A started service.
pub struct Service {
    name: String,
    child: Option<Child>,
    lines: Receiver<String>,
    stderr: PathBuf,
    pub started: Instant,
}

/// How a service ended (always with exit code 0: `wait` fails the suite otherwise).
pub struct Ended {
    pub at: Instant,
    /// Peak resident set size, in bytes (`ru_maxrss`).
    pub peak_rss: u64,
}

impl Service {
    /// Starts the benchmark binary at `path`.
    pub fn start(path: &str, args: &[String]) -> Service {
        let name = std::path::Path::new(path).file_name().map_or_else(
            || path.to_owned(),
            |name| name.to_string_lossy().into_owned(),
        );
        Self::launch(path, name, args, None)
    }

    /// Starts the suite's own binary as the service of the peer workload `peer`
    /// (`peers::serve`).
    pub fn start_peer(peer: &str, args: &[String]) -> Service {
        let suite = std::env::current_exe().expect("the suite's own path");
        let path = suite.to_str().expect("a UTF-8 path");
        Self::launch(path, peer.to_owned(), args, Some(peer))
    }

    fn launch(path: &str, name: String, args: &[String], peer: Option<&str>) -> Service {
        // What the services log (graceful announces the signal) is kept aside, for failures.
        let stderr = std::env::temp_dir().join(format!("graceful-bench-{name}.stderr"));
        let stderr_file = std::fs::File::create(&stderr).expect("create the stderr file");
        let started = Instant::now();
        let mut command = Command::new(path);
        if let Some(peer) = peer {
            command.env(crate::peers::PEER, peer);
        }
        let mut child = command
            .args(args)
            // The user's settings would change what is measured.
            .env_remove("RUST_LOG")
            .env_remove("GRACEFUL_TIMEOUT")
            .env_remove("GRACEFUL_DRAIN_DELAY")
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {path}: {error}"));
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Service {
            name,
            child: Some(child),
            lines,
            stderr,
            started,
        }
    }

    /// Reads lines until one starts with `prefix`, and returns the rest of it.
    pub fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let timeout = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(timeout) {
                Ok(line) => {
                    if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "printed no `{prefix}` line within {LINE_TIMEOUT:?}"
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("ended before printing `{prefix}`"))
                }
            }
        }
    }

    fn fail(&self, what: &str) -> ! {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        panic!("{} {what}; its stderr:\n{stderr}", self.name)
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().expect("not yet reaped").id() as i32
    }

    pub fn terminate(&self) -> Instant {
        let at = Instant::now();
        // SAFETY: kill(2) with a pid we own and have not reaped.
        let sent = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "kill failed");
        at
    }

    /// Waits for the exit with wait4(2), which also returns the peak memory. A non-zero exit
    /// fails the suite with the service's stderr.
    pub fn wait(mut self) -> Ended {
        let pid = self.pid();
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our unreaped child; the pointers are valid for the call.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let at = Instant::now();
        assert_eq!(reaped, pid, "wait4 failed");
        self.child = None;
        let exit_code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        if exit_code != 0 {
            self.fail(&format!("exited with {exit_code}"));
        }
        Ended {
            at,
            peak_rss: usage.ru_maxrss as u64 * 1024,
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Lets the tasks a service spawned reach their first await before it is signalled.
pub fn settle(tasks: usize) {
    std::thread::sleep(Duration::from_millis(200 + (tasks / 1000) as u64 * 2));
}
