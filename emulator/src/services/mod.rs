//! The emulated services, one module each, and the list of their registrations ([`SERVICES`]). Adding a service is
//! its module here (its protocol, its `SERVICE` registration and, if it has resources, a field of `Fleet`) and its
//! line in the list: routing (`server`), fleet checks, member accounts' copies and the generator's counts
//! (`fleet_parts`) all follow from the list.

mod creation;
mod dms;
mod dts;
mod fleet_parts;
mod glue;
mod organizations;
mod rds;
mod redshift;
mod sts;

pub use fleet_parts::{generator_flags, generator_spec, GeneratorFlag};

use crate::service::Service;

/// Every service the emulator serves.
pub(crate) const SERVICES: [&Service; 7] = [
    &dms::SERVICE,
    &organizations::SERVICE,
    &glue::SERVICE,
    &rds::SERVICE,
    &redshift::SERVICE,
    &sts::SERVICE,
    &dts::SERVICE,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::service::{Count, Route};

    #[test]
    fn registrations_do_not_clash() {
        let names: BTreeSet<&str> = SERVICES.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SERVICES.len(), "one registration per name");
        let routes: Vec<String> = SERVICES
            .iter()
            .map(|s| match s.route {
                Route::JsonTarget { prefix, .. } => format!("json {prefix}"),
                Route::Query { version } => format!("query {version}"),
                Route::Header(name) => format!("header {name}"),
            })
            .collect();
        assert_eq!(routes.iter().collect::<BTreeSet<_>>().len(), routes.len(), "{routes:?}");
        let fallbacks = SERVICES.iter().filter(|s| matches!(s.route, Route::JsonTarget { fallback: true, .. }));
        assert_eq!(fallbacks.count(), 1, "exactly one service answers unknown X-Amz-Targets");
        let mut positions: Vec<usize> = SERVICES
            .iter()
            .filter_map(|s| match s.fleet.generated.as_ref()?.count {
                Count::Spec { position, .. } => Some(position),
                Count::Flag { .. } => None,
            })
            .collect();
        positions.sort_unstable();
        assert_eq!(positions, (0..positions.len()).collect::<Vec<_>>(), "the spec's counts are 0, 1, ... once each");
    }
}
