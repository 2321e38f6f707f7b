//! Jute, ZooKeeper's binary record archive.
//!
//! Every record ZooKeeper puts on disk or on the wire is a sequence of
//! big-endian primitives:
//!
//! | jute type | bytes |
//! |---|---|
//! | `boolean` | one byte, 0 or 1 |
//! | `int` | 4, big-endian |
//! | `long` | 8, big-endian |
//! | `ustring` | `int` length (-1 for null), then the characters as Java's `BinaryOutputArchive` encodes them |
//! | `buffer` | `int` length (-1 for null), then the bytes |
//! | `vector<T>` | `int` count (-1 for null), then each `T` |
//! | record | its fields in order, no framing |
//!
//! Lengths read from untrusted bytes are checked against `jute.maxbuffer`
//! (plus the same slack Java allows) before anything is allocated, so a
//! corrupt length cannot make us allocate gigabytes.

use std::fmt;
use std::io::{self, Read, Write};

/// `jute.maxbuffer`'s default: 0xfffff bytes (1 MiB - 1).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;
/// The least slack Java adds to `jute.maxbuffer` when it checks a length it
/// reads. The slack (`zookeeper.jute.maxbuffer.extrasize`) defaults to
/// `jute.maxbuffer` itself, with this as its floor, so that a record holding
/// a maximal buffer plus its other fields can still be read.
pub const MIN_EXTRA_MAX_BUFFER: usize = 1024;

/// Why a record could not be decoded, and where.
#[derive(Debug)]
pub struct JuteError {
    /// Byte offset from the start of this archive at which decoding failed.
    pub offset: u64,
    /// What was wrong.
    pub kind: JuteErrorKind,
}

/// The ways decoding a jute record fails.
#[derive(Debug)]
pub enum JuteErrorKind {
    /// The input ended inside a record.
    Eof,
    /// A length prefix was negative (other than -1) or above the limit.
    UnreasonableLength(i64),
    /// A value that must be one of a fixed set was not (a boolean byte, a
    /// txn type, a magic number, ...).
    Invalid(String),
    /// The underlying reader failed.
    Io(io::Error),
}

impl fmt::Display for JuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JuteErrorKind::Eof => write!(f, "unexpected end of data at offset {}", self.offset),
            JuteErrorKind::UnreasonableLength(n) => {
                write!(f, "unreasonable length = {} at offset {}", n, self.offset)
            }
            JuteErrorKind::Invalid(what) => write!(f, "{} at offset {}", what, self.offset),
            JuteErrorKind::Io(e) => write!(f, "I/O error at offset {}: {}", self.offset, e),
        }
    }
}

impl std::error::Error for JuteError {}

impl From<JuteError> for io::Error {
    fn from(e: JuteError) -> io::Error {
        match e.kind {
            JuteErrorKind::Eof => io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()),
            JuteErrorKind::Io(inner) => {
                io::Error::new(inner.kind(), format!("offset {}: {}", e.offset, inner))
            }
            _ => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        }
    }
}

/// The result of decoding: a value, or where and why it failed.
pub type JuteResult<T> = Result<T, JuteError>;

/// A record that can be written to and read from a jute archive.
pub trait Record: Sized {
    /// Writes the record's fields in declaration order (`serialize`).
    fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()>;
    /// Reads a record written by [`Record::serialize`] (`deserialize`).
    fn deserialize<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self>;

    /// The record's bytes, as ZooKeeper would write them.
    fn to_bytes(&self) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::new());
        self.serialize(&mut oa)
            .expect("writing to a Vec cannot fail");
        oa.into_inner()
    }

    /// Decodes one record from the front of `bytes` (trailing bytes are
    /// left unread, as Java leaves them).
    fn from_bytes(bytes: &[u8]) -> JuteResult<Self> {
        Self::deserialize(&mut InputArchive::new(bytes))
    }
}

/// Reads jute primitives from any byte source, counting the bytes consumed so
/// that errors can name an offset.
pub struct InputArchive<R> {
    inner: R,
    pos: u64,
    max_len: usize,
}

impl<R: Read> InputArchive<R> {
    /// An archive that accepts lengths up to the default `jute.maxbuffer`
    /// plus Java's slack.
    pub fn new(inner: R) -> Self {
        Self::with_max_buffer(inner, DEFAULT_MAX_BUFFER)
    }

