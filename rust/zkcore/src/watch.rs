//! The server's watch table, with Apache ZooKeeper 3.8's semantics (`WatchManager`,
//! `WatcherModeManager`, and how `DataTree` drives them).
//!
//! Like Apache, watches live in two tables: a *data* table (getData/exists watches) and a
//! *child* table (getChildren watches). A persistent or persistent-recursive watch (addWatch)
//! is put in both. Within one table a watcher has exactly one mode per path: adding a watch
//! replaces the mode, so a getData watch on a path that already carries a persistent watch
//! turns the data-table entry back into a one-shot watch (3.8 behaviour; 3.9 keeps both).
//!
//! Which table a tree event triggers (Apache `DataTree.createNode/deleteNode/setData`):
//! - `NodeCreated` at P: data table at P.
//! - `NodeDataChanged` at P: data table at P.
//! - `NodeDeleted` at P: data table at P, then child table at P with the watchers the data
//!   table already notified suppressed, so a watcher gets one `NodeDeleted` at most.
//! - `NodeChildrenChanged` at P (the parent of a created or deleted node): child table at P.
//!
//! Within one table, at the event's own path: standard watches fire and are consumed,
//! persistent watches fire and stay, persistent-recursive watches fire for every event type
//! except `NodeChildrenChanged`. At every ancestor path only persistent-recursive watches
//! fire, again never for `NodeChildrenChanged`. Every watcher is notified at most once per
//! event, however many of its watches match.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::proto::{event, state, watcher_type};
use crate::records::WatcherEvent;
use crate::tree::TreeEvent;

/// Identifies the receiver of notifications: one per client connection, chosen by the server
/// (the session id is a natural choice, since the watch reports print it).
pub type WatcherId = u64;

/// Apache's `WatcherMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// One-shot: consumed when it fires.
    Standard,
    /// Stays until removed; fires for events at its own path.
    Persistent,
    /// Stays until removed; fires for events at its path and below, except
    /// `NodeChildrenChanged`.
    PersistentRecursive,
}

impl WatchMode {
    fn is_recursive(self) -> bool {
        self == WatchMode::PersistentRecursive
    }
}

/// One of the two Apache `WatchManager`s.
#[derive(Debug, Default)]
struct Table {
    /// path -> watcher -> mode (Apache `watchTable` plus `WatcherModeManager`). Ordered by
    /// watcher so that trigger output and reports are deterministic.
    by_path: HashMap<String, BTreeMap<WatcherId, WatchMode>>,
    /// watcher -> watched paths (Apache `watch2Paths`). As in Apache, a watcher's entry stays
    /// (possibly empty) until the watcher is removed; the data table's reports show it.
    by_watcher: HashMap<WatcherId, HashSet<String>>,
    /// How many (path, watcher) entries are recursive: when zero, ancestors are not visited.
    recursive: usize,
}

impl Table {
    fn add(&mut self, path: &str, w: WatcherId, mode: WatchMode) {
        let watchers = match self.by_path.get_mut(path) {
            Some(m) => m,
            None => self.by_path.entry(path.to_owned()).or_default(),
        };
        let old = watchers.insert(w, mode);
        self.adjust_recursive(old, Some(mode));
        let paths = self.by_watcher.entry(w).or_default();
        if !paths.contains(path) {
            paths.insert(path.to_owned());
        }
    }

    fn adjust_recursive(&mut self, old: Option<WatchMode>, new: Option<WatchMode>) {
        let was = old.is_some_and(WatchMode::is_recursive);
        let is = new.is_some_and(WatchMode::is_recursive);
        match (was, is) {
            (false, true) => self.recursive += 1,
            (true, false) => self.recursive -= 1,
            _ => {}
        }
    }

    /// Appends to `out` the watchers this table notifies for an event, consuming the
    /// one-shot watches that fire. `out` may receive duplicates across ancestor levels.
    fn trigger(&mut self, path: &str, event_type: i32, out: &mut Vec<WatcherId>) {
        let children_changed = event_type == event::NODE_CHILDREN_CHANGED;
        let Table {
            by_path,
            by_watcher,
            recursive,
        } = self;
        // The event's own path: every mode may fire.
        let mut emptied = false;
        if let Some(watchers) = by_path.get_mut(path) {
            watchers.retain(|&w, mode| {
                if mode.is_recursive() {
                    if !children_changed {
                        out.push(w);
                    }
                    return true;
                }
                out.push(w);
                if *mode == WatchMode::Standard {
                    if let Some(paths) = by_watcher.get_mut(&w) {
                        paths.remove(path);
                    }
                    return false;
                }
                true
            });
            emptied = watchers.is_empty();
        }
        if emptied {
            by_path.remove(path);
        }
        // Ancestors: only persistent-recursive watches, never for NodeChildrenChanged.
        if *recursive == 0 || children_changed {
            return;
        }
        for ancestor in Ancestors::of(path) {
            if let Some(watchers) = by_path.get(ancestor) {
                out.extend(
                    watchers
                        .iter()
                        .filter(|(_, m)| m.is_recursive())
                        .map(|(&w, _)| w),
                );
            }
        }
    }

