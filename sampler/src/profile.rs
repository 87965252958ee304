//! Timestamp columns: rows per UTC hour (24), per ISO weekday (7, Monday first) and per UTC
//! calendar day of the window, in one pass (grouping sets), each cell with the distinct
//! privacy units behind it (under DP, the fewest its noisy rows can rest on:
//! [`crate::dp::people`]). A cell resting on fewer than `k` units is `null`; where some are,
//! the smallest exported cell is suppressed too unless the suppressed ones already hold `k`
//! units (so subtracting the others from a total reveals no fewer than `k` people). The daily
//! profile is coarsened to weeks, then to 30-day periods, until every non-empty cell rests
//! on `k` units, or dropped.

use pgshape_core::catalog::Column;
use pgshape_core::Result;
use postgres::GenericClient;

use crate::reads::Reads;

use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::unit::UnitSql;

/// The daily profile's periods, finest first: days, weeks, 30 days.
pub const DAILY_BUCKETS: &[u32] = &[1, 7, 30];

/// The three profiles of a timestamp column.
pub struct Profiles {
    /// `None` for dates (a date has no hour).
    pub hourly: Option<Vec<Option<u64>>>,
    pub weekday: Vec<Option<u64>>,
    /// Cells of `bucket_days` days from the window's start date; `None` when even 30-day
    /// periods hold fewer than `k` units.
    pub daily: Option<Vec<Option<u64>>>,
    pub bucket_days: u32,
    /// The fewest units an exported cell rests on.
    pub min_units: Option<u64>,
}

/// Rows and units per cell of the three profiles, as counted by the server (index 0 of
/// `periods` is days, then weeks, then 30-day periods: [`DAILY_BUCKETS`]).
struct Grid {
    hourly: Vec<(u64, u64)>,
    weekday: Vec<(u64, u64)>,
    periods: Vec<Vec<(u64, u64)>>,
}

/// Profiles of column `c` of the `FROM` item `from` (alias `t`, with the unit's joins) over
/// the window `[start, end)`; timestamps without a time zone are read as UTC.
pub fn profiles(
    reads: &mut Reads<'_, impl GenericClient>,
    from: &str,
    c: &Column,
    unit: &UnitSql,
    what: &str,
    scan: &Scan<'_>,
) -> Result<Profiles> {
    let (k, sample) = (scan.k, &scan.sample);
    let is_date = c.effective_type() == "date";
    let mut g = grid(reads, from, c, unit, what, scan)?;
    noise(&mut g.hourly, &mut g.weekday, &mut g.periods, scan)?;
    let mut min_units = None;
    let mut export = |v: &[(u64, u64)]| -> Vec<Option<u64>> {
        let out = suppress_with_complement(v, k);
        for (c, (_, u)) in out.iter().zip(v) {
            if c.is_some() {
                min_units = Some(min_units.map_or(*u, |m: u64| m.min(*u)));
            }
        }
        out.into_iter()
            .map(|c| c.map(|n| sample.scale(n)))
            .collect()
    };
    let hourly = (!is_date).then(|| export(&g.hourly));
    let weekday = export(&g.weekday);
    // The finest period whose every non-empty cell rests on k units.
    let fine = g
        .periods
        .iter()
        .position(|cells| cells.iter().all(|&(n, u)| n == 0 || u >= k));
    let (daily, bucket_days) = match fine {
        Some(i) => (Some(export(&g.periods[i])), DAILY_BUCKETS[i]),
        None => (None, 1),
    };
    Ok(Profiles {
        hourly,
        weekday,
        daily,
        bucket_days,
        min_units,
    })
}

/// The statement of the cells of the three profiles of column `c` of the `FROM` item
/// `from` in one pass (grouping sets), each with the rows and the distinct units behind it.
pub fn grid_sql(from: &str, c: &Column, unit: &UnitSql, scan: &Scan<'_>) -> String {
    let col = format!("t.{}", pgshape_core::ident::quote(&c.name));
    let ty = c.effective_type();
    let utc = if ty.ends_with("with time zone") {
        format!("({col} AT TIME ZONE 'UTC')")
    } else if ty == "date" {
        format!("{col}::timestamp")
    } else {
        col.clone()
    };
    let (w0, w1) = (
        format!("({} AT TIME ZONE 'UTC')", crate::reads::instant(scan.start)),
        format!("({} AT TIME ZONE 'UTC')", crate::reads::instant(scan.end)),
    );
    let units = crate::people::units_agg(unit.expr.is_some());
    format!(
        "SELECT grouping(h, d, day, wk, mo), h, d, day, wk, mo, count(*), {units}
           FROM (SELECT extract(hour FROM {utc})::int AS h, extract(isodow FROM {utc})::int AS d,
                        CASE WHEN {utc} >= {w0} AND {utc} < {w1} THEN ({utc}::date - {w0}::date) END AS day,
                        {u} AS u
                   FROM {from} WHERE {col} IS NOT NULL AND {col} > '-infinity' AND {col} < 'infinity') s,
                LATERAL (SELECT day / 7 AS wk, day / 30 AS mo) p
          GROUP BY GROUPING SETS ((h), (d), (day), (wk), (mo))",
        u = unit.column(),
    )
}

