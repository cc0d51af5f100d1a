//! The vocabulary every layer shares: what a resource and a provider are, durations, name patterns, text made safe
//! to show, the services' clocks, and the words of a setting. Nothing here calls anything.

pub mod clock;
pub mod duration;
pub mod pattern;
pub mod resource;
pub mod setting;
pub mod text;
