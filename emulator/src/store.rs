//! The live, mutable fleet: one [`Store`] per account, each holding that account's part of the fleet as a [`Fleet`]
//! (so a service's resources live in its own fleet fields, and the store knows no service), and the [`Estate`] of
//! them all with the credentials STS issued. The items of a paged collection get sequence numbers, which pagination
//! markers refer to (see `paging`).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::fleet::{Fleet, MANAGEMENT_ACCOUNT};
use crate::identity::{AuthFailure, Caller, Sessions};

/// Every account's resources and the credentials that reach them.
#[derive(Debug, Default)]
pub(crate) struct Estate {
    /// The management account's: its resources, DTS's, the STS policy and the organization.
    management: Store,
    members: BTreeMap<String, Store>,
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
        self.management.replace(fleet);
        let members = &self.members;
        self.sessions.retain_accounts(|account| members.contains_key(account));
    }

    pub(crate) fn fleet(&self) -> Fleet {
        Fleet {
            member_accounts: self.members.iter().map(|(id, store)| (id.clone(), store.fleet().clone())).collect(),
            ..self.management.fleet().clone()
        }
    }

    /// The management account's store (DTS's resources, the STS policy and the organization live there).
    pub(crate) fn management(&mut self) -> &mut Store {
        &mut self.management
    }

    /// The management account's fleet, for reading what spans accounts.
    pub(crate) fn management_fleet(&self) -> &Fleet {
        self.management.fleet()
    }

    /// The resources of the account `caller` acts in; an account no longer served refuses its credentials.
    pub(crate) fn resources(&mut self, caller: &Caller) -> Result<&mut Store, AuthFailure> {
        if caller.account == MANAGEMENT_ACCOUNT {
            Ok(&mut self.management)
        } else {
            self.members.get_mut(&caller.account).ok_or(AuthFailure::InvalidToken)
        }
    }

    /// Whether the fleet of `account` denies its caller `action` (`<service>:<Operation>`).
    pub(crate) fn denies(&self, account: &str, action: &str) -> bool {
        let store = if account == MANAGEMENT_ACCOUNT { Some(&self.management) } else { self.members.get(account) };
        store.is_some_and(|store| store.fleet().denied_actions.contains(action))
    }

    /// Whether `account` is a member account (not the management account).
    pub(crate) fn is_member(&self, account: &str) -> bool {
        self.members.contains_key(account)
    }
}

/// A collection of a fleet that services change: a field of [`Fleet`], and the name its sequence numbers are kept
/// under (the field's JSON name, unique).
pub(crate) struct Collection<T: 'static> {
    pub(crate) name: &'static str,
    pub(crate) items: fn(&mut Fleet) -> &mut Vec<T>,
}

/// One account's resources.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Its part of the fleet (without member accounts).
    live: Fleet,
    /// The sequence numbers of each collection's items, in the items' order, by collection name; given to a
    /// collection's items when it is first used after a replace, then to each item added.
    seqs: HashMap<&'static str, Vec<u64>>,
    next_seq: u64,
    /// Request nonces already accepted (DTS's signatures spend one each); kept across replaces.
    pub(crate) nonces: HashSet<String>,
    /// The last number [`Store::next_id`] gave; kept across replaces.
    last_id: u64,
}

impl Store {
    /// Replaces the contents; sequence numbers keep increasing so stale markers stay harmless.
    pub(crate) fn replace(&mut self, fleet: Fleet) {
        self.live = fleet;
        self.seqs.clear();
    }

    /// A number this store has not given before, for the id of a resource a call creates: counted, so tests see the
    /// same ids run after run.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// The resources as they are now.
    pub(crate) fn fleet(&self) -> &Fleet {
        &self.live
    }

