//! Which rows of a nullable column are NULL.
//!
//! The table's rows are cut into blocks of 64. Block `b`, rows `[64b, 64b + len)`, holds
//! `round(f·(64b + len)) − round(f·64b)` NULLs, so every prefix of whole blocks, and the table,
//! holds `round(f·N)` NULLs (a binomial count would miss by about √(f(1−f)N)). Which rows of
//! a block they are is a uniform random subset drawn by Floyd's algorithm from the column's
//! keyed counter-based generator at (block, draw): a pure function of (seed, table, column,
//! row index), never of the groups, threads or shards.
//!
//! A block's subset is a 64-bit mask drawn once and cached in the buffer being filled
//! ([`NullCache`]), so a row costs a bit test: evaluating a keyed permutation of the table's
//! rows per cell, as before, cost more than the cell's value for most columns.

use pgshape_core::rng::StreamKey;

/// Rows per block.
const BLOCK: u64 = 64;

/// The NULLs of one nullable column of a planned table.
#[derive(Clone, Debug)]
pub struct NullStrata {
    key: StreamKey,
    rows: u64,
    fraction: f64,
    /// This column's entry in a [`NullCache`] (unique over the model's nullable columns).
    slot: usize,
}

impl NullStrata {
    /// NULLs at `fraction` of a table of `rows` rows (at least one), drawn from `key`; `slot`
    /// numbers the model's nullable columns from 0.
    pub fn new(key: StreamKey, rows: u64, fraction: f64, slot: usize) -> NullStrata {
        NullStrata {
            key,
            rows: rows.max(1),
            fraction: fraction.clamp(0.0, 1.0),
            slot,
        }
    }

    /// Whether row `row` is NULL. A row past the planned count (a group that ran over) reads
    /// the last planned row's block, as every row of a table reads the same plan.
    #[inline]
    pub fn is_null(&self, row: u64, cache: &mut NullCache) -> bool {
        let row = row.min(self.rows - 1);
        let block = row / BLOCK;
        let entry = cache.entry(self.slot);
        if entry.block != Some(block) {
            *entry = Cached {
                block: Some(block),
                mask: self.mask(block),
            };
        }
        entry.mask >> (row % BLOCK) & 1 == 1
    }

    /// The NULL rows from `row` on, as bits (bit i: row `row + i`), and how many rows the bits
    /// answer for (at least one, at most to the end of `row`'s block): what [`Self::is_null`]
    /// says of each of them, for the price of one call.
    #[inline]
    pub fn nulls_from(&self, row: u64, cache: &mut NullCache) -> (u64, u64) {
        if row >= self.rows {
            // Past the plan every row reads the last planned row: one at a time.
            return (self.is_null(row, cache) as u64, 1);
        }
        let block = row / BLOCK;
        let entry = cache.entry(self.slot);
        if entry.block != Some(block) {
            *entry = Cached {
                block: Some(block),
                mask: self.mask(block),
            };
        }
        let off = row % BLOCK;
        (entry.mask >> off, (BLOCK - off).min(self.rows - row))
    }

    /// NULLs among rows `[0, x)`.
    fn before(&self, x: u64) -> u64 {
        libm::floor(self.fraction * x as f64 + 0.5) as u64
    }

    /// The NULL rows of block `block` as bits (bit i: row `64·block + i`).
    fn mask(&self, block: u64) -> u64 {
        let start = block * BLOCK;
        let len = (self.rows - start).min(BLOCK);
        let nulls = self.before(start + len) - self.before(start);
        // Draw the smaller side: the NULLs, or the rows that are not.
        let (draws, invert) = if 2 * nulls <= len {
            (nulls, false)
        } else {
            (len - nulls, true)
        };
        // Floyd: for j in [len − draws, len), take t uniform in [0, j]; t if free, else j.
        // Every subset of `draws` rows is equally likely.
        let mut bits = 0u64;
        for j in len - draws..len {
            let t = ((self.key.u64_at(block, j) as u128 * (j + 1) as u128) >> 64) as u64;
            bits |= if bits >> t & 1 == 1 { 1 << j } else { 1 << t };
        }
        if invert {
            bits ^ low_bits(len)
        } else {
            bits
        }
    }
}

