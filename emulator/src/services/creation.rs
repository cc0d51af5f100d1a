//! What creating a zero-ETL integration means in each service that has them (RDS, Redshift and Glue), whatever its
//! wire protocol: the name must be free in the account and region, neither the source nor the target may be gone (the
//! fleet's `goneArns`; any other ARN is taken to exist), and the new integration gets a fresh ARN of the service and
//! the emulator's time. Each service decodes the request into a [`NewIntegration`] and answers a [`Refusal`] with its
//! own error.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::fleet::{Integration, IntegrationConfig};
use crate::store::{Collection, Store};

/// What a CreateIntegration call asks for, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NewIntegration {
    pub(crate) name: String,
    pub(crate) source_arn: String,
    pub(crate) target_arn: String,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) additional_encryption_context: BTreeMap<String, String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) description: Option<String>,
    pub(crate) data_filter: Option<String>,
    pub(crate) integration_config: Option<IntegrationConfig>,
}

/// Why an integration cannot be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// An integration of the account and region already has the name.
    NameTaken,
    /// The source ARN is one of the fleet's `goneArns`.
    SourceGone,
    /// The target ARN is one of the fleet's `goneArns`.
    TargetGone,
}

/// Where and how an integration is created.
pub(crate) struct Site<'a> {
    /// The service's integrations.
    pub(crate) integrations: &'a Collection<Integration>,
    /// The service as its integration ARNs name it (`rds`, `redshift`, `glue`).
    pub(crate) service: &'static str,
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
}

/// Adds the integration `new` asks for to `site`'s integrations in `status`, created `now`, and returns it; the name
/// is checked first, then the source, then the target.
pub(crate) fn create(
    store: &mut Store,
    site: &Site<'_>,
    new: NewIntegration,
    status: &str,
    now: SystemTime,
) -> Result<Integration, Refusal> {
    let region = site.region;
    if store.find_mut(site.integrations, |i| i.region == region && i.name() == new.name).is_some() {
        return Err(Refusal::NameTaken);
    }
    let gone = &store.fleet().gone_arns;
    if gone.contains(&new.source_arn) {
        return Err(Refusal::SourceGone);
    }
    if gone.contains(&new.target_arn) {
        return Err(Refusal::TargetGone);
    }
    let arn = fresh_arn(store, site);
    let mut created = Integration::new(region, &arn);
    created.integration_name = Some(new.name);
    created.source_arn = Some(new.source_arn);
    created.target_arn = Some(new.target_arn);
    created.status = status.to_owned();
    created.create_time = now;
    created.tags = new.tags;
    created.kms_key_id = new.kms_key_id;
    created.additional_encryption_context = new.additional_encryption_context;
    created.description = new.description;
    created.data_filter = new.data_filter;
    created.integration_config = new.integration_config;
    store.push(site.integrations, created.clone());
    Ok(created)
}

/// `arn:<partition>:<service>:<region>:<account>:integration:<lowercase uuid>`, the uuid counted by the store and
/// skipping any an integration already has.
fn fresh_arn(store: &mut Store, site: &Site<'_>) -> String {
    loop {
        let n = store.next_id();
        let arn = format!(
            "arn:{}:{}:{}:{}:integration:c0000000-0000-4000-8000-{:012x}",
            partition(site.region),
            site.service,
            site.region,
            site.account,
            n & 0xffff_ffff_ffff
        );
        if store.find_mut(site.integrations, |i| i.integration_arn == arn).is_none() {
            return arn;
        }
    }
}

