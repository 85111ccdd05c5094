//! A node's child set. Each entry is the child's full path, the same allocation the child
//! node keeps, so a child costs its parent one pointer rather than a copy of its name.
//! Entries are ordered and found by full path: every entry of one set starts with the same
//! parent path and slash, so that is the byte order of the names.

use super::shared_path::SharedPath;
use std::cmp::Ordering;

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

/// Children per chunk at most: 1 KiB of pointers, a memmove of at most that on insert.
const CHUNK_MAX: usize = 128;

/// A run of consecutive children, shared between a node and its snapshot copies until one of
/// them changes it (then that one chunk is copied).
type Chunk = triomphe::Arc<Vec<ChildPath>>;

/// The set: sorted chunks, each sorted, none empty.
#[derive(Debug, Clone, Default)]
struct Chunked {
    len: usize,
    chunks: Vec<Chunk>,
}

/// A node's children in name order.
///
/// A parent node is copied whenever a child is created or deleted while a snapshot holds it
/// (copy on write), so with a million children the copy must be cheap: the chunks are shared,
/// a copy takes one pointer per 128 children, and a change copies only its own chunk. Inserts
/// in name order (sequential nodes) fill each chunk before starting the next, so such a set
/// costs about one pointer a child, where a B-tree filled in order keeps about 6 of 11 slots
/// of each leaf. Chunks are 1 KiB blocks in the allocator, apart from the 112-byte nodes, so
/// a snapshot's freed copies leave no holes between nodes.
///
/// Empty sets take no allocation and one word: most nodes are leaves.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
pub(super) struct Children(Option<Box<Chunked>>);

impl PartialEq for Children {
    fn eq(&self, other: &Self) -> bool {
        // Equal sets may be cut into chunks differently.
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Children {}

impl Chunked {
    /// The chunk that holds `path` or would take it: the first whose last entry is not
    /// before it, else the last chunk. `chunks` is not empty.
    fn chunk_for(&self, path: &str) -> usize {
        let i = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|last| last.path() < path));
        i.min(self.chunks.len() - 1)
    }

    /// (chunk, Ok(index) if there, else Err(insertion index)).
    fn find(&self, path: &str) -> (usize, Result<usize, usize>) {
        let ci = self.chunk_for(path);
        (ci, self.chunks[ci].binary_search_by(|c| c.path().cmp(path)))
    }

    fn insert(&mut self, child: ChildPath) -> bool {
        if self.chunks.is_empty() {
            self.chunks.push(Chunk::new(vec![child]));
            self.len = 1;
            return true;
        }
        let (ci, found) = self.find(child.path());
        let Err(pos) = found else {
            return false;
        };
        self.len += 1;
        let last = self.chunks.len() - 1;
        if self.chunks[ci].len() < CHUNK_MAX {
            triomphe::Arc::make_mut(&mut self.chunks[ci]).insert(pos, child);
        } else if pos == 0 && ci > 0 && self.chunks[ci - 1].len() < CHUNK_MAX {
            // Between two chunks: the end of the previous one, if it has room.
            triomphe::Arc::make_mut(&mut self.chunks[ci - 1]).push(child);
        } else if pos == CHUNK_MAX && ci == last {
            // Appending in order: this chunk stays full, a new one starts.
            self.chunks.push(Chunk::new(vec![child]));
        } else if pos == 0 && ci == 0 {
            self.chunks.insert(0, Chunk::new(vec![child]));
        } else {
            let full = triomphe::Arc::make_mut(&mut self.chunks[ci]);
            let mut right = full.split_off(CHUNK_MAX / 2);
            full.shrink_to_fit();
            if pos <= CHUNK_MAX / 2 {
                full.insert(pos, child);
            } else {
                right.insert(pos - CHUNK_MAX / 2, child);
            }
            self.chunks.insert(ci + 1, Chunk::new(right));
        }
        true
    }

    fn remove(&mut self, path: &str) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let (ci, found) = self.find(path);
        let Ok(pos) = found else {
            return false;
        };
        self.len -= 1;
        let chunk = triomphe::Arc::make_mut(&mut self.chunks[ci]);
        chunk.remove(pos);
        if chunk.is_empty() {
            self.chunks.remove(ci);
            return true;
        }
        if chunk.len() * 4 <= chunk.capacity() {
            chunk.shrink_to(chunk.len() * 2);
        }
        // Deletions scattered over a large set would leave it in many small chunks: a chunk
        // and a neighbour that fit in half a chunk become one.
        if ci + 1 < self.chunks.len() {
            self.merge_if_small(ci);
        }
        if ci > 0 {
            self.merge_if_small(ci - 1);
        }
        true
    }

    /// Chunk `i + 1` moves into chunk `i` if both fit in half a chunk.
    fn merge_if_small(&mut self, i: usize) {
        if self.chunks[i].len() + self.chunks[i + 1].len() <= CHUNK_MAX / 2 {
            let next = self.chunks.remove(i + 1);
            triomphe::Arc::make_mut(&mut self.chunks[i]).extend(next.iter().cloned());
        }
    }
}

