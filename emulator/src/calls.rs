//! The call log: what the janitor asked for and what it got, for assertions.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One service call (admin calls are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `dms`, `rds`, `redshift`, `glue`, `sts`, `organizations` or `dts`.
    pub service: String,
    /// The DMS, Glue or Organizations operation, RDS, Redshift or STS action or DTS `x-acs-action`, e.g.
    /// `DeleteConnection` (empty if none was given).
    pub operation: String,
    /// The AWS account the call acted in: the one an STS-issued access key was issued for, the management account
    /// (123456789012) for any other key. Empty when the credentials were refused, and for DTS (Alibaba Cloud).
    pub account: String,
    /// The region of the SigV4 credential scope (empty if the request was unsigned); for DTS the
    /// `RegionId` or `Region` parameter.
    pub region: String,
    /// The resource acted on: the endpoint ARN for DMS connection calls, the ARN(s)
    /// for ListTagsForResource (comma-joined), the IntegrationIdentifier for RDS, the
    /// IntegrationArn for Redshift, the IntegrationIdentifier (an ARN) for Glue, the `DtsJobId` parameter for DTS.
    pub target: Option<String>,
    /// The HTTP status returned.
    pub status: u16,
    /// The error code returned, if any.
    pub error: Option<String>,
}

/// How many logged calls were of `operation`.
pub fn count(calls: &[Call], operation: &str) -> usize {
    calls.iter().filter(|c| c.operation == operation).count()
}

/// The calls logged so far, at most `capacity` of them: a long-running emulator (the bench, a demo left up) would
/// otherwise grow without bound, so the oldest calls make room and are counted, so a reader knows the log is partial.
#[derive(Debug)]
pub(crate) struct CallLog {
    calls: VecDeque<Call>,
    capacity: usize,
    dropped: u64,
}

impl CallLog {
    pub(crate) fn new(capacity: usize) -> Self {
        CallLog { calls: VecDeque::new(), capacity, dropped: 0 }
    }

    /// Logs `call`, dropping the oldest one when the log is full.
    pub(crate) fn push(&mut self, call: Call) {
        if self.calls.len() >= self.capacity {
            self.dropped += 1;
            if self.calls.pop_front().is_none() {
                // A log that keeps nothing drops every call.
                return;
            }
        }
        self.calls.push_back(call);
    }

    /// The calls kept, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<Call> {
        self.calls.iter().cloned().collect()
    }

    /// How many calls were dropped to make room since the log was last cleared.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every call, and the count of dropped ones with them.
    pub(crate) fn clear(&mut self) {
        self.calls.clear();
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str) -> Call {
        Call {
            service: "dms".to_owned(),
            operation: operation.to_owned(),
            account: String::new(),
            region: String::new(),
            target: None,
            status: 200,
            error: None,
        }
    }

    fn operations(log: &CallLog) -> Vec<String> {
        log.to_vec().into_iter().map(|c| c.operation).collect()
    }

    #[test]
    fn keeps_the_newest_calls_and_counts_the_dropped_ones() {
        let mut log = CallLog::new(3);
        for op in ["a", "b", "c"] {
            log.push(call(op));
        }
        assert_eq!((operations(&log), log.dropped()), (vec!["a".into(), "b".into(), "c".into()], 0));
        log.push(call("d"));
        log.push(call("e"));
        assert_eq!((operations(&log), log.dropped()), (vec!["c".into(), "d".into(), "e".into()], 2));
        log.clear();
        assert_eq!((operations(&log), log.dropped()), (vec![], 0), "clearing forgets the count too");
    }

    #[test]
    fn a_log_without_room_drops_every_call() {
        let mut log = CallLog::new(0);
        log.push(call("a"));
        log.push(call("b"));
        assert_eq!((log.to_vec(), log.dropped()), (vec![], 2));
    }
}
