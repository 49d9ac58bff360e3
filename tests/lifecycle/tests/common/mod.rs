//! Runs a fixture service as a real process, reads its event lines, sends it real signals.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous bound for anything that should happen "soon": CI machines are slow and noisy.
pub const SOON: Duration = Duration::from_secs(20);

pub struct Service {
    child: Child,
    lines: Receiver<String>,
    pub events: Vec<String>,
    stderr: std::thread::JoinHandle<String>,
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
        let mut child = Command::new(binary)
            .env("SCENARIO", scenario)
            .env_remove("GRACEFUL_TIMEOUT")
            .env_remove("GRACEFUL_DRAIN_DELAY")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Service {
            child,
            lines,
            events: Vec::new(),
            stderr,
        }
    }

    /// Waits for an event line starting with `prefix`; panics with what was seen otherwise.
    pub fn wait_for(&mut self, prefix: &str) {
        let deadline = Instant::now() + SOON;
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
            "no event `{prefix}` within {SOON:?}; events so far: {:?}",
            self.events
        );
    }

    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill({pid}, {signal}) failed");
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
        let stderr = self.stderr.join().expect("stderr reader");
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
