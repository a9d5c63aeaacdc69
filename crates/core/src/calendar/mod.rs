//! Calendar: the OAuth credentials LifeOS syncs calendars with, sealed at rest.

pub mod credentials;
