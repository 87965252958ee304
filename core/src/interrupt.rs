//! A clean stop on SIGTERM or SIGINT. The binaries that write for long (the generator, the
//! loader) install the handlers at start ([`install`], `cli` feature); long loops ask
//! [`check`] between units of work (a chunk, a statement) and return
//! [`Error::Interrupted`], which ends the command with exit code 128 + the signal's number
//! (130 for SIGINT, 143 for SIGTERM), as a shell reports a command killed by it — but only
//! once what was finished is recorded, so the same command resumes. A second signal ends
//! the process at once, with the same code.
//!
//! Without [`install`] (a library caller, a test) nothing is ever requested, except by
//! [`request`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::{Error, Result};

/// SIGINT's number (POSIX).
pub const SIGINT: i32 = 2;
/// SIGTERM's number (POSIX).
pub const SIGTERM: i32 = 15;

/// The signal asked for, 0 when none: an `Arc` because the handler holds one.
fn state() -> &'static Arc<AtomicUsize> {
    static STATE: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    STATE.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// The signal a stop was asked by, if one was.
pub fn requested() -> Option<i32> {
    match state().load(Ordering::Relaxed) {
        0 => None,
        s => Some(s as i32),
    }
}

/// `Err(Error::Interrupted)` once a stop was asked for.
pub fn check() -> Result<()> {
    match requested() {
        None => Ok(()),
        Some(signal) => Err(Error::Interrupted { signal }),
    }
}

/// Asks for a stop as `signal` would (what the handler does; tests call it directly).
pub fn request(signal: i32) {
    state().store(signal as usize, Ordering::Relaxed);
}

/// A signal's name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Installs the handlers: the first SIGTERM or SIGINT asks for a stop, the second ends the
/// process at once (exit 128 + its number).
#[cfg(feature = "cli")]
pub fn install() -> std::io::Result<()> {
    use signal_hook::flag;
    let s = state();
    // Set by the first of either signal; a later one of either ends the process.
    let already = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Registered first, so it runs first: exits when a stop was already asked for.
        flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&already))?;
        flag::register(sig, Arc::clone(&already))?;
        flag::register_usize(sig, Arc::clone(s), sig as usize)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_stop_is_an_interrupted_error_with_the_signal() {
        assert!(check().is_ok());
        request(SIGTERM);
        assert_eq!(requested(), Some(SIGTERM));
        let e = check().unwrap_err();
        assert!(matches!(e, Error::Interrupted { signal: SIGTERM }));
        assert_eq!(e.to_string(), "stopped by SIGTERM");
        request(0);
        assert!(check().is_ok());
    }
}
