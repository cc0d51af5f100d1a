//! Include/exclude patterns: shell-style globs (`*` any run of characters, `?` one character), matched against
//! a resource's name and ARNs so teams can scope the janitor without learning a regex dialect.

/// A comma-separated list of globs; empty means "no pattern given".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patterns(Vec<String>);

impl Patterns {
    /// Splits a comma list, dropping blank entries.
    pub fn parse(list: &str) -> Patterns {
        Patterns(list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first pattern that matches any of `names`, if one does.
    pub fn first_match<'a>(&'a self, names: &[&str]) -> Option<&'a str> {
        self.0.iter().find(|pattern| names.iter().any(|name| glob_matches(pattern, name))).map(String::as_str)
    }
}

/// Iterative glob matching with single-star backtracking: linear in practice, no recursion.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        let cases = [
            ("orders-*", "orders-to-redshift", true),
            ("orders-*", "old-orders", false),
            ("*prod*", "app-prod-1", true),
            ("ri-?", "ri-1", true),
            ("ri-?", "ri-10", false),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*b*c", "a-x-b-y-c", true),
            ("a*b*c", "a-x-c-y-b", false),
            ("arn:aws:rds:*:integration:*", "arn:aws:rds:us-east-1:1:integration:abc", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob_matches(pattern, text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn a_list_reports_which_pattern_matched() {
        let patterns = Patterns::parse(" keep-*, , *-prod ");
        assert_eq!(patterns.first_match(&["x", "db-prod"]), Some("*-prod"));
        assert_eq!(patterns.first_match(&["other"]), None);
        assert!(Patterns::parse(" , ").is_empty());
    }
}