    /// Apache 3.8 `WatchManager.removeWatcher(path, watcher)`: drops the watch whatever its mode.
    fn remove(&mut self, path: &str, w: WatcherId) -> bool {
        let removed = self.by_watcher.get_mut(&w).is_some_and(|p| p.remove(path));
        if !removed {
            return false;
        }
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(old) = watchers.remove(&w) else {
            return false;
        };
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        self.adjust_recursive(Some(old), None);
        true
    }

    /// Apache 3.8 `WatchManager.containsWatcher(path, watcher)`: true when the path has any
    /// watch in this table, whoever set it (fixed only in 3.9 by ZOOKEEPER-4466). Reproduced
    /// because checkWatches answers depend on it.
    fn contains(&self, path: &str, _w: WatcherId) -> bool {
        self.by_path.contains_key(path)
    }

    fn remove_watcher(&mut self, w: WatcherId) {
        let Some(paths) = self.by_watcher.remove(&w) else {
            return;
        };
        for p in &paths {
            if let Some(watchers) = self.by_path.get_mut(p.as_str()) {
                let old = watchers.remove(&w);
                if watchers.is_empty() {
                    self.by_path.remove(p.as_str());
                }
                self.adjust_recursive(old, None);
            }
        }
    }

    fn size(&self) -> usize {
        self.by_path.values().map(BTreeMap::len).sum()
    }
}

/// The proper ancestors of a path, nearest first: "/a/b/c" -> "/a/b", "/a", "/".
struct Ancestors<'a> {
    rest: &'a str,
}

impl<'a> Ancestors<'a> {
    fn of(path: &'a str) -> Self {
        Ancestors { rest: path }
    }
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() || self.rest == "/" {
            return None;
        }
        self.rest = match self.rest.rfind('/') {
            Some(0) => "/",
            Some(i) => &self.rest[..i],
            None => "",
        };
        (!self.rest.is_empty()).then_some(self.rest)
    }
}

/// The counts Apache's `wchs` prints (data table only, as Apache does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSummary {
    pub connections: usize,
    pub paths: usize,
    pub total_watches: usize,
}

/// All watches of the server: Apache's data and child `WatchManager`s.
#[derive(Debug, Default)]
pub struct WatchTable {
    data: Table,
    child: Table,
    /// Reused by every trigger so that firing allocates only the result.
    scratch: Vec<WatcherId>,
}

