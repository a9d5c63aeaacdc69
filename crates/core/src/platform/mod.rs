//! Platform: what the services share across users — the transactional outbox, the event
//! log and insights, and read-model bookkeeping.

pub mod audit;
pub mod outbox;
pub mod readmodels;
