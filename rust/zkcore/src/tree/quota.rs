//! Apache's quota bookkeeping in the DataTree (`PathTrie`, `StatsTrack`, `updateQuotaStat`).
//!
//! A quota on `/p` exists once `/zookeeper/quota/p/zookeeper_limits` is created. From then on
//! every create, delete and setData at or under `/p` rewrites the data of
//! `/zookeeper/quota/p/zookeeper_stats` ("count=N,bytes=M"), without touching its Stat and
//! without counting the change in the approximate data size, exactly as Apache does. A tree
//! loaded from a snapshot finds its quotas again and recounts their stats (`setupQuota`).

use std::collections::BTreeSet;

use super::{DataTree, QUOTA_PATH};
use crate::quota::{stat_path, StatsTrack, LIMIT_NODE, STAT_NODE};

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

/// `path` without the "/zookeeper/quota" prefix (Apache `trimQuotaPath`).
fn trim_quota_path(path: &str) -> Option<&str> {
    path.get(QUOTA_PATH.len()..)
}

impl DataTree {
    /// Apache `getMaxPrefixWithQuota`: the deepest quota'd path at or above `path`, the one
    /// whose stats a write to `path` changes and whose limits it is checked against.
    pub fn quota_prefix(&self, path: &str) -> Option<String> {
        self.quota.max_prefix(path)
    }

    /// Apache `setupQuota` after a snapshot load: every leaf limit node under
    /// /zookeeper/quota marks a quota'd path, whose stats are recounted from the tree.
    pub(super) fn setup_quotas(&mut self) {
        let suffix = format!("/{LIMIT_NODE}");
        let mut quota_paths = Vec::new();
        let mut stack = vec![QUOTA_PATH.to_string()];
        while let Some(p) = stack.pop() {
            let Some(n) = self.node(&p) else { continue };
            if n.num_children() > 0 {
                stack.extend(n.children().map(|c| format!("{p}/{c}")));
            } else if p.ends_with(&suffix) {
                // Apache cuts at the first "/zookeeper_limits" of the path.
                let end = p.find(&suffix).unwrap_or(p.len());
                quota_paths.push(p[QUOTA_PATH.len()..end].to_string());
            }
        }
        for quota_path in quota_paths {
            self.refresh_quota_stats(&quota_path);
            self.quota.add(&quota_path);
        }
    }

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
        let Some(mut stats) = node.data.as_deref().and_then(StatsTrack::parse) else {
            return;
        };
        stats.add(count_diff, bytes_diff);
        self.write_quota_data(&stat_path, stats.to_bytes());
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
        let stats = StatsTrack::usage(count, bytes);
        self.write_quota_data(&stat_path(quota_path), stats.to_bytes());
    }

    /// Replaces a stats node's data the way Apache does: the Stat stays, the digest follows
    /// (it is zero under /zookeeper/ anyway) and the approximate data size does not.
    fn write_quota_data(&mut self, stat_path: &str, data: Vec<u8>) {
        let Some(node) = self.nodes.get(stat_path) else {
            return;
        };
        let old = node.data.as_ref().map_or(0, |d| d.len()) as i64;
        self.quota_size_drift += data.len() as i64 - old;
        self.change(stat_path, |n| n.data = Some(data.into_boxed_slice()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