impl WatchTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// A getData or exists watch (exists on a missing node sets one too).
    pub fn add_data(&mut self, path: &str, w: WatcherId) {
        self.data.add(path, w, WatchMode::Standard);
    }

    /// A getChildren watch.
    pub fn add_child(&mut self, path: &str, w: WatcherId) {
        self.child.add(path, w, WatchMode::Standard);
    }

    /// addWatch: a persistent watch goes in both tables (Apache `DataTree.addWatch`).
    pub fn add_persistent(&mut self, path: &str, w: WatcherId, recursive: bool) {
        let mode = if recursive {
            WatchMode::PersistentRecursive
        } else {
            WatchMode::Persistent
        };
        self.data.add(path, w, mode);
        self.child.add(path, w, mode);
    }

    /// The notifications one tree event produces, ordered by watcher; one-shot watches that
    /// fire are consumed. Feed it a txn's events in the order `DataTree::apply` returns them.
    pub fn trigger(&mut self, ev: &TreeEvent) -> Vec<(WatcherId, WatcherEvent)> {
        self.trigger_event(&ev.path, ev.kind.code())
    }

    /// The notifications of an event given by type code (`event::NODE_*`), ordered by
    /// watcher; one-shot watches that fire are consumed.
    pub fn trigger_event(&mut self, path: &str, event_type: i32) -> Vec<(WatcherId, WatcherEvent)> {
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        match event_type {
            event::NODE_CREATED | event::NODE_DATA_CHANGED => {
                self.data.trigger(path, event_type, &mut ids)
            }
            event::NODE_DELETED => {
                // Apache suppresses in the child table the watchers the data table notified:
                // the union below has the same effect, and both tables consume their watches.
                self.data.trigger(path, event_type, &mut ids);
                self.child.trigger(path, event_type, &mut ids);
            }
            event::NODE_CHILDREN_CHANGED => self.child.trigger(path, event_type, &mut ids),
            _ => {}
        }
        ids.sort_unstable();
        ids.dedup();
        let out = ids
            .iter()
            .map(|&w| {
                let ev = WatcherEvent {
                    r#type: event_type,
                    state: state::SYNC_CONNECTED,
                    path: path.to_owned(),
                };
                (w, ev)
            })
            .collect();
        self.scratch = ids;
        out
    }

    /// removeWatches for one watcher: `watcher_type::CHILDREN`, `DATA` or `ANY`; true if a
    /// watch was removed. Apache 3.8 knows no other type (it answers MARSHALLING_ERROR for
    /// `PERSISTENT` and `PERSISTENT_RECURSIVE`); those remove nothing here.
    pub fn remove(&mut self, path: &str, watcher_type: i32, w: WatcherId) -> bool {
        match watcher_type {
            watcher_type::CHILDREN => self.child.remove(path, w),
            watcher_type::DATA => self.data.remove(path, w),
            watcher_type::ANY => {
                let c = self.child.remove(path, w);
                let d = self.data.remove(path, w);
                c || d
            }
            _ => false,
        }
    }

    /// checkWatches, with Apache 3.8's answer: true when the table of that type has any watch
    /// on `path` (not necessarily `w`'s). Types other than CHILDREN, DATA and ANY give false.
    pub fn contains(&self, path: &str, watcher_type: i32, w: WatcherId) -> bool {
        match watcher_type {
            watcher_type::CHILDREN => self.child.contains(path, w),
            watcher_type::DATA => self.data.contains(path, w),
            watcher_type::ANY => self.child.contains(path, w) || self.data.contains(path, w),
            _ => false,
        }
    }

    /// Whether `watcher_type` is one Apache 3.8 accepts in checkWatches / removeWatches.
    pub fn is_known_watcher_type(watcher_type: i32) -> bool {
        matches!(
            watcher_type,
            watcher_type::CHILDREN | watcher_type::DATA | watcher_type::ANY
        )
    }

    /// The connection is gone: drop every watch it had.
    pub fn remove_watcher(&mut self, w: WatcherId) {
        self.data.remove_watcher(w);
        self.child.remove_watcher(w);
    }

    /// Apache `DataTree.getWatchCount`: entries in both tables (a persistent watch counts twice).
    pub fn watch_count(&self) -> usize {
        self.data.size() + self.child.size()
    }

    /// Paths with a watch in the data table (Apache's `wchs` reports that table only).
    pub fn paths_watched(&self) -> usize {
        self.data.by_path.len()
    }

    /// What Apache's `wchs` prints: data table only.
    pub fn summary(&self) -> WatchSummary {
        WatchSummary {
            connections: self.data.by_watcher.len(),
            paths: self.data.by_path.len(),
            total_watches: self.data.by_watcher.values().map(HashSet::len).sum(),
        }
    }

    /// `wchc`: watcher -> paths of the data table, sorted. Watchers whose watches all fired
    /// are still listed with no paths, as Apache does until the connection goes.
    pub fn by_watcher(&self) -> Vec<(WatcherId, Vec<String>)> {
        let mut out: Vec<(WatcherId, Vec<String>)> = self
            .data
            .by_watcher
            .iter()
            .map(|(&w, paths)| {
                let mut p: Vec<String> = paths.iter().cloned().collect();
                p.sort_unstable();
                (w, p)
            })
            .collect();
        out.sort_unstable_by_key(|(w, _)| *w);
        out
    }

    /// `wchp`: path -> watchers of the data table, sorted.
    pub fn by_path(&self) -> Vec<(String, Vec<WatcherId>)> {
        let mut out: Vec<(String, Vec<WatcherId>)> = self
            .data
            .by_path
            .iter()
            .map(|(p, ws)| (p.clone(), ws.keys().copied().collect()))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::event::*;

    const A: WatcherId = 1;
    const B: WatcherId = 2;
    const C: WatcherId = 3;

    fn fire(t: &mut WatchTable, path: &str, ty: i32) -> Vec<WatcherId> {
        let out = t.trigger_event(path, ty);
        for (_, ev) in &out {
            assert_eq!(ev.r#type, ty);
            assert_eq!(ev.state, state::SYNC_CONNECTED);
            assert_eq!(ev.path, path);
        }
        out.into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn ancestors_walk_up_to_root() {
        let v: Vec<&str> = Ancestors::of("/a/b/c").collect();
        assert_eq!(v, ["/a/b", "/a", "/"]);
        assert_eq!(Ancestors::of("/a").collect::<Vec<_>>(), ["/"]);
        assert_eq!(Ancestors::of("/").count(), 0);
        assert_eq!(Ancestors::of("").count(), 0);
    }

    #[test]
    fn data_watch_fires_once_on_created_changed_deleted() {
        for ty in [NODE_CREATED, NODE_DATA_CHANGED, NODE_DELETED] {
            let mut t = WatchTable::new();
            t.add_data("/a", A);
            assert_eq!(fire(&mut t, "/a", ty), [A]);
            assert_eq!(fire(&mut t, "/a", ty), [] as [WatcherId; 0], "consumed");
            assert_eq!(t.watch_count(), 0);
        }
    }

    #[test]
    fn data_watch_ignores_children_changed_and_other_paths() {
        let mut t = WatchTable::new();
        t.add_data("/a", A);
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
        assert!(fire(&mut t, "/a/b", NODE_CREATED).is_empty());
        assert!(fire(&mut t, "/", NODE_DATA_CHANGED).is_empty());
        assert!(fire(&mut t, "/ab", NODE_DATA_CHANGED).is_empty());
        assert_eq!(t.watch_count(), 1);
    }

    #[test]
    fn child_watch_fires_on_children_changed_and_deleted_only() {
        let mut t = WatchTable::new();
        t.add_child("/a", A);
        assert!(fire(&mut t, "/a", NODE_CREATED).is_empty());
        assert!(fire(&mut t, "/a", NODE_DATA_CHANGED).is_empty());
        assert_eq!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED), [A]);
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
        t.add_child("/a", A);
        assert_eq!(fire(&mut t, "/a", NODE_DELETED), [A]);
        assert_eq!(t.watch_count(), 0);
    }

    #[test]
    fn delete_notifies_once_and_consumes_data_and_child_watches() {
        let mut t = WatchTable::new();
        t.add_data("/a", A);
        t.add_child("/a", A);
        t.add_child("/a", B);
        assert_eq!(fire(&mut t, "/a", NODE_DELETED), [A, B]);
        assert_eq!(t.watch_count(), 0);
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
    }

    #[test]
    fn several_watchers_each_notified_in_id_order() {
        let mut t = WatchTable::new();
        for w in [C, A, B] {
            t.add_data("/x", w);
        }
        assert_eq!(fire(&mut t, "/x", NODE_DATA_CHANGED), [A, B, C]);
    }

    #[test]
    fn persistent_watch_sees_every_event_at_its_path_and_stays() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, false);
        for ty in [
            NODE_CREATED,
            NODE_DATA_CHANGED,
            NODE_CHILDREN_CHANGED,
            NODE_DELETED,
            NODE_DATA_CHANGED,
        ] {
            assert_eq!(fire(&mut t, "/a", ty), [A], "type {ty}");
        }
        assert!(fire(&mut t, "/a/b", NODE_CREATED).is_empty());
        assert!(fire(&mut t, "/a/b", NODE_DELETED).is_empty());
        assert_eq!(t.watch_count(), 2, "one entry in each table");
    }

    #[test]
    fn recursive_watch_sees_path_and_below_but_not_children_changed() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, true);
        assert_eq!(fire(&mut t, "/a", NODE_CREATED), [A]);
        assert_eq!(fire(&mut t, "/a", NODE_DATA_CHANGED), [A]);
        assert_eq!(fire(&mut t, "/a/b", NODE_CREATED), [A]);
        assert_eq!(fire(&mut t, "/a/b/c/d", NODE_DATA_CHANGED), [A]);
        assert_eq!(fire(&mut t, "/a/b", NODE_DELETED), [A]);
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
        assert!(fire(&mut t, "/a/b", NODE_CHILDREN_CHANGED).is_empty());
        assert!(
            fire(&mut t, "/ab", NODE_CREATED).is_empty(),
            "sibling prefix"
        );
        assert!(fire(&mut t, "/", NODE_DATA_CHANGED).is_empty(), "parent");
        assert_eq!(fire(&mut t, "/a", NODE_DELETED), [A]);
        assert_eq!(t.watch_count(), 2);
    }

    #[test]
    fn recursive_watch_on_root_sees_everything() {
        let mut t = WatchTable::new();
        t.add_persistent("/", A, true);
        assert_eq!(fire(&mut t, "/x", NODE_CREATED), [A]);
        assert_eq!(fire(&mut t, "/", NODE_DATA_CHANGED), [A]);
        assert_eq!(fire(&mut t, "/x/y/z", NODE_DELETED), [A]);
    }

    #[test]
    fn one_notification_per_watcher_whatever_matches() {
        let mut t = WatchTable::new();
        // Recursive watches at three levels plus a one-shot data watch, all for A.
        t.add_persistent("/", A, true);
        t.add_persistent("/a", A, true);
        t.add_persistent("/a/b", A, true);
        t.add_data("/a/b/c", A);
        t.add_data("/a/b/c", B);
        assert_eq!(fire(&mut t, "/a/b/c", NODE_DATA_CHANGED), [A, B]);
        assert_eq!(fire(&mut t, "/a/b/c", NODE_DATA_CHANGED), [A]);
    }

    #[test]
    fn recursive_in_child_table_fires_on_delete_when_data_side_removed() {
        // removeWatches(DATA) leaves the child-table half of a recursive watch in place, and
        // Apache's child table fires NodeDeleted for it at the path and below.
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, true);
        assert!(t.remove("/a", watcher_type::DATA, A));
        assert!(fire(&mut t, "/a/b", NODE_DATA_CHANGED).is_empty());
        assert!(fire(&mut t, "/a/b", NODE_CREATED).is_empty());
        assert_eq!(fire(&mut t, "/a/b", NODE_DELETED), [A]);
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
    }

    #[test]
    fn persistent_child_half_fires_on_children_changed_after_data_removed() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, false);
        assert!(t.remove("/a", watcher_type::DATA, A));
        assert!(fire(&mut t, "/a", NODE_DATA_CHANGED).is_empty());
        assert_eq!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED), [A]);
        assert_eq!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED), [A]);
    }

    #[test]
    fn last_added_mode_wins_per_table() {
        // 3.8: one mode per (watcher, path) in each table. A getData watch after addWatch
        // makes the data-table entry one-shot; the child-table entry stays persistent.
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, false);
        t.add_data("/a", A);
        assert_eq!(fire(&mut t, "/a", NODE_DATA_CHANGED), [A]);
        assert!(fire(&mut t, "/a", NODE_DATA_CHANGED).is_empty());
        assert_eq!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED), [A]);
        // And the other way: a one-shot watch upgraded by addWatch stays.
        let mut t = WatchTable::new();
        t.add_data("/b", B);
        t.add_persistent("/b", B, false);
        assert_eq!(fire(&mut t, "/b", NODE_DATA_CHANGED), [B]);
        assert_eq!(fire(&mut t, "/b", NODE_DATA_CHANGED), [B]);
        assert_eq!(t.watch_count(), 2, "re-adding does not duplicate");
    }

    #[test]
    fn downgrading_recursive_stops_ancestor_delivery() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, true);
        t.add_persistent("/a", A, false);
        assert!(fire(&mut t, "/a/b", NODE_CREATED).is_empty());
        assert_eq!(t.data.recursive, 0);
        assert_eq!(t.child.recursive, 0);
        t.add_persistent("/a", A, true);
        t.add_data("/a", A);
        assert_eq!(t.data.recursive, 0);
        assert_eq!(t.child.recursive, 1);
    }

    #[test]
    fn remove_by_type() {
        let mut t = WatchTable::new();
        t.add_data("/a", A);
        t.add_child("/a", A);
        assert!(!t.remove("/a", watcher_type::DATA, B), "other watcher");
        assert!(!t.remove("/b", watcher_type::DATA, A), "other path");
        assert!(t.remove("/a", watcher_type::CHILDREN, A));
        assert!(!t.remove("/a", watcher_type::CHILDREN, A), "already gone");
        assert!(fire(&mut t, "/a", NODE_CHILDREN_CHANGED).is_empty());
        assert!(t.remove("/a", watcher_type::ANY, A));
        assert!(!t.remove("/a", watcher_type::ANY, A));
        assert!(fire(&mut t, "/a", NODE_DATA_CHANGED).is_empty());
        assert_eq!(t.watch_count(), 0);
    }

    #[test]
    fn remove_any_removes_both_tables() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, true);
        assert!(t.remove("/a", watcher_type::ANY, A));
        assert_eq!(t.watch_count(), 0);
        assert_eq!((t.data.recursive, t.child.recursive), (0, 0));
        assert!(fire(&mut t, "/a/b", NODE_DELETED).is_empty());
    }

    #[test]
    fn persistent_watcher_types_are_unknown_in_3_8() {
        let mut t = WatchTable::new();
        t.add_persistent("/a", A, false);
        t.add_persistent("/b", A, true);
        assert!(!t.remove("/a", watcher_type::PERSISTENT, A));
        assert!(!t.remove("/b", watcher_type::PERSISTENT_RECURSIVE, A));
        assert!(!t.contains("/a", watcher_type::PERSISTENT, A));
        assert!(!WatchTable::is_known_watcher_type(watcher_type::PERSISTENT));
        assert!(WatchTable::is_known_watcher_type(watcher_type::ANY));
        assert_eq!(t.watch_count(), 4);
    }

    #[test]
    fn remove_one_watcher_leaves_others() {
        let mut t = WatchTable::new();
        t.add_data("/a", A);
        t.add_data("/a", B);
        assert!(t.remove("/a", watcher_type::DATA, A));
        assert_eq!(fire(&mut t, "/a", NODE_DATA_CHANGED), [B]);
    }

    #[test]
    fn contains_by_type_with_apache_3_8_answer() {
        let mut t = WatchTable::new();
        t.add_data("/d", A);
        t.add_child("/c", A);
        assert!(t.contains("/d", watcher_type::DATA, A));
        assert!(!t.contains("/d", watcher_type::CHILDREN, A));
        assert!(t.contains("/d", watcher_type::ANY, A));
        assert!(t.contains("/c", watcher_type::CHILDREN, A));
        assert!(!t.contains("/c", watcher_type::DATA, A));
        assert!(t.contains("/c", watcher_type::ANY, A));
        assert!(!t.contains("/x", watcher_type::ANY, A));
        // Apache 3.8 answers for the path, not the watcher.
        assert!(t.contains("/d", watcher_type::DATA, B));
        // Fired one-shot watches are gone.
        fire(&mut t, "/d", NODE_DATA_CHANGED);
        assert!(!t.contains("/d", watcher_type::ANY, A));
        // A recursive watch is found at its own path only.
        t.add_persistent("/r", A, true);
        assert!(t.contains("/r", watcher_type::DATA, A));
        assert!(t.contains("/r", watcher_type::CHILDREN, A));
        assert!(!t.contains("/r/x", watcher_type::ANY, A));
    }

    #[test]
    fn remove_watcher_drops_everything_of_that_watcher() {
        let mut t = WatchTable::new();
        t.add_data("/a", A);
        t.add_child("/a", A);
        t.add_persistent("/p", A, true);
        t.add_data("/a", B);
        t.remove_watcher(A);
        assert_eq!(t.watch_count(), 1);
        assert_eq!((t.data.recursive, t.child.recursive), (0, 0));
        assert!(fire(&mut t, "/p/x", NODE_CREATED).is_empty());
        assert_eq!(fire(&mut t, "/a", NODE_DELETED), [B]);
        t.remove_watcher(A);
        t.remove_watcher(C);
        assert_eq!(t.watch_count(), 0);
        assert!(t.data.by_path.is_empty() && t.child.by_path.is_empty());
    }

    #[test]
    fn counts_and_reports() {
        let mut t = WatchTable::new();
        t.add_data("/a", B);
        t.add_data("/a", A);
        t.add_data("/b", A);
        t.add_child("/c", A);
        t.add_persistent("/p", C, false);
        assert_eq!(t.watch_count(), 6);
        assert_eq!(t.paths_watched(), 3);
        assert_eq!(
            t.by_watcher(),
            vec![
                (A, vec!["/a".to_owned(), "/b".to_owned()]),
                (B, vec!["/a".to_owned()]),
                (C, vec!["/p".to_owned()]),
            ]
        );
        assert_eq!(
            t.by_path(),
            vec![
                ("/a".to_owned(), vec![A, B]),
                ("/b".to_owned(), vec![A]),
                ("/p".to_owned(), vec![C]),
            ]
        );
        assert_eq!(
            t.summary(),
            WatchSummary {
                connections: 3,
                paths: 3,
                total_watches: 4
            }
        );
        // A watcher whose data watches all fired stays listed, empty, like Apache's wchc.
        fire(&mut t, "/a", NODE_DELETED);
        assert_eq!(t.by_watcher()[1], (B, vec![]));
        assert_eq!(t.summary().connections, 3);
        t.remove_watcher(B);
        assert_eq!(t.summary().connections, 2);
    }

    #[test]
    fn unrelated_event_types_fire_nothing() {
        let mut t = WatchTable::new();
        t.add_persistent("/", A, true);
        t.add_data("/a", A);
        assert!(t.trigger_event("/a", NONE).is_empty());
        assert!(t.trigger_event("/a", DATA_WATCH_REMOVED).is_empty());
        assert_eq!(t.watch_count(), 3);
    }

    #[test]
    fn tree_events_from_apply_fire_as_apache_does() {
        use crate::records::{Acl, CreateTxn, DeleteTxn, Id, SetDataTxn, TxnHeader};
        use crate::tree::DataTree;
        use crate::txn::TxnBody;

        let mut tree = DataTree::new();
        let mut t = WatchTable::new();
        t.add_child("/", A); // getChildren("/")
        t.add_data("/a", B); // exists("/a") on a missing node
        t.add_persistent("/", C, true);
        let hdr = |zxid: i64, ty: i32| TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid,
            time: 1,
            r#type: ty,
        };
        let fire_all =
            |t: &mut WatchTable, events: &[TreeEvent]| -> Vec<(WatcherId, i32, String)> {
                events
                    .iter()
                    .flat_map(|e| t.trigger(e))
                    .map(|(w, ev)| (w, ev.r#type, ev.path))
                    .collect()
            };
        let create = TxnBody::Create(CreateTxn {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            ephemeral: false,
            parent_c_version: 1,
        });
        let r = tree.apply(&hdr(1, crate::proto::op::CREATE), &create);
        assert_eq!(r.err, 0);
        assert_eq!(
            fire_all(&mut t, &r.events),
            vec![
                (B, NODE_CREATED, "/a".to_owned()),
                (C, NODE_CREATED, "/a".to_owned()),
                (A, NODE_CHILDREN_CHANGED, "/".to_owned()),
            ]
        );
        t.add_data("/a", B);
        t.add_child("/a", B);
        let set = TxnBody::SetData(SetDataTxn {
            path: "/a".into(),
            data: None,
            version: 1,
        });
        let r = tree.apply(&hdr(2, crate::proto::op::SET_DATA), &set);
        assert_eq!(
            fire_all(&mut t, &r.events),
            vec![
                (B, NODE_DATA_CHANGED, "/a".to_owned()),
                (C, NODE_DATA_CHANGED, "/a".to_owned()),
            ]
        );
        let del = TxnBody::Delete(DeleteTxn { path: "/a".into() });
        let r = tree.apply(&hdr(3, crate::proto::op::DELETE), &del);
        assert_eq!(
            fire_all(&mut t, &r.events),
            vec![
                (B, NODE_DELETED, "/a".to_owned()),
                (C, NODE_DELETED, "/a".to_owned()),
            ],
            "B's child watch fires as part of NodeDeleted; A's child watch on / was consumed"
        );
        assert_eq!(t.watch_count(), 2);
    }

    /// Apache 3.8's algorithm transcribed literally (every ancestor visited, no counters), as
    /// the oracle for the table under random operations.
    mod model {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeSet;

        type Entries = BTreeMap<(u8, String, WatcherId), WatchMode>; // (table, path, watcher)
        const DATA_T: u8 = 0;
        const CHILD_T: u8 = 1;
        const PATHS: &[&str] = &["/", "/a", "/a/b", "/a/b/c", "/b", "/ab"];

        fn lineage(path: &str) -> Vec<(String, bool)> {
            let mut out = vec![(path.to_owned(), false)];
            out.extend(Ancestors::of(path).map(|p| (p.to_owned(), true)));
            out
        }

        fn model_trigger(
            m: &mut Entries,
            table: u8,
            path: &str,
            ty: i32,
            hit: &mut BTreeSet<WatcherId>,
        ) {
            for (level, at_parent) in lineage(path) {
                let keys: Vec<_> = m
                    .keys()
                    .filter(|(t, p, _)| *t == table && *p == level)
                    .cloned()
                    .collect();
                for k in keys {
                    let mode = m[&k];
                    if mode == WatchMode::PersistentRecursive {
                        if ty != NODE_CHILDREN_CHANGED {
                            hit.insert(k.2);
                        }
                    } else if !at_parent {
                        hit.insert(k.2);
                        if mode == WatchMode::Standard {
                            m.remove(&k);
                        }
                    }
                }
            }
        }

        #[derive(Debug, Clone)]
        enum Op {
            Data(usize, WatcherId),
            Child(usize, WatcherId),
            Persistent(usize, WatcherId, bool),
            Remove(usize, i32, WatcherId),
            Gone(WatcherId),
            Fire(usize, i32),
        }

        fn op() -> impl Strategy<Value = Op> {
            let p = 0..PATHS.len();
            let w = 1u64..4;
            prop_oneof![
                (p.clone(), w.clone()).prop_map(|(p, w)| Op::Data(p, w)),
                (p.clone(), w.clone()).prop_map(|(p, w)| Op::Child(p, w)),
                (p.clone(), w.clone(), any::<bool>()).prop_map(|(p, w, r)| Op::Persistent(p, w, r)),
                (p.clone(), 1i32..6, w.clone()).prop_map(|(p, t, w)| Op::Remove(p, t, w)),
                w.prop_map(Op::Gone),
                (p, 1i32..5).prop_map(|(p, t)| Op::Fire(p, t)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn table_matches_apache_algorithm(ops in prop::collection::vec(op(), 1..60)) {
                let mut t = WatchTable::new();
                let mut m = Entries::new();
                for o in ops {
                    match o {
                        Op::Data(p, w) => {
                            t.add_data(PATHS[p], w);
                            m.insert((DATA_T, PATHS[p].into(), w), WatchMode::Standard);
                        }
                        Op::Child(p, w) => {
                            t.add_child(PATHS[p], w);
                            m.insert((CHILD_T, PATHS[p].into(), w), WatchMode::Standard);
                        }
                        Op::Persistent(p, w, r) => {
                            t.add_persistent(PATHS[p], w, r);
                            let mode = if r { WatchMode::PersistentRecursive } else { WatchMode::Persistent };
                            m.insert((DATA_T, PATHS[p].into(), w), mode);
                            m.insert((CHILD_T, PATHS[p].into(), w), mode);
                        }
                        Op::Remove(p, ty, w) => {
                            let tables: &[u8] = match ty {
                                watcher_type::CHILDREN => &[CHILD_T],
                                watcher_type::DATA => &[DATA_T],
                                watcher_type::ANY => &[CHILD_T, DATA_T],
                                _ => &[],
                            };
                            let mut want = false;
                            for &tb in tables {
                                want |= m.remove(&(tb, PATHS[p].into(), w)).is_some();
                            }
                            prop_assert_eq!(t.remove(PATHS[p], ty, w), want);
                        }
                        Op::Gone(w) => {
                            t.remove_watcher(w);
                            m.retain(|k, _| k.2 != w);
                        }
                        Op::Fire(p, ty) => {
                            let path = PATHS[p];
                            let mut want = BTreeSet::new();
                            match ty {
                                NODE_CREATED | NODE_DATA_CHANGED => model_trigger(&mut m, DATA_T, path, ty, &mut want),
                                NODE_DELETED => {
                                    model_trigger(&mut m, DATA_T, path, ty, &mut want);
                                    model_trigger(&mut m, CHILD_T, path, ty, &mut want);
                                }
                                _ => model_trigger(&mut m, CHILD_T, path, ty, &mut want),
                            }
                            let got: Vec<WatcherId> = t.trigger_event(path, ty).into_iter().map(|(w, _)| w).collect();
                            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
                        }
                    }
                    prop_assert_eq!(t.watch_count(), m.len());
                    let rec = |tb: u8| m.iter().filter(|(k, v)| k.0 == tb && v.is_recursive()).count();
                    prop_assert_eq!(t.data.recursive, rec(DATA_T));
                    prop_assert_eq!(t.child.recursive, rec(CHILD_T));
                    for p in PATHS {
                        let has = |tb: u8| m.keys().any(|k| k.0 == tb && k.1 == *p);
                        prop_assert_eq!(t.contains(p, watcher_type::DATA, 1), has(DATA_T));
                        prop_assert_eq!(t.contains(p, watcher_type::CHILDREN, 1), has(CHILD_T));
                    }
                }
            }
        }
    }

    #[test]
    fn trigger_reuses_scratch() {
        let mut t = WatchTable::new();
        for w in 0..100 {
            t.add_data("/a", w);
        }
        assert_eq!(t.trigger_event("/a", NODE_DELETED).len(), 100);
        let cap = t.scratch.capacity();
        assert!(cap >= 100);
        for w in 0..50 {
            t.add_data("/a", w);
        }
        assert_eq!(t.trigger_event("/a", NODE_DELETED).len(), 50);
        assert_eq!(t.scratch.capacity(), cap);
    }
}
