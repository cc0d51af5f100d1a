//! The engine: a request in, a report out. The sweep leases its scopes, scans every provider and region, judges
//! with the policy, and deletes through paced calls. It sees control planes and stores only through their ports
//! (`providers`, `state`), never an SDK.

pub mod calls;
pub mod plane;
pub mod policy;
pub mod report;
pub mod request;
pub mod restore;
pub mod sweep;
