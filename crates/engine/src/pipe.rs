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

/// Unbuffered reads in flight during a read-back. One request at a time leaves the device idle
/// while the caller compares or hashes, and a virtio disk delivers far more with two queued:
/// `fio` O_DIRECT 8 MiB reads here, 594 MB/s at queue depth 1 vs 913 MB/s at depth 2 (depth 4 no
/// better).
const READ_AHEAD: usize = 2;

/// Reads `len` bytes in `slice`-sized requests with [`READ_AHEAD`] of them in flight (one reader
/// thread each, taking turns), and hands each slice to `consume(offset, buf, got)` in order on
/// the caller's thread (`got` is what the read returned; `buf` is `slice` bytes, aligned for
/// unbuffered reads). A failed read goes through `read_error(offset, error)`. If `consume`
/// fails, the readers stop after their current request and its error is returned.
pub(crate) fn read_ahead<E>(
    len: u64,
    slice: usize,
    read: impl Fn(&mut [u8], u64) -> std::io::Result<usize> + Sync,
    read_error: impl Fn(u64, std::io::Error) -> E,
    mut consume: impl FnMut(u64, &[u8], usize) -> Result<(), E>,
) -> Result<(), E> {
    let slices = len.div_ceil(slice as u64);
    std::thread::scope(|scope| {
        let mut filled = Vec::with_capacity(READ_AHEAD);
        let mut empty = Vec::with_capacity(READ_AHEAD);
        for k in 0..READ_AHEAD as u64 {
            let (tx, rx) = sync_channel::<(AlignedBuf, std::io::Result<usize>)>(1);
            let (back_tx, back_rx) = sync_channel::<AlignedBuf>(1);
            let read = &read;
            scope.spawn(move || {
                let mut buf = AlignedBuf::new(slice);
                let mut i = k;
                while i < slices {
                    let r = read(&mut buf[..], i * slice as u64);
                    // The consumer stopped (an error, a mismatch): its ends are gone.
                    if tx.send((buf, r)).is_err() {
                        return;
                    }
                    buf = match back_rx.recv() {
                        Ok(b) => b,
                        Err(_) => return,
                    };
                    i += READ_AHEAD as u64;
                }
            });
            filled.push(rx);
            empty.push(back_tx);
        }
        for i in 0..slices {
            let k = (i % READ_AHEAD as u64) as usize;
            let off = i * slice as u64;
            // A reader only disappears before its last slice by panicking; the scope re-raises
            // that at the join, so this arm is never the end of the story.
            let Ok((buf, r)) = filled[k].recv() else {
                break;
            };
            let got = r.map_err(|e| read_error(off, e))?;
            consume(off, &buf, got)?;
            let _ = empty[k].send(buf);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::select_hasher;
    use crate::settings::HashAlgo;

    #[test]
    fn read_ahead_delivers_every_slice_in_order_and_stops_on_error() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 253) as u8).collect();
        let read = |buf: &mut [u8], off: u64| {
            let start = (off as usize).min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        };
        let mut out = Vec::new();
        read_ahead(
            data.len() as u64,
            4096,
            read,
            |_, e| e.to_string(),
            |off, buf, got| {
                assert_eq!(off as usize, out.len());
                out.extend_from_slice(&buf[..got]);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(out, data);
        // A consumer error ends the run (the readers stop, the scope joins).
        let mut seen = 0;
        let r = read_ahead(
            data.len() as u64,
            4096,
            read,
            |_, e| e.to_string(),
            |off, _, _| {
                seen += 1;
                if off >= 8192 {
                    Err("stop".to_string())
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r.unwrap_err(), "stop");
        assert_eq!(seen, 3);
        // A read error is reported with its offset.
        let r = read_ahead(
            10_000,
            4096,
            |_, off| {
                if off == 4096 {
                    Err(std::io::Error::other("bad block"))
                } else {
                    Ok(4096)
                }
            },
            |off, e| format!("{off}: {e}"),
            |_, _, _| Ok(()),
        );
        assert_eq!(r.unwrap_err(), "4096: bad block");
    }

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