    /// The items of `collection`, the sequence numbers kept for them (numbering them if they have none yet), and the
    /// last number given.
    fn numbered<T>(&mut self, collection: &Collection<T>) -> (&mut Vec<T>, &mut Vec<u64>, &mut u64) {
        let items = (collection.items)(&mut self.live);
        let next_seq = &mut self.next_seq;
        let seqs = self.seqs.entry(collection.name).or_insert_with(|| {
            (0..items.len())
                .map(|_| {
                    *next_seq += 1;
                    *next_seq
                })
                .collect()
        });
        (items, seqs, next_seq)
    }

    /// Each item of `collection` with its sequence number, in order.
    pub(crate) fn sequenced<T>(&mut self, collection: &Collection<T>) -> impl Iterator<Item = (u64, &T)> {
        let (items, seqs, _) = self.numbered(collection);
        seqs.iter().copied().zip(items.iter())
    }

    /// The first item of `collection` that `wanted` accepts.
    pub(crate) fn find_mut<T>(&mut self, collection: &Collection<T>, wanted: impl Fn(&T) -> bool) -> Option<&mut T> {
        (collection.items)(&mut self.live).iter_mut().find(|item| wanted(item))
    }

    /// Adds `item` to the end of `collection`.
    pub(crate) fn push<T>(&mut self, collection: &Collection<T>, item: T) {
        let (items, seqs, next_seq) = self.numbered(collection);
        items.push(item);
        *next_seq += 1;
        seqs.push(*next_seq);
    }

    /// Removes the first item of `collection` that `gone` accepts.
    pub(crate) fn remove_first<T>(&mut self, collection: &Collection<T>, gone: impl Fn(&T) -> bool) {
        let (items, seqs, _) = self.numbered(collection);
        if let Some(index) = items.iter().position(gone) {
            items.remove(index);
            seqs.remove(index);
        }
    }

    /// Removes every item of `collection` that `gone` accepts.
    pub(crate) fn remove<T>(&mut self, collection: &Collection<T>, gone: impl Fn(&T) -> bool) {
        let (items, seqs, _) = self.numbered(collection);
        // `retain` visits each element once, in order, so both walk the same flags.
        let keep: Vec<bool> = items.iter().map(|item| !gone(item)).collect();
        let mut flags = keep.iter();
        seqs.retain(|_| flags.next().copied().unwrap_or(true));
        let mut flags = keep.into_iter();
        items.retain(|_| flags.next().unwrap_or(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Connection;

    const CONNECTIONS: Collection<Connection> = Collection { name: "connections", items: |f| &mut f.connections };

    fn connection(name: &str) -> Connection {
        Connection::new(
            "us-east-1",
            &format!("arn:aws:dms:us-east-1:1:endpoint:{name}"),
            "arn:aws:dms:us-east-1:1:rep:R",
        )
    }

    fn seqs(store: &mut Store) -> Vec<(u64, String)> {
        store.sequenced(&CONNECTIONS).map(|(seq, c)| (seq, c.endpoint_identifier().to_owned())).collect()
    }

    #[test]
    fn items_keep_their_numbers_through_removals_and_get_new_ones_after_a_replace() {
        let mut store = Store::default();
        store.replace(Fleet {
            connections: vec![connection("A"), connection("B"), connection("C")],
            ..Fleet::default()
        });
        assert_eq!(seqs(&mut store), [(1, "A".into()), (2, "B".into()), (3, "C".into())]);
        store.remove(&CONNECTIONS, |c| c.endpoint_identifier() == "B");
        store.push(&CONNECTIONS, connection("D"));
        assert_eq!(seqs(&mut store), [(1, "A".into()), (3, "C".into()), (4, "D".into())]);
        if let Some(c) = store.find_mut(&CONNECTIONS, |c| c.endpoint_identifier() == "A") {
            c.status = "testing".into();
        }
        assert_eq!(store.fleet().connections[0].status, "testing");
        store.replace(Fleet { connections: vec![connection("E")], ..Fleet::default() });
        assert_eq!(seqs(&mut store), [(5, "E".into())], "numbers keep increasing across replaces");
    }
}
