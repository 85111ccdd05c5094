//! A node's child set. Each entry is the child's full path, the same allocation the child
//! node keeps, so a child costs its parent one pointer rather than a copy of its name.
//! Entries are ordered and found by full path: every entry of one set starts with the same
//! parent path and slash, so that is the byte order of the names.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::shared_path::SharedPath;

/// The last component of a path ("" for "/"). A byte loop from the end, as names are short
/// ('/' never occurs inside a multi-byte character, so the cut is on a character boundary).
pub(super) fn last_component(path: &str) -> &str {
    let start = path
        .as_bytes()
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    &path[start..]
}

#[derive(Debug, Clone)]
pub(super) struct ChildPath(SharedPath);

impl ChildPath {
    pub(super) fn name(&self) -> &str {
        last_component(&self.0)
    }

    pub(super) fn path(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ChildPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for ChildPath {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for ChildPath {}

impl PartialOrd for ChildPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ChildPath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// Empty sets take no allocation and one word instead of a set's three: most nodes are
/// leaves.
#[allow(clippy::box_collection)]
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Children(Option<Box<BTreeSet<ChildPath>>>);

/// A node is cloned when it changes while a snapshot shares it (copy on write), and a parent
/// changes with every child created. The copy is built packed from the sorted entries (about
/// 11 per B-tree leaf) rather than in the original's shape (about 6 after inserts): with 1M
/// children that is about 12 MiB instead of 25, for the copy and for the holes the original
/// leaves in the heap when the snapshot lets it go.
impl Clone for Children {
    fn clone(&self) -> Self {
        Children(
            self.0
                .as_ref()
                .map(|set| Box::new(set.iter().cloned().collect())),
        )
    }
}

impl Children {
    /// The set of the children at `paths`, in any order, no path twice. Built in one pass,
    /// which packs the set's nodes full (inserting in order leaves them about half full).
    pub(super) fn from_paths(paths: Vec<SharedPath>) -> Self {
        if paths.is_empty() {
            return Children(None);
        }
        Children(Some(Box::new(paths.into_iter().map(ChildPath).collect())))
    }

    /// Adds the child at `path`; false if it is there already.
    pub(super) fn insert(&mut self, path: SharedPath) -> bool {
        self.0
            .get_or_insert_with(Box::default)
            .insert(ChildPath(path))
    }

    /// Removes the child at `path`.
    pub(super) fn remove(&mut self, path: &str) -> bool {
        let Some(set) = self.0.as_mut() else {
            return false;
        };
        let removed = set.remove(path);
        if set.is_empty() {
            self.0 = None;
        }
        removed
    }

    /// Whether the child at `path` is there.
    pub(super) fn contains(&self, path: &str) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(path))
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.len())
    }

    /// In name order.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &ChildPath> {
        self.0.iter().flat_map(|s| s.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_has_the_same_children_in_the_same_order() {
        let mut kids = Children::default();
        for i in (0..5000).rev() {
            assert!(kids.insert(SharedPath::new(&format!("/p/c-{i}"))));
        }
        let copy = kids.clone();
        assert_eq!(copy, kids);
        assert_eq!(copy.len(), 5000);
        let names: Vec<&str> = copy.iter().map(|c| c.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(copy.contains("/p/c-4999") && !copy.contains("/p/c-5000"));
        assert_eq!(Children::default().clone(), Children::default());
    }
}
