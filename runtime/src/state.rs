//! What every handle of one service shares: its settings, the trigger, where graceful's lines
//! go, how far the lifecycle got, and the two subsystems (the task group and the resources).
//! Each module asks for the part it needs; none of them belongs here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::Config;
use crate::log::Log;
use crate::progress::Progress;
use crate::resources::{Provided, Resources};
use crate::tasks::TaskGroup;
use crate::trigger::Trigger;

pub(crate) struct State {
    config: Config,
    /// Shared with the task group, whose failures start shutdown.
    trigger: Arc<Trigger>,
    /// Where graceful's own events go (the subscriber of the code that called `Config::run`).
    log: Log,
    progress: AtomicU8,
    /// Whether `main`'s body (with the item resources' opening) is still running.
    body_running: AtomicBool,
    tasks: Arc<TaskGroup>,
    resources: Resources,
    provided: Provided,
}

impl State {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let log = Log::here();
        let trigger = Arc::new(Trigger::new(config.timeout));
        Arc::new(State {
            tasks: TaskGroup::new(trigger.clone(), log.clone()),
            resources: Resources::new(config.clone(), log.clone()),
            provided: Provided::default(),
            progress: AtomicU8::new(Progress::Building as u8),
            body_running: AtomicBool::new(false),
            config,
            trigger,
            log,
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn trigger(&self) -> &Arc<Trigger> {
        &self.trigger
    }

    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    pub(crate) fn tasks(&self) -> &Arc<TaskGroup> {
        &self.tasks
    }

    pub(crate) fn resources(&self) -> &Resources {
        &self.resources
    }

    pub(crate) fn provided(&self) -> &Provided {
        &self.provided
    }

    pub(crate) fn enter(&self, progress: Progress) {
        self.progress.store(progress as u8, Ordering::Release);
    }

    pub(crate) fn progress(&self) -> Progress {
        Progress::from_u8(self.progress.load(Ordering::Acquire))
    }

    pub(crate) fn set_body_running(&self, running: bool) {
        self.body_running.store(running, Ordering::Release);
    }

    /// What still runs, for the watchdog's message: main's body or the resources it is
    /// opening, the resources closing, then the tasks by name with their counts.
    pub(crate) fn still_running(&self) -> Vec<String> {
        let opening = self.provided.opening();
        let mut running: Vec<String> = opening
            .iter()
            .map(|name| format!("resource `{name}` (opening)"))
            .collect();
        if opening.is_empty() && self.body_running.load(Ordering::Acquire) {
            running.push("`main`".to_owned());
        }
        running.extend(
            self.resources
                .closing()
                .into_iter()
                .map(|name| format!("resource `{name}` (closing)")),
        );
        running.extend(
            self.tasks
                .live_names()
                .into_iter()
                .map(|(name, count)| format!("`{name}` ({count})")),
        );
        running
    }
}
