//! The ingest routes' one step that differs between the two ways of running: where a
//! verified, validated delivery goes. `shiplog serve` submits it to its writer and
//! answers after the commit; a `shiplog ingest` replica publishes it to JetStream and
//! answers once JetStream has acknowledged it (`jetstream::publisher`). Everything
//! before this step, verifying, reading, mapping and the answers, is the same code
//! for both (`routes::webhooks`, `routes::events`), so both give the same results.

use shiplog_ingest::store::{Delivery, Outcome, Submission, Writer};

use crate::app::AppState;
use crate::body::BodyBudget;
use crate::config::Config;
use crate::error::ApiError;
use crate::jetstream::publisher::Publisher;
use crate::routes::events::write_error;

/// Where deliveries are stored.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// The writer of this process: answered after the commit.
    Writer(&'a Writer),
    /// JetStream: answered after its acknowledgement; `shiplog serve` commits later.
    JetStream(&'a Publisher),
}

impl Destination<'_> {
    /// Stores `deliveries` together; `accepted` counts those new to the destination
    /// and `duplicates` the repeats it recognised (the raw log's key for the writer,
    /// the message id within the duplicate window for JetStream).
    pub async fn store(self, deliveries: Vec<Delivery>) -> Result<Outcome, ApiError> {
        match self {
            Destination::Writer(writer) => writer
                .submit(Submission { deliveries })
                .await
                .map_err(|e| write_error(writer, e)),
            Destination::JetStream(publisher) => {
                publisher.publish(&deliveries).await.map_err(ApiError::from)
            }
        }
    }
}

/// What the ingest routes need of the server that runs them.
pub trait Intake: Clone + Send + Sync + 'static {
    fn config(&self) -> &Config;
    /// The budget of body bytes held at once (`body.rs`).
    fn bodies(&self) -> &BodyBudget;
    fn count_request(&self);
    fn destination(&self) -> Destination<'_>;
}

impl Intake for AppState {
    fn config(&self) -> &Config {
        &self.config
    }

    fn bodies(&self) -> &BodyBudget {
        &self.bodies
    }

    fn count_request(&self) {
        AppState::count_request(self);
    }

    fn destination(&self) -> Destination<'_> {
        Destination::Writer(&self.db.writer)
    }
}