/// The cells of [`grid_sql`], read.
fn grid(
    reads: &mut Reads<'_, impl GenericClient>,
    from: &str,
    c: &Column,
    unit: &UnitSql,
    what: &str,
    scan: &Scan<'_>,
) -> Result<Grid> {
    let (start, end) = (scan.start, scan.end);
    let rows = reads.all(
        &grid_sql(from, c, unit, scan),
        format!("arrival profile of {what}"),
    )?;
    let days = (end.date_naive() - start.date_naive()).num_days().max(0) as usize;
    let cells_of = |b: u32| vec![(0u64, 0u64); days / b as usize + 1];
    let mut g = Grid {
        hourly: vec![(0, 0); 24],
        weekday: vec![(0, 0); 7],
        periods: DAILY_BUCKETS.iter().map(|&b| cells_of(b)).collect(),
    };
    for r in rows {
        let set: i32 = r.get(0);
        let cell = (r.get::<i64>(6) as u64, r.get::<i64>(7) as u64);
        // grouping(): a bit set for each column *not* grouped, h the highest.
        type Slot<'a> = Option<&'a mut Vec<(u64, u64)>>;
        let (slot, at): (Slot<'_>, Option<i32>) = match set {
            0b01111 => (Some(&mut g.hourly), r.get(1)),
            0b10111 => (Some(&mut g.weekday), r.get::<Option<i32>>(2).map(|d| d - 1)),
            0b11011 => (g.periods.get_mut(0), r.get(3)),
            0b11101 => (g.periods.get_mut(1), r.get(4)),
            0b11110 => (g.periods.get_mut(2), r.get(5)),
            _ => (None, None),
        };
        if let Some(c) = slot.zip(at).and_then(|(v, i)| v.get_mut(i as usize)) {
            *c = cell;
        }
    }
    Ok(g)
}

/// Under DP: the hourly, weekday and daily rows noised as one release of L1 sensitivity 3 ×
/// the rows per unit (every row is in one hour, one weekday and at most one day); weeks and
/// 30-day periods are sums of the noisy days (post-processing). Each cell's units become the
/// fewest people its noisy rows can rest on ([`crate::dp::people`]): the k rule then runs on
/// the release, never on the server's exact count.
fn noise(
    hourly: &mut [(u64, u64)],
    weekday: &mut [(u64, u64)],
    periods: &mut [Vec<(u64, u64)>],
    scan: &Scan<'_>,
) -> Result<()> {
    if !scan.noise.is_on() {
        return Ok(());
    }
    let (h, w) = (hourly.len(), weekday.len());
    let rows: Vec<u64> = hourly
        .iter()
        .chain(weekday.iter())
        .chain(periods[0].iter())
        .map(|c| c.0)
        .collect();
    let noisy = scan
        .noisy(Family::Profiles, &rows, 3 * scan.sensitivity())?
        .values;
    let cells = hourly
        .iter_mut()
        .chain(weekday.iter_mut())
        .chain(periods[0].iter_mut());
    for (c, n) in cells.zip(&noisy) {
        c.0 = *n;
    }
    let days: Vec<u64> = noisy[h + w..].to_vec();
    for (p, &b) in periods.iter_mut().zip(DAILY_BUCKETS).skip(1) {
        p.iter_mut().for_each(|c| c.0 = 0);
        for (d, n) in days.iter().enumerate() {
            if let Some(c) = p.get_mut(d / b as usize) {
                c.0 += n;
            }
        }
    }
    let per_person = scan.sensitivity();
    let all = hourly
        .iter_mut()
        .chain(weekday.iter_mut())
        .chain(periods.iter_mut().flatten());
    for c in all {
        c.1 = crate::dp::people::behind(c.0, per_person);
    }
    Ok(())
}

/// Cells `(rows, units)` → exported rows: `None` under `k` units, and when any is, also the
/// smallest exported cell unless a suppressed cell already holds `k` units (a lower bound of
/// the suppressed cells' people), so the cells' total minus the exported ones rests on `k`.
pub fn suppress_with_complement(cells: &[(u64, u64)], k: u64) -> Vec<Option<u64>> {
    suppress_with_complement_given(cells, k, None)
}

/// [`suppress_with_complement`] where the caller may know `hidden_units`, the distinct units
/// of all the suppressed cells together (counted by the server): when they are `k` or more,
/// the cells' total minus the exported ones rests on `k` units and no complement is needed.
pub fn suppress_with_complement_given(
    cells: &[(u64, u64)],
    k: u64,
    hidden_units: Option<u64>,
) -> Vec<Option<u64>> {
    let mut out: Vec<Option<u64>> = cells.iter().map(|&(n, u)| (u >= k).then_some(n)).collect();
    let hidden = cells.iter().zip(&out).filter(|(_, o)| o.is_none());
    let (any_rows, most_units) =
        hidden.fold((false, 0), |(r, m), ((n, u), _)| (r || *n > 0, m.max(*u)));
    if any_rows && most_units.max(hidden_units.unwrap_or(0)) < k {
        if let Some(i) = (0..cells.len())
            .filter(|&i| out[i].is_some())
            .min_by_key(|&i| cells[i].0)
        {
            out[i] = None;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suppressed_cell_takes_the_smallest_exported_one_with_it() {
        // (rows, units): hour 2 is one person's 40 rows.
        let cells = [(100, 30), (50, 12), (40, 1), (0, 0), (70, 20)];
        let out = suppress_with_complement(&cells, 10);
        assert_eq!(out, vec![Some(100), None, None, None, Some(70)]);
        // Nothing suppressed but empty cells: nothing more is.
        let out = suppress_with_complement(&[(100, 30), (0, 0)], 10);
        assert_eq!(out, vec![Some(100), None]);
        // Suppressed cells that hold k units together need no complement; fewer still do.
        let cells = [(900, 300), (4, 4), (4, 4), (3, 3)];
        let out = suppress_with_complement_given(&cells, 10, Some(11));
        assert_eq!(out, vec![Some(900), None, None, None]);
        let out = suppress_with_complement_given(&cells, 10, Some(9));
        assert_eq!(out, vec![None, None, None, None]);
    }
}
