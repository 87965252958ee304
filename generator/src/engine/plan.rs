//! Row counts and chunk boundaries.
//!
//! A root table has the band's row count, in groups of [`ROOT_BLOCK`] rows. A child table has a
//! count per parent row p: `c_p = floor(s * q_p + v_p)`, where `q_p` is the fan-out's quantile
//! at a uniform draw (0 with probability `zero_fraction`) and `v_p` a second uniform draw
//! (stochastic rounding). Both draws sit at a fixed position of the table's `#fanout` stream,
//! so any parent's count is computed in O(1), whatever was generated before. `s` scales the
//! fan-out to the band's target: `target / sum(q_p)`, the sum taken exactly in fixed point.
//!
//! Chunks are ranges of groups; their first rows come from exact integer sums of the counts.
//! Memory is O(chunks), never O(rows). Neither the chunk size nor the thread count reaches a
//! count: chunking only decides how rows are cut into files and hashed.

use pgshape_core::dist::Compiled;
use pgshape_core::rng::{Permutation, Seed, StreamKey};
use pgshape_core::spec::{Band, Rows};
use pgshape_core::{Error, Result};

/// Rows per group of a root table: the unit of random access. Part of the data's identity.
pub const ROOT_BLOCK: u64 = 1024;

/// Fixed-point scale of the fan-out sum (2^16).
const FP: f64 = 65_536.0;

/// The counts of one table.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Rows planned (before distinct picks may cut groups short).
    pub rows: u64,
    /// Groups: root blocks, or parent rows.
    pub groups: u64,
    pub chunks: Vec<Chunk>,
    fanout: Option<Fanout>,
}

#[derive(Clone, Debug)]
struct Fanout {
    key: StreamKey,
    perm: Permutation,
    groups: u64,
    dist: Compiled,
    zero_fraction: f64,
    scale: f64,
}

/// A range of groups written, hashed and loaded as one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub index: usize,
    pub first_group: u64,
    pub end_group: u64,
    pub first_row: u64,
    pub end_row: u64,
}

impl Chunk {
    /// Rows planned in the chunk.
    pub fn rows(&self) -> u64 {
        self.end_row - self.first_row
    }
}

impl Plan {
    /// A placeholder until [`Plan::build`] runs.
    pub fn empty() -> Plan {
        Plan {
            rows: 0,
            groups: 0,
            chunks: Vec::new(),
            fanout: None,
        }
    }

    /// Plans table `name` whose spec says `rows`; `parent_rows` is its parent's planned row
    /// count (the parent is planned first).
    pub fn build(
        name: &str,
        rows: &Rows,
        parent_rows: Option<u64>,
        band: &Band,
        seed: &Seed,
    ) -> Result<Plan> {
        let target = band.rows.get(name).copied();
        match rows {
            Rows::Band => Ok(Plan::root(target.expect("checked by Spec::check"), band)),
            Rows::PerParent(pp) => {
                let groups = parent_rows.expect("per_parent table has a parent");
                let key = seed.key(name, "#fanout");
                let fanout = Fanout {
                    perm: Permutation::new(&key, groups.max(1)),
                    groups,
                    key,
                    dist: Compiled::new(&pp.fanout),
                    zero_fraction: pp.zero_fraction,
                    scale: 1.0,
                };
                Plan::per_parent(name, fanout, target, band)
            }
        }
    }

    /// A root table of `rows` rows in blocks of [`ROOT_BLOCK`].
    fn root(rows: u64, band: &Band) -> Plan {
        let groups = rows.div_ceil(ROOT_BLOCK);
        let per_chunk = band.chunk_rows.div_ceil(ROOT_BLOCK).max(1);
        let chunks = (0..groups.div_ceil(per_chunk))
            .map(|c| {
                let first_group = c * per_chunk;
                let end_group = (first_group + per_chunk).min(groups);
                Chunk {
                    index: c as usize,
                    first_group,
                    end_group,
                    first_row: first_group * ROOT_BLOCK,
                    end_row: (end_group * ROOT_BLOCK).min(rows),
                }
            })
            .collect();
        Plan {
            rows,
            groups,
            chunks,
            fanout: None,
        }
    }

    /// A per-parent table: the fan-out scaled to the band's `target`, chunks of about
    /// `chunk_rows` rows whose first rows are exact sums of the counts.
    fn per_parent(
        name: &str,
        mut fanout: Fanout,
        target: Option<u64>,
        band: &Band,
    ) -> Result<Plan> {
        let groups = fanout.groups;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if let Some(target) = target {
            let sum = parallel_sum(groups, threads, |a, b| fanout.raw_sum(a, b));
            if sum == 0 && target > 0 {
                return Err(Error::Unsupported(format!(
                    "table {name}: the fan-out gives no rows at all, so the band target {target} cannot be met"
                )));
            }
            fanout.scale = if sum == 0 {
                0.0
            } else {
                target as f64 / (sum as f64 / FP)
            };
        }
        let mean_rows = match target {
            Some(target) if groups > 0 => target as f64 / groups as f64,
            _ => fanout.dist.mean() * (1.0 - fanout.zero_fraction),
        };
        let per_chunk =
            ((band.chunk_rows as f64 / mean_rows.max(1e-9)).ceil() as u64).clamp(1, groups.max(1));
        let n_chunks = groups.div_ceil(per_chunk);
        if n_chunks > pgshape_core::spec::MAX_CHUNKS {
            return Err(Error::Unsupported(format!(
                "table {name}: its fan-out of about {mean_rows:.0} rows per parent over {groups} parents makes {n_chunks} chunks, more than {}",
                pgshape_core::spec::MAX_CHUNKS
            )));
        }
        let counts: Vec<u64> = parallel_map(n_chunks, threads, |c| {
            let a = c * per_chunk;
            fanout.count_sum(a, (a + per_chunk).min(groups))
        });
        let mut chunks = Vec::with_capacity(counts.len());
        let mut row = 0;
        for (c, n) in counts.into_iter().enumerate() {
            let first_group = c as u64 * per_chunk;
            chunks.push(Chunk {
                index: c,
                first_group,
                end_group: (first_group + per_chunk).min(groups),
                first_row: row,
                end_row: row + n,
            });
            row = row.saturating_add(n);
        }
        if row > pgshape_core::spec::MAX_TABLE_ROWS {
            return Err(Error::Unsupported(format!(
                "table {name}: its fan-out gives {row} rows, more than the {} a band may have",
                pgshape_core::spec::MAX_TABLE_ROWS
            )));
        }
        Ok(Plan {
            rows: row,
            groups,
            chunks,
            fanout: Some(fanout),
        })
    }

