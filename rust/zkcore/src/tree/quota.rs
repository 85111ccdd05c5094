//! Apache's quota bookkeeping in the DataTree (`PathTrie`, `StatsTrack`, `updateQuotaStat`).
//!
//! A quota on `/p` exists once `/zookeeper/quota/p/zookeeper_limits` is created. From then on
//! every create, delete and setData at or under `/p` rewrites the data of
//! `/zookeeper/quota/p/zookeeper_stats` ("count=N,bytes=M"), without touching its Stat and
//! without counting the change in the approximate data size, exactly as Apache does.

use std::collections::{BTreeMap, BTreeSet};

use super::{DataTree, QUOTA_PATH};

pub const LIMIT_NODE: &str = "zookeeper_limits";
pub const STAT_NODE: &str = "zookeeper_stats";

/// The quota'd paths, as Apache's `PathTrie` splits them: components that are empty after
/// Java's `trim()` are dropped.
#[derive(Debug, Clone, Default)]
pub(super) struct QuotaTrie {
    paths: BTreeSet<Vec<String>>,
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.chars().all(|ch| ch <= ' '))
        .map(str::to_string)
        .collect()
}

impl QuotaTrie {
    fn add(&mut self, path: &str) {
        let c = components(path);
        if !c.is_empty() {
            self.paths.insert(c);
        }
    }

    /// Apache drops the whole trie subtree, so quotas below `path` go too.
    fn delete(&mut self, path: &str) {
        let c = components(path);
        if !c.is_empty() {
            self.paths.retain(|p| !p.starts_with(&c));
        }
    }

    /// Apache `getMaxPrefixWithQuota`: the deepest quota'd path containing `path`.
    pub(super) fn max_prefix(&self, path: &str) -> Option<String> {
        let c = components(path);
        (1..=c.len())
            .rev()
            .find(|&k| self.paths.contains(&c[..k]))
            .map(|k| format!("/{}", c[..k].join("/")))
    }
}

fn stat_path(quota_path: &str) -> String {
    format!("{QUOTA_PATH}{quota_path}/{STAT_NODE}")
}

/// `path` without the "/zookeeper/quota" prefix (Apache `trimQuotaPath`).
fn trim_quota_path(path: &str) -> Option<&str> {
    path.get(QUOTA_PATH.len()..)
}

/// Apache `StatsTrack(String)`; `None` where Apache would throw.
fn parse_stats(data: &[u8]) -> Option<BTreeMap<String, i64>> {
    let text = String::from_utf8_lossy(data);
    let mut stats = BTreeMap::new();
    if text.is_empty() {
        return Some(stats);
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
        stats.insert(kv[0].to_string(), value);
    }
    Some(stats)
}

/// Apache `StatsTrack.toString`: count and bytes first, other keys sorted after an "=".
fn format_stats(stats: &BTreeMap<String, i64>) -> Vec<u8> {
    let get = |k: &str| stats.get(k).copied().unwrap_or(-1);
    let mut s = format!("count={},bytes={}", get("count"), get("bytes"));
    let extra: Vec<_> = stats
        .iter()
        .filter(|(k, _)| *k != "count" && *k != "bytes")
        .collect();
    if !extra.is_empty() {
        s.push('=');
        for (k, v) in extra {
            s.push_str(&format!(";{k}={v}"));
        }
    }
    s.into_bytes()
}

impl DataTree {
    /// After a create: maintain the trie and stats for limit and stat nodes, then count the
    /// new node against its quota.
    pub(super) fn quota_on_create(&mut self, parent: &str, name: &str, path: &str, bytes: i64) {
        if parent.starts_with(QUOTA_PATH) {
            let quota_path = trim_quota_path(parent).unwrap_or("");
            if name == LIMIT_NODE {
                self.quota.add(quota_path);
            }
            if name == STAT_NODE {
                self.refresh_quota_stats(quota_path);
            }
        }
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, bytes, 1);
        }
    }

    pub(super) fn quota_on_delete(&mut self, parent: &str, name: &str, path: &str, bytes: i64) {
        if parent.starts_with(super::ZOOKEEPER_PATH) && name == LIMIT_NODE {
            if let Some(quota_path) = trim_quota_path(parent) {
                self.quota.delete(quota_path);
            }
        }
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, -bytes, -1);
        }
    }

    pub(super) fn quota_on_set_data(&mut self, path: &str, bytes_diff: i64) {
        if let Some(prefix) = self.quota.max_prefix(path) {
            self.update_quota_stat(&prefix, bytes_diff, 0);
        }
    }

    /// Apache `updateQuotaStat`: rewrite the stats node's data in place.
    fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = stat_path(prefix);
        let Some(node) = self.nodes.get(&stat_path) else {
            return;
        };
        let Some(mut stats) = node.data.as_deref().and_then(parse_stats) else {
            return;
        };
        let count = stats.get("count").copied().unwrap_or(-1);
        let bytes = stats.get("bytes").copied().unwrap_or(-1);
        stats.insert("count".into(), count + count_diff);
        stats.insert("bytes".into(), bytes + bytes_diff);
        self.write_quota_data(&stat_path, format_stats(&stats));
    }

    /// Apache `updateQuotaForPath`: count the subtree from scratch.
    fn refresh_quota_stats(&mut self, quota_path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack = vec![quota_path.to_string()];
        while let Some(p) = stack.pop() {
            let Some(n) = self.node(&p) else { continue };
            count += 1;
            bytes += n.data.as_ref().map_or(0, |d| d.len() as i64);
            stack.extend(n.children().map(|c| format!("{p}/{c}")));
        }
        let stats = BTreeMap::from([("count".to_string(), count), ("bytes".to_string(), bytes)]);
        self.write_quota_data(&stat_path(quota_path), format_stats(&stats));
    }

    /// Replaces a stats node's data the way Apache does: the Stat stays, the digest follows
    /// (it is zero under /zookeeper/ anyway) and the approximate data size does not.
    fn write_quota_data(&mut self, stat_path: &str, data: Vec<u8>) {
        let Some(node) = self.nodes.get(stat_path) else {
            return;
        };
        let old = node.data.as_ref().map_or(0, Vec::len) as i64;
        self.quota_size_drift += data.len() as i64 - old;
        self.change(stat_path, |n| n.data = Some(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_parse_and_format_like_stats_track() {
        let s = parse_stats(b"count=3,bytes=10").unwrap();
        assert_eq!(format_stats(&s), b"count=3,bytes=10");
        let s = parse_stats(b"count=1,bytes=2=;countHardLimit=5;byteHardLimit=-1").unwrap();
        assert_eq!(
            format_stats(&s),
            b"count=1,bytes=2=;byteHardLimit=-1;countHardLimit=5"
        );
        assert_eq!(
            format_stats(&parse_stats(b"").unwrap()),
            b"count=-1,bytes=-1"
        );
        assert_eq!(parse_stats(b"count=x"), None);
        assert_eq!(parse_stats(b"count"), None);
        assert_eq!(parse_stats(b",count=1"), None);
        assert_eq!(parse_stats(b"count==4").unwrap()["count"], -1);
    }

    #[test]
    fn trie_finds_the_deepest_quota_and_deletes_subtrees() {
        let mut t = QuotaTrie::default();
        t.add("/a");
        t.add("/a/b/c");
        assert_eq!(t.max_prefix("/a/b/c/d").as_deref(), Some("/a/b/c"));
        assert_eq!(t.max_prefix("/a/b").as_deref(), Some("/a"));
        assert_eq!(t.max_prefix("/ab"), None);
        t.delete("/a");
        assert_eq!(t.max_prefix("/a/b/c"), None);
    }
}
