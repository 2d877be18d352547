//! Lines for standard output that outlive their reader.
//!
//! `staunch install | head -1` closes the pipe after one line. `println!` panics on the next
//! write, which would stop an install halfway (one hook written, the other not) and exit 101.
//! What was asked is done whether or not anyone still reads about it: a closed standard output
//! (EPIPE) is noted and further lines are dropped quietly; the command finishes and exits with
//! its own code. `clippy.toml` forbids `println!` so that every line goes through here.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to standard output (see [`outln!`](crate::outln)).
pub fn line(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    if written.is_err() {
        // A closed pipe, or a full disk behind a redirection: a status line is not worth
        // failing the command for, and nothing after it would get through either.
        CLOSED.store(true, Relaxed);
    }
}

/// A report written to standard output: a reader that went away (EPIPE) is not an error, the
/// verdict still decides the exit code; any other failure is.
pub fn report_written(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// `println!` that survives a closed standard output: see the module docs.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
