//! What every handle of one service shares: its settings, the trigger, where graceful's lines
//! go, how far the lifecycle got, and the subsystems: the task group, the resources to close,
//! and the item resources opened (by type) or opening. Each module asks for the part it needs;
//! none of them belongs here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::Config;
use crate::log::Log;
use crate::main_status::MainStatus;
use crate::progress::Progress;
use crate::resources::{Provided, Resources};
use crate::tasks::TaskGroup;
use crate::trigger::Trigger;

pub(crate) struct State {
    config: Config,
    /// Shared with the task group (whose failures start shutdown) and with `Readiness`.
    trigger: Arc<Trigger>,
    /// Where graceful's own events go (the subscriber of the code that called `Config::run`).
    log: Log,
    progress: AtomicU8,
    /// `main`'s body (with the item resources' opening, which starts it).
    main: MainStatus,
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
            main: MainStatus::default(),
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

    pub(crate) fn main(&self) -> &MainStatus {
        &self.main
    }
}
