//! Moving the bytes of one file: the copy pipeline of [`super::copy_tree`] and the read-back
//! hashing of [`super::verify`]. Both are bound by the disks, so both keep the disks busy while
//! the CPU works:
//!
//! - Copy: a reader thread reads the source (with a sequential-access hint) and hashes each
//!   block while the calling thread writes the previous one, and writeback of what was written
//!   is started every [`WRITEBACK_STEP`] bytes (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so
//!   the new array is written during the copy instead of all at once in the final `syncfs` (and
//!   dirty memory stays small on a small machine). Durability still comes only from `syncfs`.
//! - Read-back: two reader threads, each with its own open file description (its own
//!   readahead state), read alternate [`VERIFY_CHUNK`] blocks; the calling thread hashes them
//!   in file order. Two streams keep more requests in flight than one. Memory: 2 × 2 blocks.
//!
//! Why this shape (`scripts/bench-setup-copy`, 2 GiB node directory, loop-backed btrfs RAID-1,
//! 2 cores): the reader thread alone made the copy slower (more system time), writeback
//! started every 8 MiB without it did not help either; the two together cut the copy by about
//! a quarter. Two read-back streams of 16 MiB blocks were 10-15% faster than one stream of
//! 1 MiB reads; one stream of larger blocks with hashing on a second thread was slower.
//!
//! Invariants: a hash covers exactly the bytes written (copy) or read (read-back), in file
//! order, once each. Nothing here opens a path other than the one it is given, and only for
//! reading. An error on either side ends the other thread (it finds its channel closed): no
//! thread is left blocked, and the first real error is the one reported.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use anyhow::{bail, Context, Result};
use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};

use super::BUF_SIZE;

/// Blocks in flight between the copy's reader and writer.
const BUFFERS: usize = 3;
/// Start writeback of the destination after this many new bytes.
pub const WRITEBACK_STEP: u64 = 8 << 20;
/// Block size of the read-back; files up to this size are read by one thread.
pub const VERIFY_CHUNK: usize = 16 << 20;

/// Copies `input` (from its current offset to EOF) to `out` and returns the BLAKE3 hash of the
/// bytes and their count. `progress` gets the size of each block written.
pub(super) fn copy_content(
    input: &mut File,
    out: &File,
    (src, dst): (&Path, &Path),
    expected: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(String, u64)> {
    // A hint (a larger readahead window); without it the copy is only slower.
    let _ = posix_fadvise(
        input.as_raw_fd(),
        0,
        0,
        PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
    );
    if expected <= BUF_SIZE as u64 {
        // hsm_secret, config...: a thread would cost more than the copy.
        return copy_serial(input, out, (src, dst), progress);
    }
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        free_tx
            .send(vec![0u8; BUF_SIZE])
            .expect("the receiver is alive");
    }
    let (read, written) = thread::scope(|s| -> Result<_> {
        let reader = thread::Builder::new()
            .name("lnraid-copy-read".into())
            .spawn_scoped(s, move || read_and_hash(input, free_rx, full_tx))
            .context("starting the copy's reader thread")?;
        let written = write_blocks(out, full_rx, free_tx, progress);
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((read, written))
    })?;
    // A write error stops the reader early (it then returns Ok): report the write error first.
    let written = written.with_context(|| format!("writing {}", dst.display()))?;
    let (hash, size) = read.with_context(|| format!("reading {}", src.display()))?;
    if size != written {
        bail!(
            "copying {}: read {size} bytes but wrote {written}",
            src.display()
        );
    }
    Ok((hash.to_hex().to_string(), size))
}

fn copy_serial(
    input: &mut File,
    mut out: &File,
    (src, dst): (&Path, &Path),
    progress: &mut dyn FnMut(u64),
) -> Result<(String, u64)> {
    let mut buf = vec![0u8; BUF_SIZE];
    let (mut h, mut size) = (blake3::Hasher::new(), 0u64);
    loop {
        let n = read_full(input, &mut buf).with_context(|| format!("reading {}", src.display()))?;
        if n == 0 {
            return Ok((h.finalize().to_hex().to_string(), size));
        }
        h.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("writing {}", dst.display()))?;
        size += n as u64;
        progress(n as u64);
    }
}