    /// Rows in group `g` (a root block, or the children of parent row `g`). O(1).
    pub fn group_rows(&self, g: u64) -> u64 {
        match &self.fanout {
            None => (self.rows - g * ROOT_BLOCK).min(ROOT_BLOCK),
            Some(f) => f.count(g),
        }
    }

    /// The first row of group `g`: O(1) for root tables, a scan from the chunk start for child
    /// tables (callers walking forward use an `group::Cursor`).
    pub fn group_first_row(&self, g: u64) -> u64 {
        match &self.fanout {
            None => g * ROOT_BLOCK,
            Some(f) => {
                let c = self.chunk_of_group(g);
                let chunk = &self.chunks[c];
                chunk.first_row + f.count_sum(chunk.first_group, g)
            }
        }
    }

    /// The chunk holding group `g`.
    pub fn chunk_of_group(&self, g: u64) -> usize {
        self.chunks
            .partition_point(|c| c.end_group <= g)
            .min(self.chunks.len().saturating_sub(1))
    }

    /// The group holding row `r`, and the row's offset in it.
    pub fn locate_row(&self, r: u64) -> (u64, u64) {
        match &self.fanout {
            None => (r / ROOT_BLOCK, r % ROOT_BLOCK),
            Some(f) => {
                let c = self.chunks.partition_point(|c| c.end_row <= r);
                let chunk = &self.chunks[c];
                let mut row = chunk.first_row;
                let mut g = chunk.first_group;
                loop {
                    let n = f.count(g);
                    if r < row + n {
                        return (g, r - row);
                    }
                    row += n;
                    g += 1;
                }
            }
        }
    }

    /// The fan-out's scale factor (1 when the band sets no target for this table).
    pub fn scale(&self) -> f64 {
        self.fanout.as_ref().map_or(1.0, |f| f.scale)
    }
}

impl Fanout {
    /// The unscaled fan-out of parent `g`, and the rounding draw. Stratified: parent g takes
    /// the stratum perm(g) of [0, 1), so the parents' fan-outs follow the quantile function
    /// exactly even in the tail, while hot parents land anywhere in the key range.
    fn draw(&self, g: u64) -> (f64, f64) {
        // Centred strata: the multiset of fan-outs is the quantile function sampled at
        // (i + 1/2) / N whatever the seed, so the scale that meets the band target does not
        // swing with the draw of the tail's top stratum (which, for a few hundred parents,
        // can hold a third of all rows). The seed decides which parent gets which stratum.
        let u = (self.perm.apply(g) as f64 + 0.5) / self.groups as f64;
        let v = self.key.unit_at(g, 1);
        if u < self.zero_fraction {
            (0.0, v)
        } else {
            let u = (u - self.zero_fraction) / (1.0 - self.zero_fraction);
            (self.dist.quantile(u), v)
        }
    }

    fn count(&self, g: u64) -> u64 {
        let (q, v) = self.draw(g);
        (self.scale * q + v).floor().max(0.0) as u64
    }

    fn raw_sum(&self, a: u64, b: u64) -> u64 {
        (a..b).map(|g| (self.draw(g).0 * FP).round() as u64).sum()
    }

    fn count_sum(&self, a: u64, b: u64) -> u64 {
        (a..b).map(|g| self.count(g)).sum()
    }
}

/// Sums `f(a, b)` over [0, n) split into ranges across threads (integer sums: order-free).
fn parallel_sum(n: u64, threads: usize, f: impl Fn(u64, u64) -> u64 + Sync) -> u64 {
    let step = n.div_ceil(threads as u64).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n.div_ceil(step))
            .map(|i| {
                let f = &f;
                s.spawn(move || f(i * step, ((i + 1) * step).min(n)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("planning thread"))
            .sum()
    })
}

/// `f(i)` for i in [0, n), computed across threads, returned in order.
fn parallel_map(n: u64, threads: usize, f: impl Fn(u64) -> u64 + Sync) -> Vec<u64> {
    let step = n.div_ceil(threads as u64).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n.div_ceil(step))
            .map(|i| {
                let f = &f;
                s.spawn(move || {
                    (i * step..((i + 1) * step).min(n))
                        .map(f)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("planning thread"))
            .collect()
    })
}
