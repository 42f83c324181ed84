//! Printing to stdout the Unix way: when the reader goes away (`cambium ... | head`),
//! stop quietly instead of panicking.

use std::io::Write;

/// Writes one line to stdout; exits quietly if stdout was closed.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        exit_on_closed(&e);
    }
}

/// Writes raw bytes to stdout and flushes; exits quietly if stdout was closed.
pub fn bytes(buf: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(buf).and_then(|()| out.flush()) {
        exit_on_closed(&e);
    }
}

fn exit_on_closed(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

/// `println!` that stops quietly on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::out::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::out::line(format_args!($($arg)*)) };
}
