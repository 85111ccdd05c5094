//! Jute binary encoding (Apache ZooKeeper's `BinaryInputArchive` / `BinaryOutputArchive`).
//!
//! Big-endian integers, booleans as one byte, strings and buffers as an `int` length followed
//! by the bytes (`-1` means null), vectors as an `int` count followed by the elements.
//! Decoding never panics on untrusted bytes: every length is checked against what is left in
//! the input and against `max_len` before anything is allocated.

use thiserror::Error;

/// Apache's default `jute.maxbuffer`: 0xfffff bytes.
pub const JUTE_MAXBUFFER_DEFAULT_BYTES: usize = 0xfffff;

/// Why a decode failed. The offset is where in the input the bad field starts.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JuteError {
    #[error("truncated input: need {need} bytes at offset {offset}, {have} left")]
    Truncated {
        offset: usize,
        need: usize,
        have: usize,
    },
    #[error("invalid length {len} at offset {offset}")]
    BadLength { offset: usize, len: i64 },
    #[error("length {len} at offset {offset} exceeds the limit of {limit} bytes")]
    TooLong {
        offset: usize,
        len: usize,
        limit: usize,
    },
    #[error("string at offset {offset} is not valid UTF-8")]
    BadUtf8 { offset: usize },
    #[error("unknown opcode {0}")]
    UnknownOpcode(i32),
    #[error("a multi mixes read and write operations (at offset {offset})")]
    MixedMulti { offset: usize },
    #[error("{0} unexpected bytes after the record")]
    TrailingBytes(usize),
}

/// A cursor over untrusted input.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max_len: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_limit(buf, JUTE_MAXBUFFER_DEFAULT_BYTES)
    }

    /// `max_len` bounds every single string, buffer and vector count.
    pub fn with_limit(buf: &'a [u8], max_len: usize) -> Self {
        Self {
            buf,
            pos: 0,
            max_len,
        }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Fails unless the whole input was consumed.
    pub fn finish(&self) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(JuteError::TrailingBytes(n)),
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated {
                offset: self.pos,
                need: n,
                have: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn read_i32(&mut self) -> Result<i32, JuteError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn read_i64(&mut self) -> Result<i64, JuteError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn read_bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// Reads a length prefix; `None` for jute's null (-1).
    fn read_len(&mut self, elem_min_bytes: usize) -> Result<Option<usize>, JuteError> {
        let offset = self.pos;
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(JuteError::BadLength {
                offset,
                len: len as i64,
            });
        }
        let len = len as usize;
        if len > self.max_len {
            return Err(JuteError::TooLong {
                offset,
                len,
                limit: self.max_len,
            });
        }
        // A count larger than the bytes left cannot be honest: refuse before allocating.
        if len.saturating_mul(elem_min_bytes) > self.remaining() {
            return Err(JuteError::Truncated {
                offset: self.pos,
                need: len.saturating_mul(elem_min_bytes),
                have: self.remaining(),
            });
        }
        Ok(Some(len))
    }

    pub fn read_buffer(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        match self.read_len(1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n)?.to_vec())),
        }
    }

    /// Jute's null string reads as the empty string: the server never distinguishes them.
    pub fn read_string(&mut self) -> Result<String, JuteError> {
        let offset = self.pos;
        match self.read_len(1)? {
            None => Ok(String::new()),
            Some(n) => {
                let bytes = self.take(n)?;
                std::str::from_utf8(bytes)
                    .map(str::to_owned)
                    .map_err(|_| JuteError::BadUtf8 { offset })
            }
        }
    }

    pub fn read_vec<T: Record>(&mut self) -> Result<Vec<T>, JuteError> {
        match self.read_len(T::MIN_BYTES)? {
            None => Ok(Vec::new()),
            Some(n) => (0..n).map(|_| T::read(self)).collect(),
        }
    }
}

