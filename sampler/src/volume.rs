//! A table's row count under differential privacy when its people have many rows each.
//!
//! The figures of such a table read at most `max_rows_per_unit` rows of one person
//! ([`crate::clip`]); a count of those clipped rows misses every row a heavy person has past
//! the bound (two thirds of a chat fixture's messages at 64 per person), however large ε is.
//! The count is estimated instead with a clip chosen from the data, privately:
//!
//! 1. **Rows per person**, a histogram over fixed power-of-two bins (`[1, 2)`, `[2, 4)`, …,
//!    the last open at 2^[`TOP`]): one person is in one bin, so its L1 sensitivity is 1 —
//!    a quarter of the table's counts release.
//! 2. **The clip** `c`: the upper edge of the highest bin the noise cannot have made up
//!    ([`clip_exponent`]; post-processing of step 1: free). Above it the noise cannot tell
//!    how many people there are; below it every person's rows count in full. More ε sees further up the tail, so the estimate's bias falls as ε grows (a fixed
//!    clip's does not).
//!    The table's other figures read at most `min(c, max_rows_per_unit)` rows per person
//!    ([`Chosen::figures_clip`]): where people have few rows each, far less noise.
//! 3. **The clipped count** `Σ min(rows, c)` (and the window's `Σ min(window rows, c)`),
//!    sensitivity `c` each, with the rest of the release's ε.
//!
//! The rows past `c` of the few heaviest people stay uncounted: that bias, and the noise of
//! scale `2c / ε`, are what the pack's count carries (docs/privacy.md gives the figures).
//! One statement reads the table once, grouped by person, before any other figure of the
//! extraction (the clips of parent tables bound their edges' fan-outs): the bins' exact sums
//! give `Σ min(rows, c)` for any power-of-two `c`.

use pgshape_core::catalog::Table;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::dp::budget::Family;
use crate::metrics::Scan;
use crate::unit::UnitSql;

/// The last bin of rows per person opens at 2^TOP rows.
pub const TOP: u32 = 24;
/// A run of bins (consecutive bins each at [`MORE_SCALES`] or more) holds people for sure
/// when one of its bins is at this many noise scales: the *body* is the run of the most people
/// among those.
pub const SURE_SCALES: f64 = 10.0;
/// A bin just above the body (or above such a bin) is taken as populated at this many.
pub const MORE_SCALES: f64 = 2.5;
/// A run above the body, apart from it, raises the clip only with a bin at this many scales:
/// the chance that the noise of the empty bins fakes one is about `25 · e^-20 / 2`, 3 · 10^-8.
pub const LONE_SCALES: f64 = 20.0;
/// The part of a table's counts release spent on the rows-per-person histogram.
pub const HISTOGRAM_PART: f64 = 0.4;
/// The part spent on the clipped counts.
pub const COUNT_PART: f64 = 1.0 - HISTOGRAM_PART;

/// The L1 sensitivity of a clipped table's count release: the count (and the window count)
/// at `count_clip` rows per person, and the rows its figures read at `figures_clip` (the
/// count itself when the clips agree).
pub fn count_sensitivity(count_clip: u64, figures_clip: u64, windowed: bool) -> u64 {
    let counts = count_clip * if windowed { 2 } else { 1 };
    counts
        + if figures_clip == count_clip {
            0
        } else {
            figures_clip
        }
}

/// What the server returns: per power-of-two bin of rows per person (index `j`:
/// `[2^j, 2^(j+1))`, the last open), the people and their rows; and per bin of window rows
/// per person the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerPerson {
    pub people: Vec<u64>,
    pub rows: Vec<u64>,
    pub window_people: Vec<u64>,
    pub window_rows: Vec<u64>,
    /// The table's bound `B` on rows per person, and `Σ min(rows, B)`, `Σ min(window rows, B)`
    /// (a policy's bound need not be a power of two).
    pub bound: u64,
    pub at_bound: [u64; 2],
}

