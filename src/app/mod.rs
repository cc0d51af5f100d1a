//! The application: the janitor as configured, handling one payload or command (triggers into requests, an
//! organization's accounts) and finishing each run with its outputs.

pub mod accounts;
pub mod check;
pub mod janitor;
pub mod restore;
pub mod trigger;
