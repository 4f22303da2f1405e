//! Overlaps reading and hashing: the copying thread fills buffers and hands them to a hashing
//! thread, which returns them for reuse. On two cores the hash then costs almost nothing on top
//! of the I/O (measured in bench/copy_file.py), and the source is still read only once.
//!
//! With no hasher (verify off) the same [`Feed`] just recycles its buffers on the caller's thread,
//! so the copy loops are written once.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use fsops::AlignedBuf;

use crate::hash::Hasher;

/// Buffers in flight: one being filled, one queued, one being hashed.
const BUFFERS: usize = 3;

/// Hands out buffers and takes filled ones back.
pub(crate) struct Feed {
    to_hasher: Option<SyncSender<(AlignedBuf, usize)>>,
    returned: Option<Receiver<AlignedBuf>>,
    spare: Vec<AlignedBuf>,
    buf_len: usize,
    made: usize,
}

impl Feed {
    /// Whether submitted buffers are hashed (verify on) or only recycled.
    pub(crate) fn hashing(&self) -> bool {
        self.to_hasher.is_some()
    }

    /// A buffer to fill (aligned, so unbuffered reads can use it).
    pub(crate) fn buf(&mut self) -> AlignedBuf {
        if let Some(b) = self.spare.pop() {
            return b;
        }
        if self.made < BUFFERS {
            self.made += 1;
            return AlignedBuf::new(self.buf_len);
        }
        match self.returned.as_ref().map(|r| r.recv()) {
            Some(Ok(b)) => b,
            // The hashing thread has gone (it only stops early by panicking, which the scope
            // re-raises at join); keep the caller going so it reaches that join.
            _ => AlignedBuf::new(self.buf_len),
        }
    }

    /// Hands over the first `n` bytes of `buf` to be hashed (or recycles it with no hasher).
    pub(crate) fn submit(&mut self, buf: AlignedBuf, n: usize) {
        match &self.to_hasher {
            Some(tx) => {
                if let Err(e) = tx.send((buf, n)) {
                    self.spare.push(e.0.0);
                }
            }
            None => self.spare.push(buf),
        }
    }
}

/// Runs `produce` with a [`Feed`]; when `hasher` is some, a second thread hashes every submitted
/// buffer in order. Returns what `produce` returned and the digest (none without a hasher).
/// If `produce` fails, the hashing thread is stopped and its work discarded.
pub(crate) fn with_hasher<T, E>(
    hasher: Option<Hasher>,
    buf_len: usize,
    produce: impl FnOnce(&mut Feed) -> Result<T, E>,
) -> Result<(T, Option<String>), E> {
    let Some(mut hasher) = hasher else {
        let mut feed = Feed {
            to_hasher: None,
            returned: None,
            spare: Vec::new(),
            buf_len,
            made: 0,
        };
        return produce(&mut feed).map(|t| (t, None));
    };
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<(AlignedBuf, usize)>(1);
        let (back_tx, back_rx) = sync_channel::<AlignedBuf>(BUFFERS);
        let worker = scope.spawn(move || {
            for (buf, n) in rx {
                hasher.update(&buf[..n]);
                // The producer may have finished (or failed) and dropped its end: fine.
                let _ = back_tx.send(buf);
            }
            hasher.finalize_hex()
        });
        let mut feed = Feed {
            to_hasher: Some(tx),
            returned: Some(back_rx),
            spare: Vec::new(),
            buf_len,
            made: 0,
        };
        let result = produce(&mut feed);
        drop(feed); // closes the channel: the worker drains what is queued and finishes
        let digest = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        result.map(|t| (t, Some(digest)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::select_hasher;
    use crate::settings::HashAlgo;

    #[test]
    fn pipelined_digest_equals_the_serial_one() {
        let data: Vec<u8> = (0..10_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut serial = select_hasher(HashAlgo::Blake3, true, 1).unwrap();
        serial.update(&data);
        let ((), digest) = with_hasher(select_hasher(HashAlgo::Blake3, true, 1), 1 << 20, |feed| {
            for chunk in data.chunks(777_777) {
                let mut b = feed.buf();
                b[..chunk.len()].copy_from_slice(chunk);
                feed.submit(b, chunk.len());
            }
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(digest.unwrap(), serial.finalize_hex());
    }

    #[test]
    fn no_hasher_means_no_digest_and_a_failing_producer_stops_cleanly() {
        let ((), d) = with_hasher(None, 4096, |feed| {
            let b = feed.buf();
            feed.submit(b, 10);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(d.is_none());
        let r: Result<((), Option<String>), &str> =
            with_hasher(select_hasher(HashAlgo::Sha256, true, 1), 4096, |feed| {
                let b = feed.buf();
                feed.submit(b, 4096);
                Err("boom")
            });
        assert_eq!(r.unwrap_err(), "boom");
    }
}