impl PerPerson {
    fn empty() -> PerPerson {
        let n = TOP as usize + 1;
        PerPerson {
            people: vec![0; n],
            rows: vec![0; n],
            window_people: vec![0; n],
            window_rows: vec![0; n],
            bound: 1,
            at_bound: [0; 2],
        }
    }

    /// `[Σ min(rows, c), Σ min(window rows, c)]` for `c` a power of two or the bound.
    fn at(&self, c: u64) -> [u64; 2] {
        if c == self.bound {
            return self.at_bound;
        }
        let j = 63 - c.max(1).leading_zeros();
        [
            PerPerson::clipped(&self.people, &self.rows, j),
            PerPerson::clipped(&self.window_people, &self.window_rows, j),
        ]
    }

    /// `Σ min(rows, 2^j)` over people, from bins `people` / `rows` (exact: a bin lies wholly
    /// below or at or above a power of two).
    fn clipped(people: &[u64], rows: &[u64], j: u32) -> u64 {
        let c = 1u64 << j;
        (0..people.len())
            .map(|b| {
                if (b as u32) < j {
                    rows[b]
                } else {
                    people[b].saturating_mul(c)
                }
            })
            .fold(0u64, u64::saturating_add)
    }
}

/// The estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub total: u64,
    /// The rows the table's figures read (at most their clip per person).
    pub read: u64,
    pub window: u64,
    /// The clip chosen (rows per person counted).
    pub clip: u64,
}

/// What is chosen of a clipped table before any of its figures is read: its rows per
/// person, and the clip exponent `j` (count rows up to `2^j` per person; `None`: the noise
/// hid every bin).
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub per_person: PerPerson,
    pub exponent: Option<u32>,
}

impl Chosen {
    /// The rows per person the count reads: the chosen clip, or `bound` when none was.
    pub fn count_clip(&self, bound: u64) -> u64 {
        self.exponent.map_or(bound.max(1), |j| 1u64 << j)
    }

    /// The rows per person the table's other figures read: the count's clip, never above
    /// `bound` (`max_rows_per_unit`): a table whose people have few rows each gets less noise.
    pub fn figures_clip(&self, bound: u64) -> u64 {
        self.count_clip(bound).min(bound).max(1)
    }
}

/// Reads the rows per person of `t` (by `unit`, window rows where `window` is the window
/// column) and releases their histogram: the clip (step 1 and 2 of the module).
pub fn choose(
    client: &mut impl GenericClient,
    t: &Table,
    unit: &UnitSql,
    window: Option<&str>,
    bound: u64,
    scan: &Scan<'_>,
) -> Result<Chosen> {
    let per_person = read(client, t, unit, window, bound, scan)?;
    let hist = scan
        .noise
        .release_part(Family::Counts, &per_person.people, 1, HISTOGRAM_PART)
        .map_err(|e| Error::Config(e.to_string()))?;
    Ok(Chosen {
        exponent: clip_exponent(&hist.signed, hist.scale),
        per_person,
    })
}

