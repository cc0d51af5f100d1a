//! Pagination shared by both services: MaxRecords validation and opaque markers.
//!
//! A marker names the position after the last item returned (each stored item has
//! a sequence number that never changes), so deleting items while paginating, as
//! the janitor does, neither skips nor repeats the rest.

/// Allowed `MaxRecords` for both DescribeConnections and DescribeIntegrations.
pub(crate) const MIN_RECORDS: i64 = 20;
pub(crate) const MAX_RECORDS: i64 = 100;

const PREFIX: &str = "emu1-";

/// The page size for an optional `MaxRecords`, or the message for an out-of-range value.
pub(crate) fn page_size(max_records: Option<i64>) -> Result<usize, String> {
    match max_records {
        None => Ok(MAX_RECORDS as usize),
        Some(n) if (MIN_RECORDS..=MAX_RECORDS).contains(&n) => Ok(n as usize),
        Some(_) => Err(format!("Invalid value for MaxRecords. Must be between {MIN_RECORDS} and {MAX_RECORDS}")),
    }
}

/// An opaque token resuming after sequence number `seq`.
pub(crate) fn encode_marker(seq: u64) -> String {
    format!("{PREFIX}{seq:x}-{:08x}", check(seq))
}

/// The sequence number a marker resumes after, if the marker is one of ours.
pub(crate) fn decode_marker(marker: &str) -> Option<u64> {
    let (seq, sum) = marker.strip_prefix(PREFIX)?.split_once('-')?;
    let seq = u64::from_str_radix(seq, 16).ok()?;
    (sum.len() == 8 && u32::from_str_radix(sum, 16).ok()? == check(seq)).then_some(seq)
}

/// FNV-1a over the sequence number: enough to reject hand-made or truncated markers.
fn check(seq: u64) -> u32 {
    let hash = seq
        .to_le_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    (hash >> 32) as u32 ^ hash as u32
}

/// One page of `items` (sequence number, item) in order, starting after `after`,
/// plus the marker for the next page when more remain.
pub(crate) fn page<T>(
    items: impl Iterator<Item = (u64, T)>,
    after: Option<u64>,
    size: usize,
) -> (Vec<T>, Option<String>) {
    let mut rest = items.filter(|(seq, _)| after.is_none_or(|a| *seq > a)).peekable();
    let mut out = Vec::with_capacity(size);
    let mut last = None;
    while out.len() < size {
        match rest.next() {
            Some((seq, item)) => {
                last = Some(seq);
                out.push(item);
            }
            None => break,
        }
    }
    let marker = match (rest.peek(), last) {
        (Some(_), Some(seq)) => Some(encode_marker(seq)),
        _ => None,
    };
    (out, marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        for seq in [0, 1, 41, u64::MAX] {
            assert_eq!(decode_marker(&encode_marker(seq)), Some(seq));
        }
        let good = encode_marker(41);
        let tampered = good.replace("29-", "2a-");
        for bad in ["", "garbage", "emu1-", "emu1-29", "emu1-29-00000000", &tampered, &good[..good.len() - 1]] {
            assert_eq!(decode_marker(bad), None, "{bad}");
        }
    }

    #[test]
    fn max_records_range() {
        assert_eq!(page_size(None), Ok(100));
        assert_eq!(page_size(Some(20)), Ok(20));
        assert_eq!(page_size(Some(100)), Ok(100));
        for bad in [i64::MIN, -1, 0, 19, 101, 1000] {
            let err = page_size(Some(bad)).unwrap_err();
            assert!(err.contains("between 20 and 100"), "{err}");
        }
    }

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<u64> = (0..45).map(|i| i * 3).collect();
        let mut after = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (got, marker) = page(items.iter().map(|s| (*s, *s)), after, 20);
            pages += 1;
            seen.extend(got);
            match marker {
                Some(m) => after = decode_marker(&m),
                None => break,
            }
        }
        assert_eq!((seen, pages), (items, 3));
    }

    #[test]
    fn exact_fit_has_no_marker_and_deletions_do_not_skip() {
        let (got, marker) = page((0..20).map(|s| (s, s)), None, 20);
        assert_eq!((got.len(), marker), (20, None));
        let (first, marker) = page((0..30).map(|s| (s, s)), None, 20);
        let after = marker.as_deref().and_then(decode_marker);
        // Delete everything already returned, as the janitor does between pages.
        let survivors = (0..30).filter(|s| !first.contains(s));
        let (second, marker) = page(survivors.map(|s| (s, s)), after, 20);
        assert_eq!((second, marker), ((20..30).collect(), None));
    }
}