    /// An archive whose length check follows a configured `jute.maxbuffer`.
    pub fn with_max_buffer(inner: R, max_buffer: usize) -> Self {
        InputArchive {
            inner,
            pos: 0,
            max_len: max_buffer.saturating_add(max_buffer.max(MIN_EXTRA_MAX_BUFFER)),
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The reader underneath, mutably (reading from it directly skips
    /// the position count).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Gives back the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: JuteErrorKind) -> JuteError {
        JuteError {
            offset: self.pos,
            kind,
        }
    }

    /// An [`JuteErrorKind::Invalid`] error at the current offset.
    pub fn invalid(&self, what: impl Into<String>) -> JuteError {
        self.error(JuteErrorKind::Invalid(what.into()))
    }

    /// Fills `buf` completely or fails with `Eof`.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> JuteResult<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.error(JuteErrorKind::Eof))
            }
            Err(e) => Err(self.error(JuteErrorKind::Io(e))),
        }
    }

    /// Reads one byte (jute `byte`).
    pub fn read_byte(&mut self) -> JuteResult<u8> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// Reads a jute `boolean`: one byte, non-zero is true.
    pub fn read_bool(&mut self) -> JuteResult<bool> {
        // Java's DataInput.readBoolean treats any non-zero byte as true.
        Ok(self.read_byte()? != 0)
    }

    /// Reads a jute `int`: 4 bytes, big-endian.
    pub fn read_int(&mut self) -> JuteResult<i32> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(i32::from_be_bytes(b))
    }

    /// Reads a jute `long`: 8 bytes, big-endian.
    pub fn read_long(&mut self) -> JuteResult<i64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(i64::from_be_bytes(b))
    }

    /// Reads a length prefix: `None` for -1 (null), an error for any other
    /// negative value or one above the archive's limit.
    fn read_len(&mut self) -> JuteResult<Option<usize>> {
        let start = self.pos;
        let len = self.read_int()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.max_len {
            return Err(JuteError {
                offset: start,
                kind: JuteErrorKind::UnreasonableLength(len as i64),
            });
        }
        Ok(Some(len as usize))
    }

    /// A buffer; null reads as `None`.
    pub fn read_buffer_opt(&mut self) -> JuteResult<Option<Vec<u8>>> {
        match self.read_len()? {
            None => Ok(None),
            Some(len) => {
                let mut v = vec![0u8; len];
                self.read_exact(&mut v)?;
                Ok(Some(v))
            }
        }
    }

    /// A buffer; null reads as empty (ZooKeeper treats the two alike for
    /// znode data).
    pub fn read_buffer(&mut self) -> JuteResult<Vec<u8>> {
        Ok(self.read_buffer_opt()?.unwrap_or_default())
    }

    /// A string; null reads as `None`. Bytes that are not valid UTF-8 are
    /// replaced with U+FFFD, as Java's UTF-8 decoder replaces them.
    pub fn read_string_opt(&mut self) -> JuteResult<Option<String>> {
        Ok(self.read_buffer_opt()?.map(|b| match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }

    /// A string; null reads as empty.
    pub fn read_string(&mut self) -> JuteResult<String> {
        Ok(self.read_string_opt()?.unwrap_or_default())
    }

    /// A vector's element count; null reads as `None`. The count is not
    /// checked against the buffer limit (Java does not either), so callers
    /// must not pre-allocate from it blindly: use [`Self::read_vec`].
    pub fn read_vec_len(&mut self) -> JuteResult<Option<usize>> {
        let start = self.pos;
        let n = self.read_int()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(JuteError {
                offset: start,
                kind: JuteErrorKind::UnreasonableLength(n as i64),
            });
        }
        Ok(Some(n as usize))
    }

    /// A vector of records; null reads as empty.
    pub fn read_vec<T, F>(&mut self, mut item: F) -> JuteResult<Vec<T>>
    where
        F: FnMut(&mut Self) -> JuteResult<T>,
    {
        let n = self.read_vec_len()?.unwrap_or(0);
        // Cap the up-front allocation: a corrupt count must fail at EOF,
        // not by exhausting memory.
        let mut v = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            v.push(item(self)?);
        }
        Ok(v)
    }

    /// Reads a nested record.
    pub fn read_record<T: Record>(&mut self) -> JuteResult<T> {
        T::deserialize(self)
    }
}

