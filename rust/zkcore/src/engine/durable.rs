//! The engine's side of durability: start from a recovered tree and sessions, and hand out
//! copies of the state for snapshots written off the event loop.

use std::collections::BTreeMap;

use super::{Engine, Session};
use crate::tree::DataTree;

/// A copy of the state to serialize: owned, so it can be written on another thread.
pub struct SnapshotState {
    pub tree: DataTree,
    pub sessions: Vec<(i64, i32)>,
}

impl Engine {
    /// Replaces the (empty) state with what recovery loaded. Restored sessions have no
    /// connection; they expire unless their clients reconnect in time.
    pub fn restore(&mut self, tree: DataTree, sessions: &BTreeMap<i64, i32>) {
        self.tree = tree;
        self.sessions = sessions
            .iter()
            .map(|(&id, &timeout_ms)| {
                (
                    id,
                    Session {
                        id,
                        timeout_ms,
                        conn: None,
                    },
                )
            })
            .collect();
        if let Some(&max) = sessions.keys().max() {
            // Same server id byte: never hand out a restored session's id again.
            if (max >> 56) == (self.next_session_id >> 56) && max >= self.next_session_id {
                self.next_session_id = max + 1;
            }
        }
    }

    /// A consistent copy of the tree and the sessions, as of the last applied txn.
    pub fn snapshot_state(&self) -> SnapshotState {
        let mut sessions: Vec<(i64, i32)> = self
            .sessions
            .values()
            .map(|s| (s.id, s.timeout_ms))
            .collect();
        sessions.sort_unstable();
        SnapshotState {
            tree: self.tree.clone(),
            sessions,
        }
    }
}
