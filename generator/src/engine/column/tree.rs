//! A self-reference laid out as a forest, block by block: which earlier row of the group each
//! row points at, with the fan-out's children per row.

use pgshape_core::dist::Compiled;
use pgshape_core::rng::Stream;

/// Rows a self-reference's forest is built over at a time: a group is cut into blocks of
/// this many rows, each a forest of its own (constant memory whatever the group's size).
pub(super) const TREE_BLOCK: usize = 1024;

/// The forest of the current block of a group (see [`TreeCursor::start`]): rows `start..start+len`
/// of the group, the first `roots` of them roots, the others children of the rows in order,
/// row `start + parent` having `left` places still to fill.
#[derive(Default)]
pub(super) struct TreeCursor {
    pub(super) start: usize,
    pub(super) len: usize,
    roots: usize,
    pub(super) counts: Vec<u32>,
    parent: usize,
    pub(super) left: u32,
}

impl TreeCursor {
    /// Lays out the block of `len` rows from group row `start`: children per row drawn at
    /// stratified points of the fan-out (`(π(i) + ½) / len` through a shuffle of the block,
    /// the childless share first), rounded by a random draw, so the block's counts follow the
    /// distribution closely whatever the seed; then at least one root (`len - Σ counts`, the
    /// largest counts trimmed if need be); then the counts rotated to start after the first
    /// minimum of their Łukasiewicz walk `Σ (c - 1)`, which by the cycle lemma makes the
    /// breadth-first layout valid: every row's parent comes before it.
    pub(super) fn start(
        &mut self,
        s: &mut Stream,
        start: usize,
        len: usize,
        fanout: &Compiled,
        zero: f64,
    ) {
        let mut strata: Vec<u32> = (0..len as u32).collect();
        for i in (1..len).rev() {
            strata.swap(i, s.below(i as u64 + 1) as usize);
        }
        let mut counts: Vec<u32> = strata
            .iter()
            .map(|&k| {
                let u = (k as f64 + 0.5) / len as f64;
                let v = s.unit();
                if u < zero {
                    0
                } else {
                    let q = fanout.quantile(((u - zero) / (1.0 - zero)).min(1.0));
                    (q + v).floor().clamp(1.0, len as f64) as u32
                }
            })
            .collect();
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        let mut excess = (total + 1).saturating_sub(len as u64);
        if excess > 0 {
            let mut by_size: Vec<usize> = (0..len).collect();
            by_size.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
            for floor in [1, 0] {
                for &i in &by_size {
                    let d = (counts[i].saturating_sub(floor) as u64).min(excess);
                    counts[i] -= d as u32;
                    excess -= d;
                }
            }
        }
        let children: u64 = counts.iter().map(|&c| c as u64).sum();
        let (mut walk, mut low, mut at) = (0i64, 0i64, 0usize);
        for (t, &c) in counts.iter().enumerate() {
            if walk < low {
                (low, at) = (walk, t);
            }
            walk += c as i64 - 1;
        }
        counts.rotate_left(at);
        *self = TreeCursor {
            start,
            len,
            roots: len - children as usize,
            parent: 0,
            left: counts.first().copied().unwrap_or(0),
            counts,
        };
    }

    /// The parent (block row) of block row `i`, `None` for a root; rows come in order.
    pub(super) fn parent_of(&mut self, i: usize) -> Option<usize> {
        if i < self.roots {
            return None;
        }
        while self.left == 0 {
            self.parent += 1;
            self.left = self.counts[self.parent];
        }
        self.left -= 1;
        debug_assert!(self.parent < i);
        Some(self.parent)
    }
}
