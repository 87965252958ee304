//! Work spread over the `--jobs` connections: chunks to copy, tables to index, analyse and
//! check. Items are taken in order by whichever connection is free; the first error, or a
//! stop asked by SIGTERM or SIGINT ([`pgshape_core::interrupt`]), stops the others after
//! their current item.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pgshape_core::conn::Target;
use pgshape_core::{Error, Result};
use postgres::Client;

/// Runs `f` on every item over up to `jobs` connections made by `connect`; the results come
/// back in item order.
pub fn each<T, R, F>(
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
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(items.len()) {
            scope.spawn(|| {
                let mut client = match connect() {
                    Ok(c) => c,
                    Err(e) => {
                        failure.lock().expect("lock").get_or_insert(e);
                        return;
                    }
                };
                loop {
                    if failure.lock().expect("lock").is_some() {
                        return;
                    }
                    if let Err(e) = pgshape_core::interrupt::check() {
                        failure.lock().expect("lock").get_or_insert(e);
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        return;
                    };
                    match f(&mut client, item) {
                        Ok(r) => results.lock().expect("lock")[i] = Some(r),
                        Err(e) => {
                            failure.lock().expect("lock").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
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
    each(jobs, items, &|| crate::session::connect(target), f)
}
