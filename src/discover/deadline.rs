//! One deadline per target that every blocking step shares, so a proxy that trickles one byte at
//! a time cannot stretch a probe past it: each read and write may only wait for what is left.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// A duration the clock cannot represent (a library caller's `Duration::MAX`) is capped to
    /// a year: no practical limit, and no overflow panic.
    pub fn after(d: Duration) -> Deadline {
        const FAR: Duration = Duration::from_secs(365 * 24 * 3600);
        let now = Instant::now();
        Deadline {
            at: now
                .checked_add(d)
                .or_else(|| now.checked_add(FAR))
                .unwrap_or(now),
        }
    }

    /// Time left, or a `TimedOut` error once it has passed.
    pub fn remaining(&self) -> io::Result<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_err()
    }
}

/// A TCP stream whose every read and write is bounded by the deadline.
#[derive(Debug)]
pub struct DeadlineStream {
    inner: TcpStream,
    deadline: Deadline,
}

impl DeadlineStream {
    pub fn new(inner: TcpStream, deadline: Deadline) -> DeadlineStream {
        DeadlineStream { inner, deadline }
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .set_read_timeout(Some(self.deadline.remaining()?))?;
        self.inner.read(buf).map_err(normalize_timeout)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .set_write_timeout(Some(self.deadline.remaining()?))?;
        self.inner.write(buf).map_err(normalize_timeout)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Unix reports a socket timeout as `WouldBlock`; the rest of the code asks for `TimedOut`.
fn normalize_timeout(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the peer")
    } else {
        e
    }
}

/// Bytes read past the end of an HTTP reply head belong to whatever follows (the TLS stream);
/// this hands them out first.
#[derive(Debug)]
pub struct Rewind<S> {
    pending: Vec<u8>,
    inner: S,
}

impl<S> Rewind<S> {
    pub fn new(pending: Vec<u8>, inner: S) -> Rewind<S> {
        Rewind { pending, inner }
    }
}

impl<S: Read> Read for Rewind<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            for (slot, byte) in buf.iter_mut().zip(self.pending.drain(..n)) {
                *slot = byte;
            }
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Rewind<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_past_the_clock_is_no_panic_and_no_limit() {
        let deadline = Deadline::after(Duration::MAX);
        assert!(!deadline.expired());
        assert!(deadline.remaining().unwrap() > Duration::from_secs(3600));
    }

    #[test]
    fn rewind_hands_out_the_pending_bytes_first() {
        let mut r = Rewind::new(b"abc".to_vec(), &b"de"[..]);
        let mut buf = [0u8; 2];
        let mut got = Vec::new();
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            assert!(got.len() <= 5, "{got:?}");
        }
        assert_eq!(got, b"abcde");
    }
}
