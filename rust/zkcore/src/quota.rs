//! Apache's `Quotas` and `StatsTrack`: where a path's quota lives and the text its limit and
//! stats nodes hold, plus the per-namespace figures `QuotaMetricsUtils` reports in `mntr`.
//!
//! A quota on `/p` is the node `/zookeeper/quota/p/zookeeper_limits` ("count=..,bytes=.." and,
//! since 3.7, ";countHardLimit=..;byteHardLimit=.."); the server keeps the usage of the
//! subtree in `/zookeeper/quota/p/zookeeper_stats`.

use std::collections::BTreeMap;

use crate::tree::{DataTree, QUOTA_PATH};

pub const LIMIT_NODE: &str = "zookeeper_limits";
pub const STAT_NODE: &str = "zookeeper_stats";

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD_LIMIT: &str = "countHardLimit";
const BYTE_HARD_LIMIT: &str = "byteHardLimit";

/// `Quotas.limitPath`.
pub fn limit_path(quota_path: &str) -> String {
    format!("{QUOTA_PATH}{quota_path}/{LIMIT_NODE}")
}

/// `Quotas.statPath`.
pub fn stat_path(quota_path: &str) -> String {
    format!("{QUOTA_PATH}{quota_path}/{STAT_NODE}")
}

/// `PathUtils.getTopNamespace`: the first component of a path ("a" for "/a/b"), the key of
/// the per-namespace metrics.
pub fn top_namespace(path: &str) -> Option<&str> {
    // Java's split drops trailing empty strings: "/" has no second part.
    let mut parts: Vec<&str> = path.split('/').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.get(1).copied()
}

/// `StatsTrack`: named counters, -1 when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses "key=long" pairs separated by ',' or ';' as Apache does; `None` where Apache's
    /// parser throws (a pair without '=', a value that is not a long).
    pub fn parse(data: &[u8]) -> Option<StatsTrack> {
        let text = String::from_utf8_lossy(data);
        let mut values = BTreeMap::new();
        if text.is_empty() {
            return Some(StatsTrack { values });
        }
        let pairs: Vec<&str> = text.split([',', ';']).collect();
        let trailing_empty = pairs.iter().rev().take_while(|p| p.is_empty()).count();
        for (i, pair) in pairs[..pairs.len() - trailing_empty].iter().enumerate() {
            if pair.is_empty() && i > 0 {
                continue; // "[,;]+" never yields empty pieces between separators
            }
            let mut kv: Vec<&str> = pair.split('=').collect();
            while kv.len() > 1 && kv.last() == Some(&"") {
                kv.pop();
            }
            let value = match kv.get(1)? {
                &"" => -1,
                v => v.strip_prefix('+').unwrap_or(v).parse().ok()?,
            };
            values.insert(kv[0].to_string(), value);
        }
        Some(StatsTrack { values })
    }

    /// A tracker with just count and bytes, as Apache writes a recounted stats node.
    pub fn usage(count: i64, bytes: i64) -> StatsTrack {
        let mut s = StatsTrack::default();
        s.set(COUNT, count);
        s.set(BYTES, bytes);
        s
    }

    fn get(&self, key: &str) -> i64 {
        self.values.get(key).copied().unwrap_or(-1)
    }

    fn set(&mut self, key: &str, value: i64) {
        self.values.insert(key.to_string(), value);
    }

    /// The node count (stats) or the soft count limit (limits).
    pub fn count(&self) -> i64 {
        self.get(COUNT)
    }

    /// The data bytes (stats) or the soft byte limit (limits).
    pub fn bytes(&self) -> i64 {
        self.get(BYTES)
    }

    pub fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD_LIMIT)
    }

    pub fn byte_hard_limit(&self) -> i64 {
        self.get(BYTE_HARD_LIMIT)
    }

    /// Adds to count and bytes (absent ones start at -1, as in Apache).
    pub fn add(&mut self, count_diff: i64, bytes_diff: i64) {
        self.set(COUNT, self.count() + count_diff);
        self.set(BYTES, self.bytes() + bytes_diff);
    }

    /// `StatsTrack.toString`: count and bytes first, then the other keys sorted, after an
    /// extra "=" that pre-3.5 parsers skip over.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("{COUNT}={},{BYTES}={}", self.count(), self.bytes());
        let extra: Vec<_> = self
            .values
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .collect();
        if !extra.is_empty() {
            s.push('=');
            for (k, v) in extra {
                s.push_str(&format!(";{k}={v}"));
            }
        }
        s.into_bytes()
    }
}

/// `QuotaMetricsUtils.getQuotaLimit`: a hard limit wins over the soft one when set.
fn effective_limit(hard: i64, soft: i64) -> i64 {
    if hard > -1 {
        hard
    } else {
        soft
    }
}