/// Writes jute primitives to any byte sink.
pub struct OutputArchive<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> OutputArchive<W> {
    /// An archive writing to `inner`, at position 0.
    pub fn new(inner: W) -> Self {
        OutputArchive { inner, pos: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The writer underneath.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The writer underneath, mutably (writing to it directly skips the
    /// position count).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Gives back the writer.
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Writes bytes as they are, with no length prefix.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes one byte (jute `byte`).
    pub fn write_byte(&mut self, b: u8) -> io::Result<()> {
        self.write_raw(&[b])
    }

    /// Writes a jute `boolean`: 1 or 0.
    pub fn write_bool(&mut self, b: bool) -> io::Result<()> {
        self.write_byte(b as u8)
    }

    /// Writes a jute `int`: 4 bytes, big-endian.
    pub fn write_int(&mut self, v: i32) -> io::Result<()> {
        self.write_raw(&v.to_be_bytes())
    }

    /// Writes a jute `long`: 8 bytes, big-endian.
    pub fn write_long(&mut self, v: i64) -> io::Result<()> {
        self.write_raw(&v.to_be_bytes())
    }

    /// Writes a jute `buffer`: an `int` length, then the bytes.
    pub fn write_buffer(&mut self, b: &[u8]) -> io::Result<()> {
        self.write_int(b.len() as i32)?;
        self.write_raw(b)
    }

    /// Writes a jute `buffer` that may be null: `None` is length -1 and no
    /// bytes.
    pub fn write_buffer_opt(&mut self, b: Option<&[u8]>) -> io::Result<()> {
        match b {
            None => self.write_int(-1),
            Some(b) => self.write_buffer(b),
        }
    }

    /// Writes a string the way Java's `BinaryOutputArchive` does: each UTF-16
    /// code unit on its own, so characters outside the Basic Multilingual
    /// Plane become two 3-byte surrogate sequences (CESU-8) rather than one
    /// 4-byte UTF-8 sequence. Files we write must be byte-identical to
    /// Java's, including this quirk.
    pub fn write_string(&mut self, s: &str) -> io::Result<()> {
        if s.chars().all(|c| (c as u32) < 0x10000) {
            // Plain UTF-8 and Java's encoding agree for the BMP.
            return self.write_buffer(s.as_bytes());
        }
        let mut out = Vec::with_capacity(s.len() + 8);
        for unit in s.encode_utf16() {
            let c = unit as u32;
            if c < 0x80 {
                out.push(c as u8);
            } else if c < 0x800 {
                out.push(0xc0 | (c >> 6) as u8);
                out.push(0x80 | (c & 0x3f) as u8);
            } else {
                out.push(0xe0 | (c >> 12) as u8);
                out.push(0x80 | ((c >> 6) & 0x3f) as u8);
                out.push(0x80 | (c & 0x3f) as u8);
            }
        }
        self.write_buffer(&out)
    }

    /// Writes a jute `ustring` that may be null: `None` is length -1.
    pub fn write_string_opt(&mut self, s: Option<&str>) -> io::Result<()> {
        match s {
            None => self.write_int(-1),
            Some(s) => self.write_string(s),
        }
    }

    /// Writes a jute `vector`: an `int` count, then each item by `item`.
    pub fn write_vec<T, F>(&mut self, items: &[T], mut item: F) -> io::Result<()>
    where
        F: FnMut(&mut Self, &T) -> io::Result<()>,
    {
        self.write_int(items.len() as i32)?;
        for it in items {
            item(self, it)?;
        }
        Ok(())
    }

    /// Writes a nested record.
    pub fn write_record<T: Record>(&mut self, r: &T) -> io::Result<()> {
        r.serialize(self)
    }
}

/// A field type that can appear in a jute record: `int`, `long`,
/// `boolean`, `ustring` (String), `buffer` (`Vec<u8>`), a nested record, or a
/// vector of strings or records. Used by [`jute_record!`](crate::jute_record).
pub trait JuteField: Sized {
    /// Writes this field's value.
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()>;
    /// Reads this field's value.
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self>;
}

impl JuteField for i32 {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_int(*self)
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_int()
    }
}

impl JuteField for i64 {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_long(*self)
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_long()
    }
}

impl JuteField for bool {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_bool(*self)
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_bool()
    }
}

impl JuteField for String {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_string(self)
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_string()
    }
}

impl JuteField for Vec<u8> {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_buffer(self)
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_buffer()
    }
}