/// The AWS partition of a region (`aws-cn` for China's, `aws-us-gov` for GovCloud's, else `aws`).
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::fleet::{glue_integration_region, redshift_integration_region, Fleet};

    const GLUE: Collection<Integration> = Collection { name: "glueIntegrations", items: |f| &mut f.glue_integrations };

    fn site(region: &str) -> Site<'_> {
        Site { integrations: &GLUE, service: "glue", account: "123456789012", region }
    }

    fn wanted(name: &str) -> NewIntegration {
        NewIntegration {
            name: name.to_owned(),
            source_arn: "arn:aws:glue:us-east-1:123456789012:connection/crm".to_owned(),
            target_arn: "arn:aws:glue:us-east-1:123456789012:database/crm".to_owned(),
            ..NewIntegration::default()
        }
    }

    #[test]
    fn creates_with_every_field_given_a_fresh_arn_and_the_time() {
        let mut store = Store::default();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut new = wanted("crm");
        new.tags = [("replication-janitor:restored-from".to_owned(), "reports/x.json".to_owned())].into();
        new.kms_key_id = Some("k".to_owned());
        new.additional_encryption_context = [("a".to_owned(), "1".to_owned())].into();
        new.description = Some("d".to_owned());
        new.data_filter = Some("include: *.*".to_owned());
        new.integration_config =
            Some(IntegrationConfig { continuous_sync: Some(true), ..IntegrationConfig::default() });
        let created = create(&mut store, &site("us-east-1"), new.clone(), "ACTIVE", now).unwrap();
        assert_eq!(store.fleet().glue_integrations, std::slice::from_ref(&created));
        assert_eq!(glue_integration_region(&created.integration_arn), Some("us-east-1"), "{}", created.integration_arn);
        assert!(created.integration_arn.starts_with("arn:aws:glue:us-east-1:123456789012:integration:"));
        assert_eq!((created.name(), created.status.as_str(), created.create_time), ("crm", "ACTIVE", now));
        assert_eq!((created.source_arn(), created.target_arn()), (new.source_arn, new.target_arn));
        assert_eq!(
            (&created.tags, &created.kms_key_id, &created.additional_encryption_context),
            (&new.tags, &new.kms_key_id, &new.additional_encryption_context)
        );
        assert_eq!(
            (&created.description, &created.data_filter, &created.integration_config),
            (&new.description, &new.data_filter, &new.integration_config)
        );
    }

    #[test]
    fn names_are_per_region_and_arns_never_repeat() {
        let mut store = Store::default();
        let taken = Integration::new(
            "us-east-1",
            "arn:aws:glue:us-east-1:123456789012:integration:c0000000-0000-4000-8000-000000000001",
        );
        store.replace(Fleet { glue_integrations: vec![taken.clone()], ..Fleet::default() });
        let now = SystemTime::now();
        assert_eq!(
            create(&mut store, &site("us-east-1"), wanted(taken.name()), "ACTIVE", now),
            Err(Refusal::NameTaken)
        );
        let a = create(&mut store, &site("us-east-1"), wanted("a"), "ACTIVE", now).unwrap();
        assert_ne!(a.integration_arn, taken.integration_arn, "the counter skips an ARN in use");
        assert_eq!(create(&mut store, &site("us-east-1"), wanted("a"), "ACTIVE", now), Err(Refusal::NameTaken));
        let b = create(&mut store, &site("eu-west-1"), wanted("a"), "ACTIVE", now).unwrap();
        assert_ne!(a.integration_arn, b.integration_arn);
        assert!(b.integration_arn.starts_with("arn:aws:glue:eu-west-1:"), "{}", b.integration_arn);
        store.replace(Fleet::default());
        let c = create(&mut store, &site("us-east-1"), wanted("a"), "ACTIVE", now).unwrap();
        assert!(![&a, &b].iter().any(|i| i.integration_arn == c.integration_arn), "ids are not reused after a replace");
    }

    #[test]
    fn gone_sources_and_targets_are_refused() {
        let new = wanted("a");
        for (gone, refusal) in [(&new.source_arn, Refusal::SourceGone), (&new.target_arn, Refusal::TargetGone)] {
            let mut store = Store::default();
            store.replace(Fleet { gone_arns: [gone.clone()].into(), ..Fleet::default() });
            assert_eq!(create(&mut store, &site("us-east-1"), new.clone(), "ACTIVE", SystemTime::now()), Err(refusal));
            assert!(store.fleet().glue_integrations.is_empty());
        }
    }

    #[test]
    fn arns_name_the_partition_and_service() {
        const REDSHIFT: Collection<Integration> =
            Collection { name: "redshiftIntegrations", items: |f| &mut f.redshift_integrations };
        let mut store = Store::default();
        let site = Site { integrations: &REDSHIFT, service: "redshift", account: "123456789012", region: "cn-north-1" };
        let created = create(&mut store, &site, wanted("a"), "active", SystemTime::now()).unwrap();
        assert!(created.integration_arn.starts_with("arn:aws-cn:redshift:cn-north-1:"), "{}", created.integration_arn);
        assert_eq!(redshift_integration_region(&created.integration_arn), Some("cn-north-1"));
        assert_eq!((partition("us-gov-west-1"), partition("eu-west-1")), ("aws-us-gov", "aws"));
    }
}
