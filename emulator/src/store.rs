//! The live, mutable fleet: one [`Store`] of resources per account, and what spans accounts (the STS policy and
//! its issued credentials, the organization) in the [`Estate`]. Each resource gets a sequence number when it enters
//! its store, which pagination markers refer to (see `paging`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::fleet::{Connection, DtsJob, Fleet, Integration};
use crate::fleet::{Organization, StsPolicy, MANAGEMENT_ACCOUNT};
use crate::identity::{AuthFailure, Caller, Sessions};

/// Every account's resources and what spans accounts.
#[derive(Debug, Default)]
pub(crate) struct Estate {
    /// The management account's resources, DTS's included.
    management: Store,
    members: BTreeMap<String, Store>,
    pub(crate) sts: StsPolicy,
    pub(crate) organization: Option<Organization>,
    pub(crate) sessions: Sessions,
}

impl Estate {
    /// Replaces every account's contents. Credentials issued for accounts still in the fleet stay valid; those of
    /// accounts gone are forgotten. Sequence numbers keep increasing, new accounts' included, so stale markers stay
    /// harmless.
    pub(crate) fn replace(&mut self, mut fleet: Fleet) {
        let floor = self.members.values().map(|s| s.next_seq).fold(self.management.next_seq, u64::max);
        let mut members = std::mem::take(&mut self.members);
        for (id, member) in std::mem::take(&mut fleet.member_accounts) {
            let mut store = members.remove(&id).unwrap_or_else(|| Store { next_seq: floor, ..Store::default() });
            store.replace(member);
            self.members.insert(id, store);
        }
        self.sts = std::mem::take(&mut fleet.sts);
        self.organization = fleet.organization.take();
        self.management.replace(fleet);
        let members = &self.members;
        self.sessions.retain_accounts(|account| members.contains_key(account));
    }

    pub(crate) fn fleet(&self) -> Fleet {
        Fleet {
            member_accounts: self.members.iter().map(|(id, store)| (id.clone(), store.fleet())).collect(),
            sts: self.sts.clone(),
            organization: self.organization.clone(),
            ..self.management.fleet()
        }
    }

    /// The management account's resources (DTS's live there).
    pub(crate) fn management(&mut self) -> &mut Store {
        &mut self.management
    }

    /// The resources of the account `caller` acts in; an account no longer served refuses its credentials.
    pub(crate) fn resources(&mut self, caller: &Caller) -> Result<&mut Store, AuthFailure> {
        if caller.account == MANAGEMENT_ACCOUNT {
            Ok(&mut self.management)
        } else {
            self.members.get_mut(&caller.account).ok_or(AuthFailure::InvalidToken)
        }
    }

    /// Whether `account` is a member account (not the management account).
    pub(crate) fn is_member(&self, account: &str) -> bool {
        self.members.contains_key(account)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    next_seq: u64,
    connections: Vec<(u64, Connection)>,
    /// RDS's integrations.
    pub(crate) integrations: Integrations,
    /// Redshift's own integrations: a separate estate, as the two APIs list different resources.
    pub(crate) redshift_integrations: Integrations,
    /// Glue's, apart from both for the same reason.
    pub(crate) glue_integrations: Integrations,
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// DTS jobs in fleet order (DescribeDtsJobs pages by position, not by marker).
    pub(crate) dts_jobs: Vec<DtsJob>,
    pub(crate) dts_access_keys: BTreeMap<String, String>,
    pub(crate) dts_expired_tokens: BTreeSet<String>,
    /// Signature nonces already accepted by the DTS endpoint.
    pub(crate) dts_nonces: HashSet<String>,
}

impl Store {
    /// Replaces the contents; sequence numbers keep increasing so stale markers stay harmless.
    pub(crate) fn replace(&mut self, fleet: Fleet) {
        self.connections.clear();
        for c in fleet.connections {
            self.push_connection(c);
        }
        self.integrations.0 = fleet.integrations.into_iter().map(|i| (self.seq(), i)).collect();
        self.redshift_integrations.0 = fleet.redshift_integrations.into_iter().map(|i| (self.seq(), i)).collect();
        self.glue_integrations.0 = fleet.glue_integrations.into_iter().map(|i| (self.seq(), i)).collect();
        self.tags = fleet.tags;
        self.dts_jobs = fleet.dts_jobs;
        self.dts_access_keys = fleet.dts_access_keys;
        self.dts_expired_tokens = fleet.dts_expired_tokens;
    }

    pub(crate) fn fleet(&self) -> Fleet {
        Fleet {
            connections: self.connections.iter().map(|(_, c)| c.clone()).collect(),
            tags: self.tags.clone(),
            integrations: self.integrations.all(),
            redshift_integrations: self.redshift_integrations.all(),
            glue_integrations: self.glue_integrations.all(),
            dts_jobs: self.dts_jobs.clone(),
            dts_access_keys: self.dts_access_keys.clone(),
            dts_expired_tokens: self.dts_expired_tokens.clone(),
            ..Fleet::default()
        }
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn connections<'a>(&'a self, region: &'a str) -> impl Iterator<Item = (u64, &'a Connection)> + 'a {
        self.connections.iter().filter(move |(_, c)| c.region == region).map(|(seq, c)| (*seq, c))
    }

    /// The connection between `endpoint_arn` and `replication_instance_arn` in `region`.
    pub(crate) fn connection_mut(
        &mut self,
        region: &str,
        endpoint_arn: &str,
        replication_instance_arn: &str,
    ) -> Option<&mut Connection> {
        self.connections.iter_mut().map(|(_, c)| c).find(|c| {
            c.region == region
                && c.endpoint_arn == endpoint_arn
                && c.replication_instance_arn == replication_instance_arn
        })
    }

    pub(crate) fn push_connection(&mut self, connection: Connection) {
        let seq = self.seq();
        self.connections.push((seq, connection));
    }

    pub(crate) fn remove_connection(&mut self, region: &str, endpoint_arn: &str, replication_instance_arn: &str) {
        self.connections.retain(|(_, c)| {
            !(c.region == region
                && c.endpoint_arn == endpoint_arn
                && c.replication_instance_arn == replication_instance_arn)
        });
    }

    pub(crate) fn tags(&self, arn: &str) -> Option<&BTreeMap<String, String>> {
        self.tags.get(arn)
    }
}

/// One service's integrations, each with its sequence number.
#[derive(Debug, Default)]
pub(crate) struct Integrations(Vec<(u64, Integration)>);

impl Integrations {
    fn all(&self) -> Vec<Integration> {
        self.0.iter().map(|(_, i)| i.clone()).collect()
    }

    pub(crate) fn in_region<'a>(&'a self, region: &'a str) -> impl Iterator<Item = (u64, &'a Integration)> + 'a {
        self.0.iter().filter(move |(_, i)| i.region == region).map(|(seq, i)| (*seq, i))
    }

    /// The first integration in `region` that `named` accepts.
    pub(crate) fn find(&self, region: &str, named: impl Fn(&Integration) -> bool) -> Option<&Integration> {
        self.0.iter().map(|(_, i)| i).find(|i| i.region == region && named(i))
    }

    pub(crate) fn remove(&mut self, region: &str, integration_arn: &str) {
        self.0.retain(|(_, i)| !(i.region == region && i.integration_arn == integration_arn));
    }
}
