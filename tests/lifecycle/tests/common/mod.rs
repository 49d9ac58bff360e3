//! Runs a fixture service as a real process, reads its event lines, sends it real signals.
// Shared by several test binaries, each of which uses part of it.
#![allow(dead_code)]

pub mod notify;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous bound for anything that should happen "soon": CI machines are slow and noisy.
pub const SOON: Duration = Duration::from_secs(20);

pub struct Service {
    child: Child,
    lines: Receiver<String>,
    pub events: Vec<String>,
    /// Reads stderr to the end, unless the test chose another kind of stderr.
    stderr: Option<std::thread::JoinHandle<String>>,
    /// The write end of a full pipe, kept open so the child's writes block rather than fail.
    _full: Option<File>,
}

/// What the service's stderr is.
#[derive(Clone, Copy, Debug)]
pub enum Stderr {
    /// A pipe the test reads.
    Read,
    /// A pipe whose reader is gone: every write fails with EPIPE (`service 2>&1 | head -1`).
    Broken,
    /// A pipe that is full and that nobody reads: every write blocks (a stalled log shipper).
    Full,
}

pub struct Exit {
    pub code: Option<i32>,
    pub events: Vec<String>,
    pub stderr: String,
}

impl Service {
    pub fn start(binary: &str, scenario: &str) -> Service {
        Service::start_with(binary, scenario, &[])
    }

    pub fn start_with(binary: &str, scenario: &str, env: &[(&str, &str)]) -> Service {
        Service::start_with_stderr(binary, scenario, env, Stderr::Read)
    }

    pub fn start_with_stderr(
        binary: &str,
        scenario: &str,
        env: &[(&str, &str)],
        stderr: Stderr,
    ) -> Service {
        Service::start_prepared(binary, scenario, env, stderr, |_| {})
    }

    /// Starts the service after `prepare` has set the command up (a `pre_exec`, say).
    pub fn start_prepared(
        binary: &str,
        scenario: &str,
        env: &[(&str, &str)],
        stderr: Stderr,
        prepare: impl FnOnce(&mut Command),
    ) -> Service {
        let mut command = Command::new(binary);
        command
            .env("SCENARIO", scenario)
            .env_remove("GRACEFUL_TIMEOUT")
            .env_remove("GRACEFUL_DRAIN_DELAY")
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        let mut full = None;
        match stderr {
            Stderr::Read => {
                command.stderr(Stdio::piped());
            }
            Stderr::Broken => {
                let (read, write) = pipe();
                drop(read);
                command.stderr(write);
            }
            Stderr::Full => {
                let (read, write) = pipe();
                fill(&write);
                command.stderr(write);
                // The reader stays open (writes block, not fail) and is never read.
                full = Some(read);
            }
        }
        prepare(&mut command);
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            })
        });
        Service {
            child,
            lines,
            events: Vec::new(),
            stderr,
            _full: full,
        }
    }

    /// Waits for an event line starting with `prefix`; panics with what was seen otherwise.
    pub fn wait_for(&mut self, prefix: &str) {
        self.wait_for_within(prefix, SOON);
    }

    /// Waits until `count` event lines starting with `prefix` have been seen, counting those
    /// seen already.
    pub fn wait_for_count(&mut self, prefix: &str, count: usize) {
        let seen = |events: &[String]| events.iter().filter(|e| e.starts_with(prefix)).count();
        while seen(&self.events) < count {
            self.wait_for(prefix);
        }
    }

    /// [`wait_for`](Self::wait_for), for something that takes longer than [`SOON`].
    pub fn wait_for_within(&mut self, prefix: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50))
                && let Some(event) = line.strip_prefix("event ")
            {
                self.events.push(event.to_owned());
                if event.starts_with(prefix) {
                    return;
                }
            }
        }
        panic!(
            "no event `{prefix}` within {within:?}; events so far: {:?}",
            self.events
        );
    }

    pub fn signal(&self, signal: i32) {
        send(self.child.id(), signal);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` and waits until the kernel has delivered it (it is no longer pending), so
    /// that a signal sent next is a delivery of its own rather than merged into this one.
    pub fn signal_delivered(&self, signal: i32) {
        self.signal(signal);
        wait_delivered(self.child.id(), signal);
    }

    /// Waits for the process to exit (at most `within`) and collects everything it printed.
    pub fn wait(mut self, within: Duration) -> (Exit, Duration) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running after {within:?}; events: {:?}", self.events);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = started.elapsed();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            if let Some(event) = line.strip_prefix("event ") {
                self.events.push(event.to_owned());
            }
        }
        let stderr = self
            .stderr
            .map(|reader| reader.join().expect("stderr reader"))
            .unwrap_or_default();
        (
            Exit {
                code: status.code(),
                events: self.events,
                stderr,
            },
            elapsed,
        )
    }
}

/// Starts `binary` with `scenario`, waits for `ready`, sends SIGTERM and waits for the exit:
/// what it did, and how long it took from the signal.
pub fn signalled(binary: &str, scenario: &str) -> (Exit, Duration) {
    let mut service = Service::start(binary, scenario);
    service.wait_for("ready");
    service.signal(libc::SIGTERM);
    service.wait(SOON)
}

/// Whether the process runs: it exists and has not exited (a zombie, not yet reaped, has).
pub fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (name) state ...`: the state follows the last `)`.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

pub fn send(pid: u32, signal: i32) {
    let pid = pid as libc::pid_t;
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// Waits until the kernel has handed `signal`, sent to the process, to one of its threads: it
/// is no longer in the process's pending set. Checked as fast as `/proc` answers, so that what
/// is sent next arrives as close behind the delivery as a test can make it.
pub fn wait_delivered(pid: u32, signal: i32) {
    let bit = 1u64 << (signal - 1);
    let path = format!("/proc/{pid}/status");
    let deadline = Instant::now() + SOON;
    loop {
        let status = std::fs::read_to_string(&path).expect("/proc/PID/status");
        let pending = status
            .lines()
            .find_map(|line| line.strip_prefix("ShdPnd:"))
            .map_or(0, |mask| u64::from_str_radix(mask.trim(), 16).unwrap_or(0));
        if pending & bit == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "signal {signal} still pending after {SOON:?}"
        );
    }
}

/// A pipe, both ends closed on exec.
pub fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are fresh descriptors that nothing else owns.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// Writes into the pipe until it is full.
pub fn fill(write: &File) {
    let fd = write.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above; non-blocking only while filling (the child gets the same file
    // description, so it is set back).
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    let chunk = [b'x'; 4096];
    while (&*write).write(&chunk).is_ok() {}
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
}

impl Exit {
    /// Index of the first event starting with `prefix`.
    pub fn position(&self, prefix: &str) -> usize {
        self.events
            .iter()
            .position(|event| event.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no event `{prefix}` in {:?}\nstderr:\n{}",
                    self.events, self.stderr
                )
            })
    }

    pub fn has(&self, prefix: &str) -> bool {
        self.events.iter().any(|event| event.starts_with(prefix))
    }

    /// Asserts the events starting with each prefix happened in this order.
    pub fn assert_order(&self, prefixes: &[&str]) {
        let positions: Vec<usize> = prefixes
            .iter()
            .map(|prefix| self.position(prefix))
            .collect();
        assert!(
            positions.windows(2).all(|pair| pair[0] < pair[1]),
            "expected order {prefixes:?}, got events {:?}",
            self.events
        );
    }
}