/// The lowest `len` bits set (`len` ≤ 64).
pub(crate) fn low_bits(len: u64) -> u64 {
    if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    }
}

#[derive(Clone, Copy, Default)]
struct Cached {
    block: Option<u64>,
    mask: u64,
}

/// The last block mask of each nullable column, kept by the buffer a thread fills so that
/// consecutive rows (and consecutive small groups) draw a block once.
#[derive(Default, Clone)]
pub struct NullCache {
    entries: Vec<Cached>,
}

impl NullCache {
    fn entry(&mut self, slot: usize) -> &mut Cached {
        if slot >= self.entries.len() {
            self.entries.resize(slot + 1, Cached::default());
        }
        &mut self.entries[slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::rng::Seed;

    fn nulls(s: &NullStrata, rows: std::ops::Range<u64>, cache: &mut NullCache) -> Vec<bool> {
        rows.map(|r| s.is_null(r, cache)).collect()
    }

    #[test]
    fn a_table_holds_its_fraction_of_nulls_exactly() {
        for (rows, f) in [
            (1u64, 0.5),
            (63, 0.9),
            (64, 0.5),
            (1_300, 0.56),
            (10_007, 0.05),
        ] {
            let s = NullStrata::new(Seed::new("n").key("t", "c/nulls"), rows, f, 0);
            let got = nulls(&s, 0..rows, &mut NullCache::default())
                .iter()
                .filter(|&&n| n)
                .count() as u64;
            assert_eq!(
                got,
                libm::floor(f * rows as f64 + 0.5) as u64,
                "{rows} at {f}"
            );
        }
    }

    #[test]
    fn a_row_does_not_depend_on_the_order_rows_are_asked_in() {
        let s = NullStrata::new(Seed::new("n").key("t", "c/nulls"), 5_000, 0.3, 0);
        let forward = nulls(&s, 0..5_000, &mut NullCache::default());
        let mut cache = NullCache::default();
        for r in (0..5_000).rev().step_by(7) {
            assert_eq!(s.is_null(r, &mut cache), forward[r as usize], "row {r}");
        }
    }

    /// `nulls_from` answers for a run of rows what `is_null` says of each, from any start,
    /// past the plan included.
    #[test]
    fn a_run_of_rows_reads_as_its_rows_one_by_one() {
        for (rows, f) in [(1u64, 0.5), (100, 0.9), (1_300, 0.56), (1_000, 0.03)] {
            let s = NullStrata::new(Seed::new("n").key("t", "c/nulls"), rows, f, 0);
            let one = nulls(&s, 0..rows + 70, &mut NullCache::default());
            let mut cache = NullCache::default();
            for start in (0..rows + 70).step_by(13) {
                let (bits, n) = s.nulls_from(start, &mut cache);
                assert!(n >= 1 && (start % 64) + n <= 64, "{rows}: {start} {n}");
                for i in 0..n.min(rows + 70 - start) {
                    let r = (start + i) as usize;
                    assert_eq!(bits >> i & 1 == 1, one[r], "{rows} at {f}: row {r}");
                }
            }
        }
    }

    #[test]
    fn nulls_are_spread_within_blocks_and_differ_by_column() {
        let a = NullStrata::new(Seed::new("n").key("t", "a/nulls"), 64_000, 0.5, 0);
        let b = NullStrata::new(Seed::new("n").key("t", "b/nulls"), 64_000, 0.5, 1);
        let mut cache = NullCache::default();
        let (na, nb) = (
            nulls(&a, 0..64_000, &mut cache),
            nulls(&b, 0..64_000, &mut cache),
        );
        // Each of the 64 positions of a block is NULL in about half the blocks (not a fixed
        // pattern), and two columns agree on about half the rows (independent draws).
        for pos in 0..64 {
            let share = (pos..64_000).step_by(64).filter(|&r| na[r]).count() as f64 / 1000.0;
            assert!((share - 0.5).abs() < 0.07, "position {pos}: {share}");
        }
        let agree = na.iter().zip(&nb).filter(|(x, y)| x == y).count() as f64 / 64_000.0;
        assert!((agree - 0.5).abs() < 0.02, "{agree}");
    }
}
