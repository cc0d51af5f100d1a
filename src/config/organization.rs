//! The settings of a run over an organization's member accounts, and the shapes of the ids they name.

/// Where the accounts to sweep come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountSource {
    /// `JANITOR_ACCOUNTS`.
    Listed(Vec<String>),
    /// The organization's active accounts, all of them or only those under `units` (`JANITOR_ORGANIZATIONAL_UNITS`).
    Organization { units: Vec<String> },
}

/// The settings of a run over several accounts; present only with `JANITOR_MEMBER_ROLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSettings {
    pub source: AccountSource,
    /// The role's name in every member account.
    pub member_role: String,
    pub external_id: Option<String>,
    /// Accounts swept at once.
    pub concurrency: usize,
    /// Whether metrics get a line per account (dimension `Account`): off by default, to keep cardinality low.
    pub per_account_metrics: bool,
    /// The deletions of a whole run across its accounts (`JANITOR_MAX_DELETES` bounds each account).
    pub max_deletes_per_run: usize,
    /// Whether each account with something to tell is notified on its own (`JANITOR_ACCOUNT_NOTIFICATIONS`); off
    /// under the fan-out state machine, whose summary is the run's one notification.
    pub per_account_notifications: bool,
}

/// Whether `text` is a 12-digit account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` is an organizational unit (`ou-<root>-<8 to 32>`) or root (`r-<4 to 32>`) id, as the
/// Organizations model's patterns have them.
pub fn is_parent_id(text: &str) -> bool {
    let word = |w: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match text.split('-').collect::<Vec<_>>()[..] {
        ["r", id] => word(id, 4..=32),
        ["ou", root, id] => word(root, 4..=32) && word(id, 8..=32),
        _ => false,
    }
}

/// Whether `text` is an IAM role name (1 to 64 of letters, digits and `+=,.@_-`).
pub fn is_role_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_checked_by_the_documented_patterns() {
        assert!(is_account_id("123456789012") && !is_account_id("12345678901") && !is_account_id("12345678901a"));
        assert!(is_parent_id("r-ab12") && is_parent_id("ou-ab12-cd34ef56"));
        assert!(!is_parent_id("ou-ab12") && !is_parent_id("OU-ab12-cd34ef56") && !is_parent_id("o-ab12cd34"));
        assert!(is_role_name("ReplicationJanitorMember") && is_role_name("a+b=c,d.e@f_g-h"));
        assert!(!is_role_name("") && !is_role_name("path/role") && !is_role_name(&"r".repeat(65)));
    }
}
