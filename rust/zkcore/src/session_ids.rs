//! Session ids and passwords as Apache ZooKeeper derives them, so that any server of a mixed
//! ensemble can validate a session password (`ZooKeeperServer.generatePasswd`).

/// `ZooKeeperServer.superSecret`.
const SUPER_SECRET: i64 = 0xB341_5C00;

/// java.util.Random's 48-bit linear congruential generator.
struct JavaRandom(u64);

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        JavaRandom((seed as u64 ^ Self::MULTIPLIER) & Self::MASK)
    }

    fn next_i32(&mut self) -> i32 {
        self.0 = (self.0.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.0 >> 16) as u32 as i32
    }

    /// `Random.nextBytes`: each int fills up to four bytes, low byte first.
    fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let mut rnd = self.next_i32();
            for b in chunk {
                *b = rnd as u8;
                rnd >>= 8;
            }
        }
    }
}

/// The 16-byte password of a session.
pub fn session_password(session_id: i64) -> [u8; 16] {
    let mut p = [0u8; 16];
    JavaRandom::new(session_id ^ SUPER_SECRET).next_bytes(&mut p);
    p
}

/// The first session id of a server (`SessionTrackerImpl.initializeNextSessionId`): the server
/// id in the top byte, milliseconds of `now_ms` in the next 40 bits.
pub fn initial_session_id(server_id: i64, now_ms: i64) -> i64 {
    let mut sid = (((now_ms as u64) << 24) >> 8) as i64;
    sid |= server_id << 56;
    if sid == i64::MIN {
        sid += 1;
    }
    sid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_the_jdk() {
        // new java.util.Random(42).nextInt() == -1170105035 (JDK reference value).
        assert_eq!(JavaRandom::new(42).next_i32(), -1_170_105_035);
        let mut r = JavaRandom::new(0);
        assert_eq!(r.next_i32(), -1_155_484_576);
        assert_eq!(r.next_i32(), -723_955_400);
    }

    #[test]
    fn password_is_deterministic_per_session() {
        assert_eq!(session_password(7), session_password(7));
        assert_ne!(session_password(7), session_password(8));
    }

    #[test]
    fn session_ids_carry_the_server_id() {
        let sid = initial_session_id(3, 1_700_000_000_000);
        assert_eq!(sid >> 56, 3);
        assert_eq!(sid & 0xff_ffff, 0);
    }
}
