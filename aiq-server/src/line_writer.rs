//! Log lines for standard output, written by a thread of their own in batches.
//!
//! A request's log line is appended to a buffer under a lock (a copy, no system call); a
//! writer thread, woken by the first line of a batch, gathers lines for [`FLUSH_EVERY`] (or
//! until [`FLUSH_AT`] bytes wait) and writes them out in one go. So a slow reader of standard
//! output (a log shipper that falls behind) costs memory, not request time: past
//! [`MAX_PENDING`] waiting bytes logging waits for the writer, and no line is dropped while the
//! server runs. Lines reach stdout at most [`FLUSH_EVERY`] late; an idle server's writer sleeps.
//!
//! `tracing-appender`'s non-blocking writer does the same hand-off through a channel, one
//! message per line; waking its idle writer thread for every line cost about 1 µs per request
//! in `benches/overhead.rs`, as much as writing the line directly. Here a line costs the lock
//! and the copy, and at most one wake-up per batch.
//!
//! The one-shot commands print their results on stdout themselves, so they log through
//! [`Lines::direct`], in order with what they print.

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// Waiting bytes that end the gathering early.
const FLUSH_AT: usize = 64 * 1024;
/// Waiting bytes past which logging waits for the writer.
const MAX_PENDING: usize = 8 * 1024 * 1024;
/// The longest the guard's drop waits for the last lines to be written.
const FINAL_FLUSH: Duration = Duration::from_secs(2);

/// Where the log layers write.
#[derive(Clone)]
pub(crate) enum Lines {
    /// Each line is handed to the writer thread.
    Batched(Arc<Shared>),
    /// Each line is written to standard output at once.
    Direct,
}

/// Writes what is still waiting when dropped (for at most [`FINAL_FLUSH`]), then stops the
/// writer thread; lines logged later are written at once.
pub(crate) struct Flush {
    shared: Arc<Shared>,
    finished: mpsc::Receiver<()>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Where the batches go; lines logged once the writer has stopped go there directly.
    out: Mutex<Box<dyn Write + Send>>,
    /// Signalled when a batch starts or should be written before its time.
    wake: Condvar,
    /// Signalled when the writer has taken what was waiting.
    room: Condvar,
}

struct State {
    pending: Vec<u8>,
    closing: bool,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_out(&self, bytes: &[u8]) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // Nothing to tell if standard output is gone: the lines are dropped.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }
}

impl Lines {
    /// Standard output, written on the logging thread.
    pub(crate) fn direct() -> Self {
        Self::Direct
    }

    /// Starts the writer thread over `out` (standard output in the server).
    pub(crate) fn batched(out: impl Write + Send + 'static) -> io::Result<(Self, Flush)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: Vec::with_capacity(FLUSH_AT),
                closing: false,
                stopped: false,
            }),
            out: Mutex::new(Box::new(out)),
            wake: Condvar::new(),
            room: Condvar::new(),
        });
        let (done, finished) = mpsc::channel();
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("aiq-log-lines".into())
            .spawn(move || {
                write_batches(&writer);
                let _ = done.send(());
            })?;
        Ok((Self::Batched(shared.clone()), Flush { shared, finished }))
    }
}

/// The writer thread: waits for a line, gathers more, writes them; until closed and drained.
fn write_batches(shared: &Shared) {
    let mut batch = Vec::with_capacity(FLUSH_AT);
    loop {
        let closing = {
            let mut state = shared.lock();
            while state.pending.is_empty() && !state.closing {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !state.closing && state.pending.len() < FLUSH_AT {
                state = shared
                    .wake
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.pending, &mut batch);
            if state.closing && batch.is_empty() {
                state.stopped = true;
            }
            state.closing
        };
        shared.room.notify_all();
        if batch.is_empty() && closing {
            return;
        }
        shared.write_out(&batch);
        batch.clear();
    }
}

/// One line being written.
pub(crate) enum Line<'a> {
    Batched(&'a Shared),
    Direct(io::Stdout),
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let shared = match self {
            Line::Direct(stdout) => return stdout.write(bytes),
            Line::Batched(shared) => *shared,
        };
        let mut state = shared.lock();
        if state.stopped {
            drop(state);
            shared.write_out(bytes);
            return Ok(bytes.len());
        }
        while state.pending.len() >= MAX_PENDING && !state.closing {
            shared.wake.notify_one();
            state = shared
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let before = state.pending.len();
        state.pending.extend_from_slice(bytes);
        // The first line of a batch wakes the writer; so does a batch grown past its size.
        if before == 0 || (before < FLUSH_AT && state.pending.len() >= FLUSH_AT) {
            shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Line::Direct(stdout) => stdout.flush(),
            Line::Batched(_) => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        match self {
            Lines::Batched(shared) => Line::Batched(shared),
            Lines::Direct => Line::Direct(io::stdout()),
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        // Whoever waits for room stops waiting: the limit no longer applies.
        self.shared.room.notify_all();
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
        let (lines, flush) = Lines::batched(out.clone()).unwrap();
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
    fn lines_logged_after_the_final_flush_are_written_at_once() {
        let out = Captured::default();
        let (lines, flush) = Lines::batched(out.clone()).unwrap();
        writeln!(lines.make_writer(), "before").unwrap();
        drop(flush);
        writeln!(lines.make_writer(), "after").unwrap();
        assert_eq!(out.bytes.lock().unwrap().as_slice(), b"before\nafter\n");
    }

    #[test]
    fn a_stalled_output_holds_no_line_until_the_buffer_is_full() {
        let out = Captured::default();
        let held = out.gate.lock().unwrap();
        let (lines, flush) = Lines::batched(out.clone()).unwrap();
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
