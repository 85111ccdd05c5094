//! Quota enforcement at prep time (`zookeeper.enforceQuota`), as Apache 3.8's
//! `ZooKeeperServer.checkQuota` does it:
//! - only creates and setData are checked, and only against the deepest quota'd path at or
//!   above the written path (a quota higher up is not consulted);
//! - limits and usage are read from the committed tree, not from txns in flight, so each op
//!   of a multi is checked against the usage before the multi;
//! - a hard limit (countHardLimit, byteHardLimit) wins over the soft one (count, bytes); going
//!   over either is reported, going over a hard one fails the op with QuotaExceeded;
//! - the count is checked when a node is created, the bytes when the data size changes
//!   (a setData that shrinks the data is refused too while the usage stays over the limit);
//! - a limit or stats node that cannot be parsed fails the whole request (MarshallingError).

use super::{fail, malformed, Res, Stage};
use crate::proto::err;
use crate::quota::{limit_path, stat_path, top_namespace, StatsTrack};

/// What prep reports besides the txn: Apache's quota log lines and refusals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepNotes {
    /// "Quota exceeded: ..." lines Apache logs as warnings, soft and hard limits alike.
    pub warnings: Vec<String>,
    /// The top namespace of every write refused with QuotaExceeded (Apache's
    /// `quota_exceeded_error_per_namespace` counter).
    pub quota_exceeded: Vec<String>,
}

/// The change a write makes to its quota's usage.
pub(super) struct Usage {
    pub count_diff: i64,
    pub bytes_diff: i64,
}

/// One figure checked against its limit: the usage after the write, the limit that applies
/// (the hard one when set, else the soft one) and whether it is hard.
struct Limit<'a> {
    figure: &'a str,
    kind: &'a str,
    after: i64,
    limit: i64,
    hard: bool,
}

impl<'a> Limit<'a> {
    fn new(figure: &'a str, kind: &'a str, after: i64, hard_limit: i64, soft_limit: i64) -> Self {
        let hard = hard_limit > -1;
        let limit = if hard { hard_limit } else { soft_limit };
        Limit {
            figure,
            kind,
            after,
            limit,
            hard,
        }
    }
}

/// The content of a limit or stats node: `None` if the node does not exist (Apache logs an
/// error and checks nothing), a malformed request if Apache's parser would throw.
fn stats_of(tree: &crate::tree::DataTree, path: &str) -> Res<Option<StatsTrack>> {
    match tree.node(path) {
        None => Ok(None),
        Some(n) => n
            .data
            .as_deref()
            .and_then(StatsTrack::parse)
            .map(Some)
            .ok_or_else(malformed),
    }
}

impl Stage<'_, '_> {
    /// `checkQuota(path, lastData, data, type)` for a write to `path`.
    pub(super) fn check_quota(&mut self, path: &str, usage: Usage) -> Res<()> {
        if !self.ctx.config.enforce_quota {
            return Ok(());
        }
        let Some(prefix) = self.tree.quota_prefix(path) else {
            return Ok(());
        };
        let Some(limits) = stats_of(self.tree, &limit_path(&prefix))? else {
            return Ok(());
        };
        let check_count =
            usage.count_diff != 0 && (limits.count() > -1 || limits.count_hard_limit() > -1);
        let check_bytes =
            usage.bytes_diff != 0 && (limits.bytes() > -1 || limits.byte_hard_limit() > -1);
        if !check_count && !check_bytes {
            return Ok(());
        }
        let Some(current) = stats_of(self.tree, &stat_path(&prefix))? else {
            return Ok(());
        };
        let namespace = top_namespace(path);
        if check_count {
            let after = current.count() + usage.count_diff;
            let (hard, soft) = (limits.count_hard_limit(), limits.count());
            let limit = Limit::new("count", "CountLimit", after, hard, soft);
            self.against(&prefix, namespace, limit)?;
        }
        if check_bytes {
            let after = current.bytes() + usage.bytes_diff;
            let (hard, soft) = (limits.byte_hard_limit(), limits.bytes());
            let limit = Limit::new("bytes", "ByteLimit", after, hard, soft);
            self.against(&prefix, namespace, limit)?;
        }
        Ok(())
    }

    fn against(&mut self, prefix: &str, namespace: Option<&str>, l: Limit<'_>) -> Res<()> {
        if l.after <= l.limit {
            return Ok(());
        }
        let level = if l.hard { "hard" } else { "soft" };
        self.notes.warnings.push(format!(
            "Quota exceeded: {prefix} [current {}={}, {level}{}={}]",
            l.figure, l.after, l.kind, l.limit
        ));
        if !l.hard {
            return Ok(());
        }
        if let Some(ns) = namespace {
            self.notes.quota_exceeded.push(ns.to_string());
        }
        Err(fail(err::QUOTA_EXCEEDED))
    }
}
