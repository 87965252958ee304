//! Timestamp columns: rows per UTC hour (24), per ISO weekday (7, Monday first) and per UTC
//! calendar day of the window, in one pass, small cells `null`.

use chrono::{DateTime, Utc};
use pgshape_core::catalog::Column;
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::cells::suppress;
use crate::sample::Sample;

/// The three profiles of a timestamp column.
pub struct Profiles {
    /// `None` for dates (a date has no hour).
    pub hourly: Option<Vec<Option<u64>>>,
    pub weekday: Vec<Option<u64>>,
    /// `days + 1` cells from the window's start date.
    pub daily: Vec<Option<u64>>,
}

/// Profiles of column `c` of the `FROM` item `from` (alias `t`) over the window
/// `[start, end)`; timestamps without a time zone are read as UTC.
#[allow(clippy::too_many_arguments)]
pub fn profiles(
    client: &mut impl GenericClient,
    from: &str,
    c: &Column,
    what: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    k: u64,
    sample: &Sample,
) -> Result<Profiles> {
    let col = format!("t.{}", pgshape_core::ident::quote(&c.name));
    let ty = c.effective_type();
    let is_date = ty == "date";
    let utc = if ty.ends_with("with time zone") {
        format!("({col} AT TIME ZONE 'UTC')")
    } else if is_date {
        format!("{col}::timestamp")
    } else {
        col.clone()
    };
    let (w0, w1) = (
        "($1::timestamptz AT TIME ZONE 'UTC')",
        "($2::timestamptz AT TIME ZONE 'UTC')",
    );
    let rows = client
        .query(
            &format!(
                "SELECT extract(hour FROM {utc})::int, extract(isodow FROM {utc})::int,
                        CASE WHEN {utc} >= {w0} AND {utc} < {w1} THEN ({utc}::date - {w0}::date) END,
                        count(*)
                   FROM {from} WHERE {col} IS NOT NULL AND {col} > '-infinity' AND {col} < 'infinity'
                  GROUP BY 1, 2, 3"
            ),
            &[&start, &end],
        )
        .map_err(Error::db(format!("arrival profile of {what}")))?;
    let days = (end.date_naive() - start.date_naive()).num_days().max(0) as usize;
    let (mut hourly, mut weekday, mut daily) = ([0u64; 24], [0u64; 7], vec![0u64; days + 1]);
    for r in rows {
        let (h, d, day, n): (i32, i32, Option<i32>, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
        hourly[h as usize] += n as u64;
        weekday[(d - 1) as usize] += n as u64;
        if let Some(cell) = day.and_then(|i| daily.get_mut(i as usize)) {
            *cell += n as u64;
        }
    }
    // Suppress on what was observed (at least k real rows), then scale back.
    let cells = |v: &[u64]| -> Vec<Option<u64>> {
        suppress(v, k)
            .into_iter()
            .map(|c| c.map(|n| sample.scale(n)))
            .collect()
    };
    Ok(Profiles {
        hourly: (!is_date).then(|| cells(&hourly)),
        weekday: cells(&weekday),
        daily: cells(&daily),
    })
}