impl JuteField for Vec<String> {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_vec(self, |oa, s| oa.write_string(s))
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_vec(|ia| ia.read_string())
    }
}

impl<T: Record> JuteField for Vec<T> {
    fn write_field<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        oa.write_vec(self, |oa, r| r.serialize(oa))
    }
    fn read_field<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        ia.read_vec(|ia| T::deserialize(ia))
    }
}

/// Declares a plain jute record: a struct whose fields are written in
/// declaration order, exactly as `zookeeper.jute` declares them. Nested
/// records need `impl JuteField` (see [`jute_nested!`](crate::jute_nested)).
#[macro_export]
macro_rules! jute_record {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $( $(#[$fm])* pub $field: $ty, )* }

        impl $crate::jute::Record for $name {
            #[allow(unused_variables)]
            fn serialize<W: std::io::Write>(
                &self,
                oa: &mut $crate::jute::OutputArchive<W>,
            ) -> std::io::Result<()> {
                $( $crate::jute::JuteField::write_field(&self.$field, oa)?; )*
                Ok(())
            }
            #[allow(unused_variables)]
            fn deserialize<R: std::io::Read>(
                ia: &mut $crate::jute::InputArchive<R>,
            ) -> $crate::jute::JuteResult<Self> {
                Ok($name { $( $field: $crate::jute::JuteField::read_field(ia)?, )* })
            }
        }

        $crate::jute_nested!($name);
    };
}

/// Lets a [`Record`] appear as a field of another record.
#[macro_export]
macro_rules! jute_nested {
    ($name:ty) => {
        impl $crate::jute::JuteField for $name {
            fn write_field<W: std::io::Write>(
                &self,
                oa: &mut $crate::jute::OutputArchive<W>,
            ) -> std::io::Result<()> {
                $crate::jute::Record::serialize(self, oa)
            }
            fn read_field<R: std::io::Read>(
                ia: &mut $crate::jute::InputArchive<R>,
            ) -> $crate::jute::JuteResult<Self> {
                <$name as $crate::jute::Record>::deserialize(ia)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip_big_endian() {
        let mut oa = OutputArchive::new(Vec::new());
        oa.write_int(0x01020304).unwrap();
        oa.write_long(-2).unwrap();
        oa.write_bool(true).unwrap();
        oa.write_string("zk").unwrap();
        oa.write_buffer_opt(None).unwrap();
        let b = oa.into_inner();
        assert_eq!(&b[..4], &[1, 2, 3, 4]);
        assert_eq!(
            &b[4..12],
            &[0xff; 7].iter().chain(&[0xfe]).copied().collect::<Vec<_>>()[..]
        );
        let mut ia = InputArchive::new(&b[..]);
        assert_eq!(ia.read_int().unwrap(), 0x01020304);
        assert_eq!(ia.read_long().unwrap(), -2);
        assert!(ia.read_bool().unwrap());
        assert_eq!(ia.read_string().unwrap(), "zk");
        assert_eq!(ia.read_buffer_opt().unwrap(), None);
        assert!(matches!(
            ia.read_byte().unwrap_err().kind,
            JuteErrorKind::Eof
        ));
    }

    #[test]
    fn supplementary_characters_are_written_as_java_writes_them() {
        let mut oa = OutputArchive::new(Vec::new());
        oa.write_string("\u{1F600}").unwrap();
        // U+1F600 is the surrogate pair D83D DE00, each as 3 bytes.
        assert_eq!(
            oa.into_inner(),
            vec![0, 0, 0, 6, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]
        );
    }

    #[test]
    fn unreasonable_lengths_are_refused_before_allocating() {
        let bytes = 0x7fff_ffffi32.to_be_bytes();
        let err = InputArchive::new(&bytes[..]).read_buffer().unwrap_err();
        assert!(matches!(
            err.kind,
            JuteErrorKind::UnreasonableLength(0x7fff_ffff)
        ));
        assert_eq!(err.offset, 0);
        let bytes = (-5i32).to_be_bytes();
        assert!(InputArchive::new(&bytes[..]).read_string().is_err());
    }

    #[test]
    fn corrupt_vector_count_fails_at_eof_not_oom() {
        let bytes = 0x7fff_ffffi32.to_be_bytes();
        let err = InputArchive::new(&bytes[..])
            .read_vec(|ia| ia.read_long())
            .unwrap_err();
        assert!(matches!(err.kind, JuteErrorKind::Eof));
    }
}
