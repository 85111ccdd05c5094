//! The zxid: a 64-bit transaction id made of the leader epoch (high 32 bits) and a counter
//! (low 32 bits). Ordering is numeric, so (epoch, counter) pairs compare lexicographically.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);

    pub fn new(epoch: u32, counter: u32) -> Self {
        Zxid((((epoch as u64) << 32) | counter as u64) as i64)
    }

    pub fn epoch(self) -> u32 {
        ((self.0 as u64) >> 32) as u32
    }

    pub fn counter(self) -> u32 {
        self.0 as u64 as u32
    }

    /// The next zxid of the same epoch; `None` when the counter would wrap (Apache then
    /// forces a new election, standalone bumps the epoch).
    pub fn next(self) -> Option<Self> {
        self.counter()
            .checked_add(1)
            .map(|c| Zxid::new(self.epoch(), c))
    }
}

impl fmt::Display for Zxid {
    /// Apache writes zxids as lowercase hex without padding (`log.1a2b`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0 as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_counter_split_and_order() {
        let z = Zxid::new(3, 7);
        assert_eq!(z.0, 0x0000_0003_0000_0007);
        assert_eq!((z.epoch(), z.counter()), (3, 7));
        assert!(Zxid::new(2, u32::MAX) < Zxid::new(3, 0));
        assert_eq!(Zxid::new(1, u32::MAX).next(), None);
        assert_eq!(Zxid::new(1, 1).next(), Some(Zxid::new(1, 2)));
        assert_eq!(Zxid::new(0xffff_ffff, 1).epoch(), 0xffff_ffff);
        assert_eq!(Zxid::new(1, 0x1f).to_string(), "0x10000001f");
    }
}