impl Children {
    /// The set of the children at `paths`, in any order, no path twice: full chunks.
    pub(super) fn from_paths(mut paths: Vec<SharedPath>) -> Self {
        if paths.is_empty() {
            return Children(None);
        }
        paths.sort_unstable();
        let len = paths.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK_MAX));
        let mut rest = paths.into_iter().map(ChildPath).peekable();
        while rest.peek().is_some() {
            chunks.push(Chunk::new(rest.by_ref().take(CHUNK_MAX).collect()));
        }
        Children(Some(Box::new(Chunked { len, chunks })))
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
        if set.len == 0 {
            self.0 = None;
        }
        removed
    }

    /// Whether the child at `path` is there.
    pub(super) fn contains(&self, path: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| !s.chunks.is_empty() && s.find(path).1.is_ok())
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.len)
    }

    /// In name order.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &ChildPath> {
        self.0
            .iter()
            .flat_map(|s| s.chunks.iter().flat_map(|c| c.iter()))
    }

    /// (chunks, children) for tests of the layout.
    #[cfg(test)]
    fn shape(&self) -> (usize, usize) {
        self.0.as_ref().map_or((0, 0), |s| (s.chunks.len(), s.len))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn names(kids: &Children) -> Vec<String> {
        kids.iter().map(|c| c.path().to_string()).collect()
    }

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

    #[test]
    fn children_added_in_order_fill_their_chunks() {
        let mut kids = Children::default();
        for i in 0..10 * CHUNK_MAX {
            assert!(kids.insert(SharedPath::new(&format!("/p/n-{i:010}"))));
        }
        assert_eq!(kids.shape(), (10, 10 * CHUNK_MAX));
        let mut reversed = Children::default();
        for i in (0..10 * CHUNK_MAX).rev() {
            assert!(reversed.insert(SharedPath::new(&format!("/p/n-{i:010}"))));
        }
        assert_eq!(reversed.shape(), (10, 10 * CHUNK_MAX));
        assert_eq!(reversed, kids);
        let rebuilt = Children::from_paths(kids.iter().rev().map(|c| c.0.clone()).collect());
        assert_eq!(rebuilt.shape(), (10, 10 * CHUNK_MAX));
        assert_eq!(rebuilt, kids);
    }

    #[test]
    fn a_change_after_a_clone_leaves_the_clone_as_it_was() {
        let mut kids = Children::default();
        for i in 0..3 * CHUNK_MAX {
            kids.insert(SharedPath::new(&format!("/p/{i:05}")));
        }
        let before = names(&kids);
        let snapshot = kids.clone();
        assert!(kids.remove("/p/00007"));
        assert!(kids.insert(SharedPath::new("/p/00007x")));
        assert!(kids.insert(SharedPath::new("/p/99999")));
        assert_eq!(names(&snapshot), before);
        assert_eq!(kids.len(), before.len() + 1);
        assert!(!snapshot.contains("/p/99999") && kids.contains("/p/99999"));
    }

    #[test]
    fn scattered_deletions_merge_chunks() {
        let mut kids = Children::default();
        for i in 0..20 * CHUNK_MAX {
            kids.insert(SharedPath::new(&format!("/p/{i:06}")));
        }
        for i in (0..20 * CHUNK_MAX).filter(|i| i % 8 != 0) {
            assert!(kids.remove(&format!("/p/{i:06}")));
        }
        let (chunks, len) = kids.shape();
        assert_eq!(len, 20 * CHUNK_MAX / 8);
        assert!(
            chunks <= len / (CHUNK_MAX / 4),
            "{chunks} chunks for {len} children"
        );
        for i in (0..20 * CHUNK_MAX).filter(|i| i % 8 == 0) {
            assert!(kids.remove(&format!("/p/{i:06}")));
        }
        assert_eq!(kids, Children::default());
        assert_eq!(kids.shape(), (0, 0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u16..600).prop_map(Op::Insert),
            3 => (0u16..600).prop_map(Op::Remove),
            1 => Just(Op::Snapshot),
        ]
    }

    proptest! {
        #[test]
        fn behaves_as_a_sorted_set_and_snapshots_stay_put(ops in prop::collection::vec(op(), 1..2000)) {
            let mut kids = Children::default();
            let mut model = BTreeSet::new();
            let mut snapshots: Vec<(Children, Vec<String>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(n) => {
                        let path = format!("/q/{n}");
                        prop_assert_eq!(kids.insert(SharedPath::new(&path)), model.insert(path));
                    }
                    Op::Remove(n) => {
                        let path = format!("/q/{n}");
                        prop_assert_eq!(kids.remove(&path), model.remove(&path));
                    }
                    Op::Snapshot => snapshots.push((kids.clone(), model.iter().cloned().collect())),
                }
                prop_assert_eq!(kids.len(), model.len());
            }
            prop_assert_eq!(names(&kids), model.iter().cloned().collect::<Vec<_>>());
            let backwards: Vec<String> = kids.iter().rev().map(|c| c.path().to_string()).collect();
            prop_assert_eq!(backwards, model.iter().rev().cloned().collect::<Vec<_>>());
            for n in 0u16..600 {
                let path = format!("/q/{n}");
                prop_assert_eq!(kids.contains(&path), model.contains(&path));
            }
            for (copy, expected) in &snapshots {
                prop_assert_eq!(&names(copy), expected);
            }
        }
    }
}
