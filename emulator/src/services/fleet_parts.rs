//! What the list of services decides for a fleet: its checks (so loading it), member accounts' copies, and the
//! benchmark generator's counts. Each service's part is its registration's `FleetPart`.

use std::collections::BTreeMap;
use std::path::Path;

use super::SERVICES;
use crate::fleet::{generated_members, is_account_id, Fleet, FleetError, MANAGEMENT_ACCOUNT};
use crate::service::{Count, Members};

impl Fleet {
    /// Parses and validates the fleet file format.
    pub fn from_json(json: &str) -> Result<Fleet, FleetError> {
        let fleet: Fleet = serde_json::from_str(json)?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Reads and parses a fleet file.
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let json = std::fs::read_to_string(path)
            .map_err(|source| FleetError::Read { path: path.display().to_string(), source })?;
        Fleet::from_json(&json)
    }

    /// The demo fleet shipped as `fleets/sample.json`: two regions, every case the
    /// janitor must tell apart (young integrations are relative to load time).
    pub fn sample() -> Fleet {
        Fleet::from_json(include_str!("../../fleets/sample.json"))
            .expect("fleets/sample.json is valid: a unit test parses it")
    }

    /// Checks what the JSON types cannot, as each service's registration says (e.g. every Redshift or Glue
    /// integration ARN has its service's form and the integration's region, and none is listed twice; the STS policy
    /// and the organization name valid ids), in the management account's fleet and each member's; member accounts
    /// have 12-digit ids, none of the fields only the management account has, and only resources whose ARNs name
    /// them. Fleet files and the admin API are checked on load; a fleet built in Rust is served as it is.
    pub fn validate(&self) -> Result<(), FleetError> {
        for service in SERVICES {
            (service.fleet.validate)(self)?;
        }
        for (id, member) in &self.member_accounts {
            validate_member(id, member)?;
        }
        Ok(())
    }

    /// A copy of this fleet's resources that member accounts hold too (DMS's, RDS's, Redshift's and Glue's, with
    /// DMS's tags) as account `account` holds them: every ARN names `account`. What only the management account has
    /// (DTS jobs, the STS policy, the organization) and member accounts are not copied.
    pub fn in_account(&self, account: &str) -> Fleet {
        let mut copy = Fleet::default();
        for service in SERVICES {
            if let Members::Own { copy: copy_part, .. } = service.fleet.members {
                copy_part(self, &mut copy, account);
            }
        }
        copy
    }

    /// This fleet as the management account of an organization of `count` more accounts (100000000001 and on), each
    /// holding a copy of its resources ([`Fleet::in_account`]); the organization lists them all ACTIVE, the members
    /// under [`crate::GENERATED_MEMBER_OU`], and each member's role [`crate::GENERATED_MEMBER_ROLE`] can be assumed.
    /// With `count` 0 the fleet is returned as it is.
    pub fn with_generated_members(mut self, count: u32) -> Fleet {
        if count == 0 {
            return self;
        }
        let (ids, sts, organization) = generated_members(count);
        self.member_accounts = ids.iter().map(|id| (id.clone(), self.in_account(id))).collect();
        self.sts = sts;
        self.organization = Some(organization);
        self
    }

    /// A benchmark fleet: `spec` as [`generator_spec`] spells it, plus the resources of each [`generator_flags`]
    /// flag's service, `counts` of them by the flag's long name (none when not there), spread and failed as the
    /// spec says. `None` if `spec` is not of that grammar.
    pub fn from_generator(spec: &str, counts: &BTreeMap<&str, usize>) -> Option<Fleet> {
        let in_spec = spec_counts().count();
        let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
        if parts.len() <= in_spec {
            return None;
        }
        let positional: Vec<usize> = parts[..in_spec].iter().map(|n| n.parse().ok()).collect::<Option<_>>()?;
        let share: f64 = parts[in_spec].parse().ok().filter(|s| (0.0..=1.0).contains(s))?;
        let regions: Vec<&str> = parts[in_spec + 1..].iter().copied().filter(|r| !r.is_empty()).collect();
        let mut fleet = Fleet::default();
        for generated in SERVICES.iter().filter_map(|s| s.fleet.generated.as_ref()) {
            let count = match generated.count {
                Count::Spec { position, .. } => positional.get(position).copied().unwrap_or(0),
                Count::Flag { long, .. } => counts.get(long).copied().unwrap_or(0),
            };
            (generated.fill)(&mut fleet, count, share, &regions);
        }
        Some(fleet)
    }
}

/// A member account's fleet: its id, no field only the management account has, the checks every account's fleet
/// gets, and only ARNs of its own.
fn validate_member(id: &str, member: &Fleet) -> Result<(), FleetError> {
    if !is_account_id(id) || id == MANAGEMENT_ACCOUNT {
        return Err(FleetError::AccountId { field: "memberAccounts", id: id.to_owned() });
    }
    let management_only = SERVICES.iter().find_map(|s| match s.fleet.members {
        Members::ManagementOnly(given) => given(member),
        Members::Own { .. } => None,
    });
    if let Some(field) = (!member.member_accounts.is_empty()).then_some("memberAccounts").or(management_only) {
        return Err(FleetError::MemberField { account: id.to_owned(), field });
    }
    for service in SERVICES {
        (service.fleet.validate)(member)?;
        if let Members::Own { arns, .. } = service.fleet.members {
            if let Some(arn) = arns(member).into_iter().find(|arn| arn.split(':').nth(4) != Some(id)) {
                return Err(FleetError::MemberArnAccount { account: id.to_owned(), arn: arn.to_owned() });
            }
        }
    }
    Ok(())
}

