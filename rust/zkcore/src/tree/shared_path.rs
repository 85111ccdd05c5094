//! `SharedPath`: an immutable, reference-counted string behind a one-word pointer. A tree
//! holds each path twice (in its node and in its parent's child set), millions of times,
//! so the pointer width and the allocation's header both matter: `Arc<str>` takes two words
//! a reference and a 16-byte header; this takes one word and an 8-byte header (a 32-bit
//! count and the 32-bit length in front of the bytes, in one allocation).

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

#[repr(C)]
struct Header {
    count: AtomicU32,
    len: u32,
}

/// Far below `u32::MAX`, so increments racing past the check cannot wrap the count.
const MAX_COUNT: u32 = i32::MAX as u32;

pub(super) struct SharedPath(NonNull<Header>);

// SAFETY: the bytes are immutable after construction and the count is atomic, as in
// `Arc<str>`, which is Send and Sync.
unsafe impl Send for SharedPath {}
// SAFETY: as above.
unsafe impl Sync for SharedPath {}

fn layout(len: usize) -> Layout {
    // Paths are bounded by the request size limit, far below isize::MAX.
    Layout::from_size_align(size_of::<Header>() + len, align_of::<Header>())
        .expect("path length fits a layout")
}

impl SharedPath {
    pub(super) fn new(s: &str) -> Self {
        let len = u32::try_from(s.len()).expect("path shorter than 4 GiB");
        let layout = layout(s.len());
        // SAFETY: the layout is never zero-sized (it includes the header); the header is
        // written before use and the bytes copied into the space reserved after it.
        unsafe {
            let p = alloc(layout).cast::<Header>();
            let Some(p) = NonNull::new(p) else {
                handle_alloc_error(layout)
            };
            p.as_ptr().write(Header {
                count: AtomicU32::new(1),
                len,
            });
            let bytes = p.as_ptr().add(1).cast::<u8>();
            std::ptr::copy_nonoverlapping(s.as_ptr(), bytes, s.len());
            SharedPath(p)
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the allocation lives while any SharedPath points to it.
        unsafe { self.0.as_ref() }
    }

    pub(super) fn as_str(&self) -> &str {
        let len = self.header().len as usize;
        // SAFETY: `len` bytes of valid UTF-8 follow the header (copied from a &str in
        // `new`) and are never written again.
        unsafe {
            let bytes = self.0.as_ptr().add(1).cast::<u8>();
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(bytes, len))
        }
    }
}

impl Clone for SharedPath {
    fn clone(&self) -> Self {
        // Relaxed as in `Arc::clone`: a new reference is made from an existing one.
        let old = self.header().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        SharedPath(self.0)
    }
}

impl Drop for SharedPath {
    fn drop(&mut self) {
        // Release/acquire as in `Arc::drop`: every use of the bytes by other owners
        // happens before the free.
        if self.header().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let len = self.header().len as usize;
        // SAFETY: this was the last reference; the layout is the one allocated with.
        unsafe { dealloc(self.0.as_ptr().cast::<u8>(), layout(len)) }
    }
}

impl Deref for SharedPath {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedPath {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for SharedPath {
    fn from(s: &str) -> Self {
        SharedPath::new(s)
    }
}

impl From<String> for SharedPath {
    fn from(s: String) -> Self {
        SharedPath::new(&s)
    }
}

impl PartialEq for SharedPath {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedPath {}

impl PartialOrd for SharedPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for SharedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_string_and_is_one_word() {
        assert_eq!(size_of::<SharedPath>(), size_of::<usize>());
        assert_eq!(size_of::<Option<SharedPath>>(), size_of::<usize>());
        for s in ["", "/", "/a/b", "/é/日本/\u{10ffff}", &"x".repeat(5000)] {
            let p = SharedPath::from(s);
            assert_eq!(&*p, s);
            assert_eq!(p.len(), s.len());
            assert_eq!(format!("{p}"), s);
        }
    }

    #[test]
    fn clones_share_and_the_last_drop_frees() {
        let p = SharedPath::from("/a/b");
        let q = p.clone();
        assert_eq!(p.0, q.0);
        assert_eq!(p.header().count.load(Ordering::Relaxed), 2);
        drop(p);
        assert_eq!(q.header().count.load(Ordering::Relaxed), 1);
        assert_eq!(&*q, "/a/b");
    }

    #[test]
    fn clones_are_dropped_from_many_threads() {
        let p = SharedPath::from("/shared/between/threads");
        std::thread::scope(|s| {
            for _ in 0..4 {
                let mine: Vec<SharedPath> = (0..1000).map(|_| p.clone()).collect();
                s.spawn(move || {
                    for c in &mine {
                        assert_eq!(&**c, "/shared/between/threads");
                    }
                });
            }
        });
        assert_eq!(p.header().count.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn orders_and_compares_as_str() {
        let (a, b) = (SharedPath::from("/a"), SharedPath::from("/a-"));
        assert!(a < b);
        assert_eq!(a, SharedPath::from("/a"));
        assert_ne!(a, b);
    }
}
