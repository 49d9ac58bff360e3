//! What a service tells systemd in its `STATUS=` line: one sentence for the state it is in,
//! read off the lifecycle (`systemctl status` shows it under the unit).

use std::fmt::Write;
use std::time::Duration;

use crate::progress::Progress;
use crate::state::State;

/// The most task names a status line lists; the rest are counted.
const NAMES: usize = 4;

/// The status line for where `state` is now (`started`: as read with `READY=1`).
pub(super) fn status(state: &State, started: bool) -> String {
    let Some(triggered) = state.trigger().triggered() else {
        return match started {
            true => "serving".to_owned(),
            false => "starting".to_owned(),
        };
    };
    // Every line says why it stops: the notify thread may see a later phase first.
    let cause = &triggered.cause;
    let what = match state.progress() {
        Progress::Building | Progress::Running => {
            format!("shutting down within {:?}", state.config().timeout)
        }
        Progress::DrainDelay => match state.config().drain_delay {
            Duration::ZERO => "not ready".to_owned(),
            delay => format!("not ready, serving for the drain delay ({delay:?})"),
        },
        Progress::Draining => draining(&state.tasks().live_names()),
        Progress::Stopping => "the drain is over".to_owned(),
        Progress::Closing => match state.resources().closing().as_slice() {
            [] => "closing resources".to_owned(),
            names => format!("closing {}", quoted(names)),
        },
        Progress::Finishing => "writing the report".to_owned(),
    };
    format!("stopping ({cause}): {what}")
}

/// "draining 3 tasks: `http`, `worker` (2)".
fn draining(live: &[(String, usize)]) -> String {
    let count: usize = live.iter().map(|(_, count)| count).sum();
    if count == 0 {
        return "draining, no task left".to_owned();
    }
    let mut line = format!(
        "draining {count} task{}: ",
        if count == 1 { "" } else { "s" }
    );
    for (at, (name, count)) in live.iter().take(NAMES).enumerate() {
        if at > 0 {
            line.push_str(", ");
        }
        let _ = write!(line, "`{name}`");
        if *count > 1 {
            let _ = write!(line, " ({count})");
        }
    }
    if live.len() > NAMES {
        let _ = write!(line, " and {} more", live.len() - NAMES);
    }
    line
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draining_names_the_tasks_and_counts_the_rest() {
        let live = [
            ("http".to_owned(), 1),
            ("worker".to_owned(), 2),
            ("a".to_owned(), 1),
            ("b".to_owned(), 1),
            ("c".to_owned(), 1),
        ];
        assert_eq!(
            draining(&live),
            "draining 6 tasks: `http`, `worker` (2), `a`, `b` and 1 more"
        );
        assert_eq!(draining(&live[..1]), "draining 1 task: `http`");
    }
}
