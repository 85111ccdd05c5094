//! Group commit of the txn log on a native thread that never takes the GIL.
//!
//! A Python worker thread that fsyncs must win the GIL back to report, and a busy event loop
//! holds it for up to the switch interval (5 ms): replies wait, and no new fsync starts. Here
//! the thread takes requests from a flag, syncs everything appended so far, records the
//! durable zxid and writes one byte to a socket the event loop watches. A request made while
//! a sync runs is served by the next one, back to back.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use pyo3::prelude::*;

use crate::persist::{PersistError, TxnLog};

#[derive(Default)]
struct State {
    requested: bool,
    stop: bool,
    /// The last zxid known to be on disk.
    durable_zxid: i64,
    /// The first failure; every later request fails the same way.
    error: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in the thread cannot leave State half-updated: recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Syncs a `TxnLog` on its own thread; `fileno()` becomes readable after each sync.
#[pyclass(frozen, module = "zkrecipes._core")]
pub struct LogSyncer {
    log: Py<TxnLog>,
    shared: Arc<Shared>,
    reader: UnixStream,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn sync_once(log: &TxnLog) -> Result<i64, String> {
    let (zxid, job) = log.with_core(|l| Ok((l.last_zxid(), l.prepare_commit()?)))?;
    job.run().map_err(|e| e.to_string())?;
    Ok(zxid)
}

fn run(log: Py<TxnLog>, shared: Arc<Shared>, mut notify: UnixStream) {
    loop {
        {
            let mut st = shared.state();
            while !st.requested && !st.stop {
                st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if !st.requested {
                break;
            }
            st.requested = false;
            if st.error.is_some() {
                drop(st);
                let _ = notify.write(&[1]);
                continue;
            }
        }
        let outcome = sync_once(log.get());
        {
            let mut st = shared.state();
            match outcome {
                Ok(zxid) => st.durable_zxid = st.durable_zxid.max(zxid),
                Err(e) => st.error = Some(e),
            }
        }
        // A full socket already holds an unread wake-up: nothing is lost.
        match notify.write(&[1]) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
    }
    // Py<TxnLog> is dropped without the GIL: PyO3 defers the decref.
    drop(log);
}

#[pymethods]
impl LogSyncer {
    #[new]
    fn new(py: Python<'_>, log: Py<TxnLog>, durable_zxid: i64) -> PyResult<Self> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                durable_zxid,
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        let thread_log = log.clone_ref(py);
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("txnlog-sync".into())
            .spawn(move || run(thread_log, thread_shared, writer))?;
        Ok(LogSyncer {
            log,
            shared,
            reader,
            thread: Mutex::new(Some(handle)),
        })
    }

    /// The descriptor to watch: readable once a requested sync has finished.
    fn fileno(&self) -> i32 {
        self.reader.as_raw_fd()
    }

    /// Asks for a sync of everything appended so far (returns at once).
    fn request(&self) {
        self.shared.state().requested = true;
        self.shared.wake.notify_one();
    }

    /// After `fileno()` became readable: the zxid durable so far. Raises PersistError once
    /// a sync has failed (the log can no longer be trusted to take writes).
    fn completed(&self) -> PyResult<i64> {
        let mut buf = [0u8; 64];
        loop {
            match (&self.reader).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let st = self.shared.state();
        match &st.error {
            Some(e) => Err(PersistError::new_err(e.clone())),
            None => Ok(st.durable_zxid),
        }
    }

    /// Syncs everything appended so far on the calling thread, without the GIL, and returns
    /// the zxid durable now. For a caller with nothing else to do meanwhile: it saves the two
    /// thread wake-ups of `request()` and `fileno()`, which cost more CPU than the sync itself
    /// in a virtual machine. Not to be called while a `request()` is being served. Raises
    /// PersistError as `completed()` does.
    fn sync_here(&self, py: Python<'_>) -> PyResult<i64> {
        if let Some(e) = &self.shared.state().error {
            return Err(PersistError::new_err(e.clone()));
        }
        let log = self.log.get();
        let outcome = py.allow_threads(|| sync_once(log));
        let mut st = self.shared.state();
        match outcome {
            Ok(zxid) => {
                st.durable_zxid = st.durable_zxid.max(zxid);
                Ok(st.durable_zxid)
            }
            Err(e) => {
                st.error = Some(e.clone());
                Err(PersistError::new_err(e))
            }
        }
    }

    /// Stops the thread after the sync in progress, if any.
    fn close(&self, py: Python<'_>) {
        self.shared.state().stop = true;
        self.shared.wake.notify_one();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            py.allow_threads(|| {
                let _ = h.join();
            });
        }
    }
}