/// The reader thread: fills free buffers until EOF, hashing each before passing it on. Ends
/// early, without error, when the writer has stopped (its channel ends are gone).
fn read_and_hash(
    input: &mut File,
    free: Receiver<Vec<u8>>,
    full: SyncSender<(Vec<u8>, usize)>,
) -> io::Result<(blake3::Hash, u64)> {
    let (mut h, mut size) = (blake3::Hasher::new(), 0u64);
    while let Ok(mut buf) = free.recv() {
        let n = read_full(input, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
        if full.send((buf, n)).is_err() {
            break;
        }
    }
    Ok((h.finalize(), size))
}

/// The writer (calling thread): writes blocks in order until the reader is done. On error it
/// returns, dropping both channel ends, which ends the reader.
fn write_blocks(
    mut out: &File,
    full: Receiver<(Vec<u8>, usize)>,
    free: SyncSender<Vec<u8>>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let (mut written, mut started) = (0u64, 0u64);
    for (buf, n) in full {
        out.write_all(&buf[..n])?;
        written += n as u64;
        if written - started >= WRITEBACK_STEP {
            start_writeback(out, started, written - started);
            started = written;
        }
        progress(n as u64);
        // Fails only when the reader has finished, which is fine: nothing more to read.
        let _ = free.send(buf);
    }
    Ok(written)
}

/// Asks the kernel to start writing this range to the disk now, without waiting for it. A
/// failure (a filesystem without support) is ignored: `syncfs` at the end is what makes the
/// copy durable; this only moves the disk work earlier.
fn start_writeback(out: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: sync_file_range takes no pointers; `out` keeps the descriptor open for the call.
    let _ = unsafe {
        nix::libc::sync_file_range(
            out.as_raw_fd(),
            offset,
            len,
            nix::libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// Reads until `buf` is full or EOF; returns the count (0 at EOF).
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Fills `buf` from `off` until full or EOF; returns the count.
fn read_full_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Hashes the whole file `first` (opened from `path`, its cached pages already dropped by the
/// caller) from offset 0 to EOF. `progress` gets the size of each block hashed.
pub(super) fn hash_read_back(
    path: &Path,
    first: File,
    progress: &mut dyn FnMut(u64),
) -> io::Result<blake3::Hash> {
    let len = first.metadata()?.len();
    let mut h = blake3::Hasher::new();
    if len <= VERIFY_CHUNK as u64 {
        let _ = posix_fadvise(
            first.as_raw_fd(),
            0,
            0,
            PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
        );
        let mut buf = vec![0u8; len.max(1) as usize];
        let mut off = 0;
        loop {
            let n = read_full_at(&first, &mut buf, off)?;
            if n == 0 {
                return Ok(h.finalize());
            }
            h.update(&buf[..n]);
            off += n as u64;
            progress(n as u64);
        }
    }
    let files = [first, File::open(path)?];
    let readers = files.len();
    let chunks = len.div_ceil(VERIFY_CHUNK as u64);
    thread::scope(|s| -> io::Result<()> {
        // Per reader: blocks it read (or its error), and buffers handed back to it. Both ends
        // the calling thread holds are dropped when this closure returns, on success or error,
        // which ends a reader that is still waiting.
        let mut full = Vec::new();
        let mut free = Vec::new();
        for (t, f) in files.iter().enumerate() {
            let (full_tx, full_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(1);
            let (free_tx, free_rx) = sync_channel::<Vec<u8>>(2);
            for _ in 0..2 {
                free_tx
                    .send(vec![0u8; VERIFY_CHUNK])
                    .expect("the receiver is alive");
            }
            full.push(full_rx);
            free.push(free_tx);
            thread::Builder::new()
                .name("lnraid-read-back".into())
                .spawn_scoped(s, move || {
                    for i in (t as u64..chunks).step_by(readers) {
                        let Ok(mut buf) = free_rx.recv() else { return };
                        let r = read_full_at(f, &mut buf, i * VERIFY_CHUNK as u64);
                        let failed = r.is_err();
                        if full_tx.send(r.map(|n| (buf, n))).is_err() || failed {
                            return;
                        }
                    }
                })?;
        }
        for i in 0..chunks {
            let t = (i % readers as u64) as usize;
            let (buf, n) = full[t]
                .recv()
                .map_err(|_| io::Error::other("a read-back thread stopped early"))??;
            h.update(&buf[..n]);
            progress(n as u64);
            let _ = free[t].send(buf);
        }
        Ok(())
    })?;
    // The chunks covered `len` bytes; a file that grew since would hash differently.
    if files[0].read_at(&mut [0u8; 1], len)? != 0 {
        return Err(io::Error::other("the file grew while being read"));
    }
    Ok(h.finalize())
}