/// Appends jute encodings to a byte vector.
pub trait Writer {
    fn put_i32(&mut self, v: i32);
    fn put_i64(&mut self, v: i64);
    fn put_bool(&mut self, v: bool);
    fn put_buffer(&mut self, v: Option<&[u8]>);
    fn put_string(&mut self, v: &str);
}

impl Writer for Vec<u8> {
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bool(&mut self, v: bool) {
        self.push(u8::from(v));
    }
    fn put_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_i32(b.len() as i32);
                self.extend_from_slice(b);
            }
        }
    }
    fn put_string(&mut self, v: &str) {
        self.put_buffer(Some(v.as_bytes()));
    }
}

/// A value with a jute encoding.
pub trait Record: Sized {
    /// The fewest bytes one encoded value can take (bounds vector counts before allocation).
    const MIN_BYTES: usize;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError>;
    fn write(&self, w: &mut Vec<u8>);

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }

    /// Decodes exactly one record from `buf`, refusing trailing bytes.
    fn from_bytes(buf: &[u8]) -> Result<Self, JuteError> {
        let mut r = Reader::new(buf);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Record for i32 {
    const MIN_BYTES: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_i32()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(*self)
    }
}

impl Record for i64 {
    const MIN_BYTES: usize = 8;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_i64()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i64(*self)
    }
}

impl Record for bool {
    const MIN_BYTES: usize = 1;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_bool()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_bool(*self)
    }
}

impl Record for String {
    const MIN_BYTES: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_string()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_string(self)
    }
}

/// Jute `buffer`: null is kept apart from empty because clients see the difference.
impl Record for Option<Vec<u8>> {
    const MIN_BYTES: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_buffer()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_buffer(self.as_deref())
    }
}

impl<T: Record> Record for Vec<T> {
    const MIN_BYTES: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.read_vec()
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.len() as i32);
        for item in self {
            item.write(w);
        }
    }
}

/// Declares a jute record: a struct whose fields are encoded in declaration order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $(pub $field: $ty),*
        }

        impl $crate::jute::Record for $name {
            const MIN_BYTES: usize = 0 $(+ <$ty as $crate::jute::Record>::MIN_BYTES)*;
            fn read(r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::jute::JuteError> {
                // Struct literal fields evaluate in the order written: the wire order.
                Ok(Self { $($field: <$ty as $crate::jute::Record>::read(r)?),* })
            }
            fn write(&self, w: &mut Vec<u8>) {
                $($crate::jute::Record::write(&self.$field, w);)*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_big_endian() {
        let mut w = Vec::new();
        w.put_i32(0x01020304);
        w.put_i64(-2);
        w.put_bool(true);
        w.put_string("ab");
        w.put_buffer(None);
        assert_eq!(
            w,
            [
                1, 2, 3, 4, 255, 255, 255, 255, 255, 255, 255, 254, 1, 0, 0, 0, 2, b'a', b'b', 255,
                255, 255, 255
            ]
        );
        let mut r = Reader::new(&w);
        assert_eq!(r.read_i32().unwrap(), 0x01020304);
        assert_eq!(r.read_i64().unwrap(), -2);
        assert!(r.read_bool().unwrap());
        assert_eq!(r.read_string().unwrap(), "ab");
        assert_eq!(r.read_buffer().unwrap(), None);
        r.finish().unwrap();
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        let huge = [0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            Reader::new(&huge).read_buffer(),
            Err(JuteError::TooLong { .. })
        ));
        let neg = [0xff, 0xff, 0xff, 0xfe];
        assert!(matches!(
            Reader::new(&neg).read_string(),
            Err(JuteError::BadLength { .. })
        ));
        let vec_count = [0, 0, 0x10, 0];
        assert!(matches!(
            Reader::new(&vec_count).read_vec::<i64>(),
            Err(JuteError::Truncated { .. })
        ));
        let bad_utf8 = [0, 0, 0, 1, 0xff];
        assert_eq!(
            Reader::new(&bad_utf8).read_string(),
            Err(JuteError::BadUtf8 { offset: 0 })
        );
    }
}