/// The rows per person of `t` (alias `t`, with the unit's joins: not clipped) by `unit`,
/// with window rows where `window` is the window column: one statement, one read.
fn read(
    client: &mut impl GenericClient,
    t: &Table,
    unit: &UnitSql,
    window: Option<&str>,
    bound: u64,
    scan: &Scan<'_>,
) -> Result<PerPerson> {
    let from = format!(
        "{} {}",
        scan.sample.from(&qualified(&t.schema, &t.name), "t"),
        unit.joins
    );
    let w = match window {
        Some(w) => format!(
            "count(*) FILTER (WHERE t.{c} >= $1::timestamptz AND t.{c} < $2::timestamptz)",
            c = quote(w)
        ),
        None => "0::bigint".into(),
    };
    let edges: Vec<String> = (0..=TOP).map(|j| (1u64 << j).to_string()).collect();
    let edges = format!("ARRAY[{}]::bigint[]", edges.join(","));
    let sql = format!(
        "WITH per AS (SELECT count(*) AS r, {w} AS w FROM {from} GROUP BY {u}),
              b AS (SELECT 0 AS g, width_bucket(r, {edges}) - 1 AS j, r AS v FROM per
                    UNION ALL
                    SELECT 1, width_bucket(w, {edges}) - 1, w FROM per WHERE w > 0)
         SELECT g, j, count(*)::bigint, sum(v)::bigint FROM b GROUP BY g, j
         UNION ALL
         SELECT 2, 0, coalesce(sum(least(r, {bound})), 0)::bigint,
                coalesce(sum(least(w, {bound})), 0)::bigint FROM per",
        u = unit.column(),
    );
    let rows = match window {
        Some(_) => client.query(&sql, &[&scan.start, &scan.end]),
        None => client.query(&sql, &[]),
    }
    .map_err(Error::db(format!(
        "the rows per person of {}",
        t.qualified()
    )))?;
    let mut p = PerPerson::empty();
    p.bound = bound;
    for row in rows {
        let (g, j, n, v): (i32, i32, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        if g == 2 {
            p.at_bound = [n.max(0) as u64, v.max(0) as u64];
            continue;
        }
        let j = j.clamp(0, TOP as i32) as usize;
        let (people, sum) = if g == 0 {
            (&mut p.people, &mut p.rows)
        } else {
            (&mut p.window_people, &mut p.window_rows)
        };
        people[j] += n.max(0) as u64;
        sum[j] += v.max(0) as u64;
    }
    Ok(p)
}

/// The clip exponent from the noisy people per bin (`signed`, at noise `scale`), or `None`
/// when the noise hides every bin (the table's bound is used then).
///
/// The bins fall into *runs*, consecutive bins each at [`MORE_SCALES`]. The *body* is the run
/// of the most (noisy) people among the runs with a bin at [`SURE_SCALES`]; the clip is the
/// upper edge of its highest bin, or of the highest bin of a run above it with a bin at
/// [`LONE_SCALES`]. The noise alone moves the clip an octave with the chance that one empty
/// bin just above the body reaches 2.5 scales (4 %), two octaves at 0.2 %; a run far above it,
/// which would make the count's noise drown the table, at about 3 · 10^-8. A real run far
/// above the body under 20 scales (a few very heavy people, apart from the rest) is not
/// counted past the body's clip: their rows past it are the estimate's bias.
pub fn clip_exponent(signed: &[i64], scale: f64) -> Option<u32> {
    let scale = scale.max(1.0);
    // Each run: (lowest bin, highest bin, its people, its most scales).
    let mut runs: Vec<(usize, usize, i64, f64)> = Vec::new();
    for (j, &n) in signed.iter().enumerate() {
        let scales = n as f64 / scale;
        if scales < MORE_SCALES {
            continue;
        }
        match runs.last_mut() {
            Some(run) if run.1 + 1 == j => {
                run.1 = j;
                run.2 += n;
                run.3 = run.3.max(scales);
            }
            _ => runs.push((j, j, n, scales)),
        }
    }
    let body = runs
        .iter()
        .filter(|r| r.3 >= SURE_SCALES)
        .max_by_key(|r| r.2)?;
    let top = runs
        .iter()
        .filter(|r| r.0 > body.1 && r.3 >= LONE_SCALES)
        .map(|r| r.1)
        .max()
        .unwrap_or(body.1);
    Some((top as u32 + 1).min(TOP))
}

/// The noisy count and window count of the table `chosen` describes (step 3 of the module),
/// at the count's clip under `bound`, and the count of the rows its figures read (at most
/// `figures` per person: the clipped relation's size, what its null counts are fractions of),
/// in one release of L1 sensitivity `c` (`2c` with a window) `+ figures` (the count itself
/// when the clips agree: `+ 0`).
pub fn estimate(chosen: &Chosen, windowed: bool, bound: u64, scan: &Scan<'_>) -> Result<Volume> {
    let p = &chosen.per_person;
    let c = chosen.count_clip(bound);
    let figures = chosen.figures_clip(bound);
    let [total, window] = p.at(c);
    // The rows read are the count itself when both clips agree: released once.
    let same = figures == c;
    let mut exact = vec![total];
    if windowed {
        exact.push(window);
    }
    if !same {
        exact.push(p.at(figures)[0]);
    }
    let sensitivity = count_sensitivity(c, figures, windowed);
    let noisy = scan
        .noise
        .release_part(Family::Counts, &exact, sensitivity, COUNT_PART)
        .map_err(|e| Error::Config(e.to_string()))?;
    let v = &noisy.values;
    Ok(Volume {
        total: v[0],
        window: if windowed { v[1] } else { 0 },
        read: if same { v[0] } else { v[v.len() - 1] },
        clip: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_sums_are_exact_at_every_power_of_two() {
        // People with 1, 3, 3, 9 and 100 rows.
        let mut p = PerPerson::empty();
        for r in [1u64, 3, 3, 9, 100] {
            let j = 63 - r.leading_zeros() as usize;
            p.people[j] += 1;
            p.rows[j] += r;
        }
        for j in 0..=8u32 {
            let c = 1u64 << j;
            let want: u64 = [1u64, 3, 3, 9, 100].iter().map(|&r| r.min(c)).sum();
            assert_eq!(PerPerson::clipped(&p.people, &p.rows, j), want, "c = {c}");
        }
    }

    #[test]
    fn the_clip_is_the_top_of_the_body_or_of_a_run_far_above_it_at_twenty_scales() {
        let scale = 10.0;
        let mut signed = vec![0i64; TOP as usize + 1];
        for (j, n) in [500, 400, 300, 200, 100, 30].into_iter().enumerate() {
            signed[j] = n;
        }
        // Bins 0-5 are the body (30 ≥ 2.5 scales extends it): c = 64.
        assert_eq!(clip_exponent(&signed, scale), Some(6), "c = 64");
        signed[5] = 20;
        assert_eq!(
            clip_exponent(&signed, scale),
            Some(5),
            "bin 5 hidden: c = 32"
        );
        // A gap stops the body; runs above it under 20 scales are noise.
        signed[6] = 30;
        signed[20] = 90;
        signed[21] = 190;
        assert_eq!(clip_exponent(&signed, scale), Some(5));
        // At 20 scales a run far above raises the clip to its top.
        signed[21] = 200;
        assert_eq!(clip_exponent(&signed, scale), Some(22));
        // The body is the run of the most people, not the lowest: a run below it at 10
        // scales does not stop the clip there.
        let mut low = vec![0i64; TOP as usize + 1];
        low[0] = 100;
        low[4..9].fill(400);
        assert_eq!(clip_exponent(&low, scale), Some(9));
        assert_eq!(clip_exponent(&[0; 25], scale), None, "nothing sure");
        assert_eq!(
            clip_exponent(&[90; 25], scale),
            None,
            "nothing at 10 scales"
        );
        let mut top = vec![0i64; TOP as usize + 1];
        top[TOP as usize] = 1000;
        assert_eq!(clip_exponent(&top, scale), Some(TOP));
    }

    /// The noise of the empty bins, drawn by the mechanism the extraction uses, never makes
    /// the clip leap far above the people (which would drown the table's count: seen in CI
    /// with the earlier rule, which took the highest bin at 10 scales, or at 6 over 2.5, as the
    /// clip: about 2 draws in 1,000).
    #[test]
    fn the_noise_of_empty_bins_does_not_make_the_clip_leap() {
        // 200 people with 4-7 rows each: bin 2, at 40 scales (ε 0.2: the scale is 5).
        let mut exact = vec![0i64; TOP as usize + 1];
        exact[2] = 200;
        let (mut leaps, mut hidden) = (0, 0);
        let draws = 20_000;
        for _ in 0..draws {
            let r = crate::dp::mechanism::noisy_counts(&exact, 1, 0.2).unwrap();
            match clip_exponent(&r.values, r.scale) {
                Some(j) if j >= 8 => leaps += 1,
                Some(j) => assert!(j >= 3, "the clip {j} is under the people's rows"),
                None => hidden += 1,
            }
        }
        assert_eq!(leaps, 0, "{leaps} of {draws} clips leapt past 2^8");
        assert_eq!(hidden, 0, "the body at 40 scales was hidden {hidden} times");
    }
}