/// The quota gauges Apache 3.8 registers, in `mntr` as `zk_<namespace>_<name>`: limits summed
/// over the limit nodes and usage over the stats nodes of each top-level namespace.
/// Only leaves of the quota subtree count, as in Apache; unparsable ones are left out (Apache
/// fails the whole `mntr` on them).
pub fn namespace_gauges(tree: &DataTree) -> Vec<(String, i64)> {
    const NAMES: [&str; 4] = [
        "quota_count_limit_per_namespace",
        "quota_bytes_limit_per_namespace",
        "quota_count_usage_per_namespace",
        "quota_bytes_usage_per_namespace",
    ];
    let mut sums: [BTreeMap<String, i64>; 4] = Default::default();
    let mut stack = vec![QUOTA_PATH.to_string()];
    while let Some(path) = stack.pop() {
        let Some(node) = tree.node(&path) else {
            continue;
        };
        if node.num_children() > 0 {
            stack.extend(node.children().map(|c| format!("{path}/{c}")));
            continue;
        }
        let is_limit = path.ends_with(&format!("/{LIMIT_NODE}"));
        let is_stat = path.ends_with(&format!("/{STAT_NODE}"));
        if !is_limit && !is_stat {
            continue;
        }
        let Some(ns) = top_namespace(&path[QUOTA_PATH.len()..]) else {
            continue;
        };
        let Some(s) = node.data.as_deref().and_then(StatsTrack::parse) else {
            continue;
        };
        let figures = if is_limit {
            [
                (0, effective_limit(s.count_hard_limit(), s.count())),
                (1, effective_limit(s.byte_hard_limit(), s.bytes())),
            ]
        } else {
            [(2, s.count()), (3, s.bytes())]
        };
        for (i, v) in figures {
            *sums[i].entry(ns.to_string()).or_default() += v;
        }
    }
    NAMES
        .iter()
        .zip(sums)
        .flat_map(|(name, by_ns)| {
            by_ns
                .into_iter()
                .map(move |(ns, v)| (format!("{ns}_{name}"), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Acl, CreateTxn, Id, TxnHeader};
    use crate::txn::TxnBody;

    fn tree_with(nodes: &[(&str, &[u8])]) -> DataTree {
        let mut t = DataTree::new();
        for (i, (path, data)) in nodes.iter().enumerate() {
            let txn = TxnBody::Create(CreateTxn {
                path: path.to_string(),
                data: Some(data.to_vec()),
                acl: vec![Acl {
                    perms: crate::proto::perms::ALL,
                    id: Id {
                        scheme: "world".into(),
                        id: "anyone".into(),
                    },
                }],
                ephemeral: false,
                parent_c_version: -1,
            });
            let hdr = TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid: i as i64 + 1,
                time: 1,
                r#type: txn.type_code(),
            };
            assert_eq!(t.apply(&hdr, &txn).err, 0, "{path}");
        }
        t
    }

    #[test]
    fn gauges_sum_limit_and_stats_leaves_per_namespace() {
        // Observed on Apache: soft count 2 on /n plus hard count 10 on /n/x gives a count
        // limit of 12 for "n"; absent limits add -1 each.
        let t = tree_with(&[
            ("/n", b"ab"),
            ("/n/x", b""),
            ("/zookeeper/quota/n", b""),
            ("/zookeeper/quota/n/zookeeper_limits", b"count=2,bytes=-1"),
            ("/zookeeper/quota/n/zookeeper_stats", b""),
            ("/zookeeper/quota/n/x", b""),
            (
                "/zookeeper/quota/n/x/zookeeper_limits",
                b"count=-1,bytes=-1=;countHardLimit=10",
            ),
            ("/zookeeper/quota/s", b""),
            ("/zookeeper/quota/s/zookeeper_limits", b"garbage"),
        ]);
        // /n/x's stats node is missing: its subtree has no usage gauge.
        let g = namespace_gauges(&t);
        assert_eq!(
            g,
            vec![
                ("n_quota_count_limit_per_namespace".to_string(), 12),
                ("n_quota_bytes_limit_per_namespace".to_string(), -2),
                ("n_quota_count_usage_per_namespace".to_string(), 2),
                ("n_quota_bytes_usage_per_namespace".to_string(), 2),
            ]
        );
    }

    #[test]
    fn stats_parse_and_format_like_stats_track() {
        let s = StatsTrack::parse(b"count=3,bytes=10").unwrap();
        assert_eq!(s.to_bytes(), b"count=3,bytes=10");
        let s = StatsTrack::parse(b"count=1,bytes=2=;countHardLimit=5;byteHardLimit=-1").unwrap();
        assert_eq!(
            s.to_bytes(),
            b"count=1,bytes=2=;byteHardLimit=-1;countHardLimit=5"
        );
        assert_eq!((s.count_hard_limit(), s.byte_hard_limit()), (5, -1));
        assert_eq!(
            StatsTrack::parse(b"").unwrap().to_bytes(),
            b"count=-1,bytes=-1"
        );
        assert_eq!(StatsTrack::parse(b"count=x"), None);
        assert_eq!(StatsTrack::parse(b"count"), None);
        assert_eq!(StatsTrack::parse(b",count=1"), None);
        assert_eq!(StatsTrack::parse(b"count==4").unwrap().count(), -1);
        assert_eq!(StatsTrack::parse(b"count=+4").unwrap().count(), 4);
        let mut u = StatsTrack::usage(2, 7);
        u.add(1, -3);
        assert_eq!(u.to_bytes(), b"count=3,bytes=4");
    }

    #[test]
    fn paths_and_namespaces_follow_quotas_and_path_utils() {
        assert_eq!(limit_path("/a/b"), "/zookeeper/quota/a/b/zookeeper_limits");
        assert_eq!(stat_path("/a"), "/zookeeper/quota/a/zookeeper_stats");
        assert_eq!(top_namespace("/a/b/c"), Some("a"));
        assert_eq!(top_namespace("/a"), Some("a"));
        assert_eq!(top_namespace("/"), None);
        assert_eq!(top_namespace(""), None);
    }
}
