//! Changes of txns that are prepared but not yet applied to the tree (Apache's
//! `outstandingChanges` and `outstandingChangesForPath`): prep reads a path here first, so a
//! request sees the effect of every earlier in-flight txn.

use std::collections::{HashMap, VecDeque};

use crate::records::{Acl, StatPersisted};

/// What a node will look like once the txn `zxid` is applied; `stat == None` means deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub zxid: i64,
    pub path: String,
    pub stat: Option<StatPersisted>,
    pub child_count: i32,
    pub acl: Vec<Acl>,
    /// Length of the node's data (quota checks of a later setData use it).
    pub data_len: usize,
}

/// Outstanding change records in zxid order, with the newest record of each path at hand.
///
/// The server keeps one of these across requests when txns are in flight (ZAB leader):
/// `crate::prep::prepare_outstanding` adds the records of every txn it prepares, and
/// `complete` drops them once the txn is applied. Standalone servers that apply each txn
/// before preparing the next need none.
#[derive(Debug, Default)]
pub struct Outstanding {
    changes: VecDeque<ChangeRecord>,
    /// Sequence number of `changes[0]`; records are numbered as they are pushed.
    first_seq: u64,
    latest: HashMap<String, u64>,
}

impl Outstanding {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The newest outstanding record of `path`.
    pub fn get(&self, path: &str) -> Option<&ChangeRecord> {
        let seq = *self.latest.get(path)?;
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.changes.get(index)
    }

    /// All records, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes.iter()
    }

    pub(crate) fn push(&mut self, record: ChangeRecord) {
        let seq = self.first_seq + self.changes.len() as u64;
        self.latest.insert(record.path.clone(), seq);
        self.changes.push_back(record);
    }

    /// The txn `zxid` is applied: drop every record with a zxid up to it
    /// (`FinalRequestProcessor`).
    pub fn complete(&mut self, zxid: i64) {
        while self.changes.front().is_some_and(|c| c.zxid <= zxid) {
            if let Some(c) = self.changes.pop_front() {
                if self.latest.get(&c.path) == Some(&self.first_seq) {
                    self.latest.remove(&c.path);
                }
                self.first_seq += 1;
            }
        }
    }

    /// Forgets everything (the server stops leading, or reloads its tree).
    pub fn clear(&mut self) {
        self.first_seq += self.changes.len() as u64;
        self.changes.clear();
        self.latest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(zxid: i64, path: &str, version: i32) -> ChangeRecord {
        ChangeRecord {
            zxid,
            path: path.into(),
            stat: Some(StatPersisted {
                version,
                ..Default::default()
            }),
            child_count: 0,
            acl: vec![],
            data_len: 0,
        }
    }

    #[test]
    fn newest_record_wins_until_completed() {
        let mut o = Outstanding::new();
        o.push(rec(5, "/a", 1));
        o.push(rec(6, "/b", 1));
        o.push(rec(7, "/a", 2));
        assert_eq!(o.get("/a").unwrap().zxid, 7);
        o.complete(6);
        assert_eq!(o.len(), 1);
        assert_eq!(o.get("/a").unwrap().zxid, 7, "a newer record survives");
        assert!(o.get("/b").is_none());
        o.complete(7);
        assert!(o.is_empty() && o.get("/a").is_none());
        o.push(rec(8, "/c", 0));
        assert_eq!(o.get("/c").unwrap().zxid, 8);
        o.clear();
        assert!(o.get("/c").is_none());
        o.push(rec(9, "/c", 0));
        assert_eq!(o.get("/c").unwrap().zxid, 9);
    }
}
