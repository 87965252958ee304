//! Work spread over the `--jobs` connections: chunks to copy, tables to index, analyse and
//! check. Items are taken in order by whichever connection is free; the first error stops the
//! others after their current item, and a stop asked by SIGTERM or SIGINT
//! ([`pgshape_core::interrupt`]) cancels the statements under way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use pgshape_core::conn::Target;
use pgshape_core::{Error, Result};
use postgres::{CancelToken, Client};

/// Runs `f` on every item over up to `jobs` connections to `target` made by `connect`; the
/// results come back in item order. A stop asked by a signal cancels the statements under
/// way (an index build, a COPY: the server rolls their transactions back) and ends with
/// [`Error::Interrupted`].
pub fn each<T, R, F>(
    target: &Target,
    jobs: usize,
    items: &[T],
    connect: &(dyn Fn() -> Result<Client> + Sync),
    f: F,
) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&mut Client, &T) -> Result<R> + Sync,
{
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let tokens: Mutex<Vec<CancelToken>> = Mutex::new(Vec::new());
    let fail = |e: Error| {
        // What a cancelled statement returns is the stop, not a database error.
        let e = match pgshape_core::interrupt::check() {
            Err(stop) => stop,
            Ok(()) => e,
        };
        failure.lock().expect("lock").get_or_insert(e);
    };
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.max(1).min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut client = match connect() {
                        Ok(c) => c,
                        Err(e) => return fail(e),
                    };
                    tokens.lock().expect("lock").push(client.cancel_token());
                    loop {
                        if failure.lock().expect("lock").is_some() {
                            return;
                        }
                        if let Err(e) = pgshape_core::interrupt::check() {
                            return fail(e);
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return;
                        };
                        match f(&mut client, item) {
                            Ok(r) => results.lock().expect("lock")[i] = Some(r),
                            Err(e) => return fail(e),
                        }
                    }
                })
            })
            .collect();
        let watcher = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if pgshape_core::interrupt::requested().is_some() {
                    for t in tokens.lock().expect("lock").iter() {
                        if let Err(e) = target.cancel(t) {
                            tracing::warn!(error = %e, "could not cancel a statement");
                        }
                    }
                    return;
                }
                std::thread::park_timeout(Duration::from_millis(50));
            }
        });
        let joined: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        done.store(true, Ordering::Relaxed);
        watcher.thread().unpark();
        for j in joined {
            if let Err(panic) = j {
                std::panic::resume_unwind(panic);
            }
        }
    });
    if let Some(e) = failure.into_inner().expect("lock") {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .expect("lock")
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect())
}

/// [`each`] on loader sessions to `target`.
pub fn on_target<T, R, F>(target: &Target, jobs: usize, items: &[T], f: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&mut Client, &T) -> Result<R> + Sync,
{
    each(target, jobs, items, &|| crate::session::connect(target), f)
}
