//! The UTC timestamp form DTS uses, `yyyy-MM-ddTHH:mm:ssZ` (`x-acs-date`, `CreateTime`), through the date-time
//! type the AWS SDK already brings.

use aws_smithy_types::date_time::{DateTime, Format};
use std::time::SystemTime;

/// `yyyy-MM-ddTHH:mm:ssZ` in UTC, whole seconds.
pub(crate) fn format_utc(t: SystemTime) -> String {
    DateTime::from_secs(DateTime::from(t).secs()).fmt(Format::DateTime).unwrap_or_default()
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (a fraction of a second is tolerated); anything else is `None`.
pub(crate) fn parse_utc(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if !s.ends_with('Z') {
        return None;
    }
    DateTime::from_str(s, Format::DateTime).ok().and_then(|t| SystemTime::try_from(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_whole_seconds_with_z() {
        assert_eq!(format_utc(UNIX_EPOCH + Duration::from_millis(1_698_315_752_999)), "2023-10-26T10:22:32Z");
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn parses_what_it_formats_and_tolerates_a_fraction() {
        for s in ["2023-10-26T10:22:32Z", "2024-02-29T23:59:59Z", "1969-12-31T23:59:59Z"] {
            assert_eq!(parse_utc(s).map(format_utc).as_deref(), Some(s));
        }
        let t = parse_utc("2021-03-04T05:06:07.5Z").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().subsec_millis(), 500);
    }

    #[test]
    fn rejects_other_forms() {
        for s in
            ["", "2023-10-26 10:22:32", "2023-10-26T10:22:32", "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "now"]
        {
            assert_eq!(parse_utc(s), None, "{s}");
        }
    }
}
