//! Log lines for standard output, written by a thread of their own in batches.
//!
//! A request's log line is appended to a buffer under a lock (a copy, no system call); a
//! writer thread takes the whole buffer every [`FLUSH_EVERY`], or as soon as [`FLUSH_AT`]
//! bytes wait, and writes it out. So a slow reader of standard output (a log shipper that
//! falls behind) costs memory, not request time, and nothing is lost: past [`MAX_PENDING`]
//! bytes, logging waits for the writer. Lines reach stdout at most [`FLUSH_EVERY`] late.
//!
//! `tracing-appender`'s non-blocking writer does the same hand-off through a channel, one
//! message per line; waking its idle writer thread for every line cost about 1 µs per request
//! in `benches/overhead.rs`, as much as writing the line directly. Here the writer wakes on a
//! timer, so a line costs the lock and the copy.

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// Waiting bytes that wake the writer before its time.
const FLUSH_AT: usize = 64 * 1024;
/// Waiting bytes past which logging waits for the writer.
const MAX_PENDING: usize = 8 * 1024 * 1024;
/// The longest the guard's drop waits for the last lines to be written.
const FINAL_FLUSH: Duration = Duration::from_secs(2);

/// Where the log layers write: hands each line to the writer thread.
#[derive(Clone)]
pub(crate) struct Lines {
    shared: Arc<Shared>,
}

/// Writes what is still waiting when dropped, then stops the writer thread.
pub(crate) struct Flush {
    shared: Arc<Shared>,
    finished: mpsc::Receiver<()>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the writer should not wait for its timer.
    wake: Condvar,
    /// Signalled when the writer has taken what was waiting.
    room: Condvar,
}

struct State {
    pending: Vec<u8>,
    closing: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the writer thread over `out` (standard output in the server).
pub(crate) fn spawn(out: impl Write + Send + 'static) -> io::Result<(Lines, Flush)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            pending: Vec::with_capacity(FLUSH_AT),
            closing: false,
        }),
        wake: Condvar::new(),
        room: Condvar::new(),
    });
    let (done, finished) = mpsc::channel();
    let writer = shared.clone();
    std::thread::Builder::new()
        .name("aiq-log-lines".into())
        .spawn(move || {
            write_batches(&writer, out);
            let _ = done.send(());
        })?;
    Ok((
        Lines {
            shared: shared.clone(),
        },
        Flush { shared, finished },
    ))
}

/// The writer thread: takes what waits, writes it, until closed and drained.
fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::with_capacity(FLUSH_AT);
    loop {
        let closing = {
            let mut state = shared.lock();
            if !state.closing && state.pending.len() < FLUSH_AT {
                state = shared
                    .wake
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.pending, &mut batch);
            state.closing
        };
        shared.room.notify_all();
        if !batch.is_empty() {
            // Nothing to tell if standard output is gone: the lines are dropped.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        } else if closing {
            return;
        }
    }
}

/// One line being handed over.
pub(crate) struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.0.lock();
        while state.pending.len() >= MAX_PENDING && !state.closing {
            self.0.wake.notify_one();
            state = self
                .0
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_below = state.pending.len() < FLUSH_AT;
        state.pending.extend_from_slice(bytes);
        if was_below && state.pending.len() >= FLUSH_AT {
            self.0.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.shared)
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        // Bounded: a standard output nobody reads must not hold the exit.
        let _ = self.finished.recv_timeout(FINAL_FLUSH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output whose bytes the test can read back, and whose writes can be held.
    #[derive(Clone, Default)]
    struct Captured {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.bytes.lock().unwrap().extend_from_slice(bytes);
            *self.writes.lock().unwrap() += 1;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_in_few_writes_and_flushed_on_drop() {
        let out = Captured::default();
        let (lines, flush) = spawn(out.clone()).unwrap();
        for i in 0..10_000 {
            writeln!(lines.make_writer(), "line {i}").unwrap();
        }
        drop(flush);
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        let expected: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert!(
            *out.writes.lock().unwrap() < 1_000,
            "batched, not a write per line"
        );
    }

    #[test]
    fn a_stalled_output_holds_no_line_until_the_buffer_is_full() {
        let out = Captured::default();
        let held = out.gate.lock().unwrap();
        let (lines, flush) = spawn(out.clone()).unwrap();
        // Far more than a pipe holds, far less than the buffer: no write waits.
        let line = [b'x'; 1023];
        for _ in 0..4_096 {
            let mut writer = lines.make_writer();
            writer.write_all(&line).unwrap();
            writer.write_all(b"\n").unwrap();
        }
        assert!(out.bytes.lock().unwrap().len() < 4_096 * 1024);
        drop(held);
        drop(flush);
        assert_eq!(out.bytes.lock().unwrap().len(), 4_096 * 1024);
    }
}