/// A count flag of the benchmark generator, `--<long> N`: how many resources of its service a `generated:` fleet
/// gets besides those its spec counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorFlag {
    pub long: &'static str,
    pub help: &'static str,
}

/// The generator's count flags, one for each service whose count the spec does not give.
pub fn generator_flags() -> Vec<GeneratorFlag> {
    SERVICES
        .iter()
        .filter_map(|s| match s.fleet.generated.as_ref()?.count {
            Count::Flag { long, help } => Some(GeneratorFlag { long, help }),
            Count::Spec { .. } => None,
        })
        .collect()
}

/// The grammar of a `generated:` fleet's spec: the counts it gives, then `STALE_SHARE[,REGION...]`, e.g.
/// `CONNECTIONS,INTEGRATIONS,STALE_SHARE[,REGION...]`.
pub fn generator_spec() -> String {
    let mut names: Vec<(usize, &str)> = spec_counts().collect();
    names.sort_unstable();
    let counts: Vec<&str> = names.into_iter().map(|(_, name)| name).collect();
    format!("{},STALE_SHARE[,REGION...]", counts.join(","))
}

/// The counts the spec gives: (position, name).
fn spec_counts() -> impl Iterator<Item = (usize, &'static str)> {
    SERVICES.iter().filter_map(|s| match s.fleet.generated.as_ref()?.count {
        Count::Spec { position, name } => Some((position, name)),
        Count::Flag { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fleet::{
        AccountStatus, Connection, Integration, Organization, GENERATED_MEMBER_OU, GENERATED_MEMBER_ROLE,
    };

    const MEMBER: &str = "210987654321";

    fn member_fleet(arn_account: &str) -> Fleet {
        Fleet {
            connections: vec![Connection::new(
                "us-east-1",
                &format!("arn:aws:dms:us-east-1:{arn_account}:endpoint:E"),
                &format!("arn:aws:dms:us-east-1:{arn_account}:rep:R"),
            )],
            ..Fleet::default()
        }
    }

    fn with_member(id: &str, member: Fleet) -> Fleet {
        Fleet { member_accounts: [(id.to_owned(), member)].into(), ..Fleet::default() }
    }

    #[test]
    fn members_and_their_arns_are_checked() {
        assert_eq!(with_member(MEMBER, member_fleet(MEMBER)).validate().map_err(|e| e.to_string()), Ok(()));
        let err = with_member(MEMBER, member_fleet(MANAGEMENT_ACCOUNT)).validate().unwrap_err();
        assert!(matches!(&err, FleetError::MemberArnAccount { account, .. } if account == MEMBER), "{err}");
        for id in ["21098765432", MANAGEMENT_ACCOUNT] {
            let err = with_member(id, Fleet::default()).validate().unwrap_err();
            assert!(matches!(err, FleetError::AccountId { field: "memberAccounts", .. }), "{id}");
        }
        let nested = with_member(MEMBER, with_member("310987654321", Fleet::default()));
        assert!(matches!(nested.validate(), Err(FleetError::MemberField { field: "memberAccounts", .. })));
        let mut with_policy = Fleet::default();
        with_policy.sts.member_role = Some("r".to_owned());
        assert!(matches!(
            with_member(MEMBER, with_policy).validate(),
            Err(FleetError::MemberField { field: "sts", .. })
        ));
        let mut tagged = member_fleet(MEMBER);
        tagged.tags.insert("arn:aws:dms:us-east-1:999999999999:endpoint:X".to_owned(), BTreeMap::new());
        assert!(matches!(with_member(MEMBER, tagged).validate(), Err(FleetError::MemberArnAccount { .. })));
    }

    #[test]
    fn in_account_rehomes_every_arn() {
        let mut fleet = member_fleet(MANAGEMENT_ACCOUNT);
        fleet.tags.insert(fleet.connections[0].endpoint_arn.clone(), [("k".to_owned(), "v".to_owned())].into());
        let mut integration = Integration::new("us-east-1", "arn:aws:rds:us-east-1:123456789012:integration:abc");
        integration.source_arn = Some("arn:aws:s3:::bucket".to_owned());
        fleet.integrations.push(integration);
        fleet.redshift_integrations.push(Integration::redshift("us-east-1", 7));
        fleet.glue_integrations.push(Integration::glue("us-east-1", 8));
        let moved = fleet.in_account(MEMBER);
        assert_eq!(moved.connections[0].endpoint_arn, format!("arn:aws:dms:us-east-1:{MEMBER}:endpoint:E"));
        assert_eq!(moved.connections[0].replication_instance_arn, format!("arn:aws:dms:us-east-1:{MEMBER}:rep:R"));
        assert!(moved.tags.contains_key(&moved.connections[0].endpoint_arn));
        assert_eq!(moved.integrations[0].integration_arn, format!("arn:aws:rds:us-east-1:{MEMBER}:integration:abc"));
        assert_eq!(moved.integrations[0].source_arn.as_deref(), Some("arn:aws:s3:::bucket"), "no account field");
        assert!(moved.redshift_integrations[0].integration_arn.contains(MEMBER));
        let glue = &moved.glue_integrations[0];
        assert_eq!(glue.integration_arn, Integration::glue_arn("us-east-1", 8).replace(MANAGEMENT_ACCOUNT, MEMBER));
        assert_eq!(glue.status, "FAILED");
        assert_eq!(with_member(MEMBER, moved).validate().map_err(|e| e.to_string()), Ok(()));
    }

    #[test]
    fn generated_members_copy_the_fleet_into_an_organization() {
        let base = Fleet::generated(10, 4, 0.5, &["us-east-1"]);
        assert_eq!(base.clone().with_generated_members(0), base, "no members: unchanged");
        let fleet = base.clone().with_generated_members(3);
        assert_eq!(fleet.validate().map_err(|e| e.to_string()), Ok(()));
        assert_eq!(fleet.member_accounts.keys().collect::<Vec<_>>(), ["100000000001", "100000000002", "100000000003"]);
        let member = &fleet.member_accounts["100000000002"];
        assert_eq!((member.connections.len(), member.integrations.len()), (10, 4));
        assert!(member.connections.iter().all(|c| c.endpoint_arn.contains(":100000000002:")));
        assert_eq!(fleet.connections, base.connections, "the management account keeps its own");
        assert_eq!(fleet.sts.member_role.as_deref(), Some(GENERATED_MEMBER_ROLE));
        let org = fleet.organization.as_ref().unwrap();
        assert_eq!(org.accounts.len(), 4);
        assert!(org.accounts.iter().all(|a| a.status == AccountStatus::Active));
        assert_eq!(org.accounts.iter().filter(|a| a.parent_id == GENERATED_MEMBER_OU).count(), 3);
        assert!(org.accounts.iter().any(|a| a.id == MANAGEMENT_ACCOUNT && a.parent_id == org.root_id));
    }

    #[test]
    fn management_only_fields_are_refused_in_members() {
        let mut dts = Fleet::default();
        dts.dts_expired_tokens.insert("STS.x".to_owned());
        let organization = Organization { id: "o-abcdefghij".into(), root_id: "r-root".into(), accounts: vec![] };
        let organization = Fleet { organization: Some(organization), ..Fleet::default() };
        for (member, field) in [(dts, "dtsExpiredTokens"), (organization, "organization")] {
            let err = with_member(MEMBER, member).validate().unwrap_err();
            assert!(matches!(err, FleetError::MemberField { field: f, .. } if f == field), "{err}");
        }
        let mut glue = Fleet { glue_integrations: vec![Integration::glue("us-east-1", 1)], ..Fleet::default() };
        glue.glue_integrations[0].status = "failed".to_owned();
        let moved = Fleet { glue_integrations: glue.in_account(MEMBER).glue_integrations, ..Fleet::default() };
        let err = with_member(MEMBER, moved).validate().unwrap_err();
        assert!(matches!(err, FleetError::GlueIntegrationStatus { .. }), "a member's resources are checked too: {err}");
    }

    #[test]
    fn the_generator_reads_its_spec_and_flags_from_the_registrations() {
        assert_eq!(generator_spec(), "CONNECTIONS,INTEGRATIONS,STALE_SHARE[,REGION...]");
        let flags: Vec<&str> = generator_flags().iter().map(|f| f.long).collect();
        assert_eq!(flags, ["glue-integrations", "redshift-integrations"]);
        let counts: BTreeMap<&str, usize> = [("redshift-integrations", 4), ("glue-integrations", 6)].into();
        let fleet = Fleet::from_generator("10, 6, 0.5, us-east-1, eu-west-1", &counts).unwrap();
        let expected = Fleet::generated(10, 6, 0.5, &["us-east-1", "eu-west-1"]);
        assert_eq!(fleet.connections, expected.connections);
        let arns = |f: &Fleet| f.integrations.iter().map(|i| i.integration_arn.clone()).collect::<Vec<_>>();
        assert_eq!(arns(&fleet), arns(&expected));
        assert_eq!((fleet.redshift_integrations.len(), fleet.glue_integrations.len()), (4, 6));
        assert_eq!(fleet.glue_integrations.iter().filter(|i| i.region == "eu-west-1").count(), 3);
        let plain = Fleet::from_generator("3,2,0", &BTreeMap::new()).unwrap();
        assert_eq!((plain.connections.len(), plain.integrations.len(), plain.glue_integrations.len()), (3, 2, 0));
        assert!(plain.connections.iter().all(|c| c.region == "us-east-1" && c.status == "successful"));
        for bad in ["10,6", "10,x,0.5", "10,6,1.5", "", "10,6,0.5x"] {
            assert!(Fleet::from_generator(bad, &counts).is_none(), "{bad}");
        }
    }
}
