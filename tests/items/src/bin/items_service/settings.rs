use graceful::{BoxError, Close};
use graceful_lifecycle_tests::{event, scenario};

/// Read first; everything else may take it.
#[derive(Clone)]
pub struct Settings {
    pub scenario: String,
}

impl Close for Settings {
    async fn close(&self) -> Result<(), BoxError> {
        event("closing settings");
        Ok(())
    }
}

#[graceful::resource(order = 1)]
async fn settings() -> Settings {
    event("opened settings");
    Settings {
        scenario: scenario(),
    }
}
