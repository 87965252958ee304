//! A spec and a band compiled into tables whose generators point at each other by index: the
//! types. `compile` builds them ([`Model::new`]).

use pgshape_core::dist::Compiled;
use pgshape_core::rng::{Permutation, StreamKey};

use super::nulls::NullStrata;
use pgshape_core::spec::{Spec, SqlType, TextStyle};

use super::key::KeyRender;
use super::plan::Plan;
pub use super::plan::ROOT_BLOCK;

/// A compiled spec for one band and seed.
pub struct Model {
    pub spec: Spec,
    pub band: String,
    pub seed_text: String,
    pub tables: Vec<TableModel>,
    /// Table indexes, parents and pick sources first.
    pub order: Vec<usize>,
    /// Microseconds since the Unix epoch.
    pub window_start: i64,
    pub window_end: i64,
    /// Groups larger than this are generated in segments of this many rows (see
    /// `group::GroupGen`); the data is the same whatever the value.
    pub segment_rows: usize,
}

/// The default [`Model::segment_rows`].
pub const SEGMENT_ROWS: usize = 8192;

/// One table.
pub struct TableModel {
    pub name: String,
    pub columns: Vec<ColumnModel>,
    /// Column indexes in evaluation order (a column after the columns it reads).
    pub eval_order: Vec<usize>,
    pub parent: Option<usize>,
    pub plan: Plan,
    /// Whether a group may end early (a distinct pick or reference ran out of values).
    pub may_drop: bool,
    /// Per column, the corpus its sentence-like text is cut from.
    pub corpora: Vec<Option<std::sync::Arc<super::text::Corpus>>>,
}

/// One column.
pub struct ColumnModel {
    pub name: String,
    pub sql_type: SqlType,
    pub null_fraction: f64,
    pub gen: Gen,
    pub key: StreamKey,
    /// Elements per value when the column is an array of `sql_type`.
    pub array: Option<Compiled>,
    /// How a key number in this column is written: the rendering of the text or UUID
    /// `sequence` the column is (or refers to); `None` writes integers.
    pub render: Option<std::sync::Arc<KeyRender>>,
    /// With a null fraction: which rows are NULL (set once the table is planned).
    pub null_strata: Option<NullStrata>,
}

/// Where a generator reads a value: this row or the parent row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef {
    Own(usize),
    Parent(usize),
}

/// A resolved generator.
pub enum Gen {
    Sequence {
        start: i64,
        step: i64,
    },
    ParentKey {
        column: usize,
    },
    Reference {
        table: usize,
        start: i64,
        step: i64,
        zipf: f64,
        popularity: Option<Box<super::popularity::Popularity>>,
        /// With `popularity`: a keyed permutation of this table's rows, so that row `i` draws
        /// the stratum `(π(i) + ½) / rows` of the popularity curve (set once the table is
        /// planned; see `column`).
        strata: Option<Permutation>,
        distinct: bool,
    },
    Pick {
        table: usize,
        column: usize,
        via: ValueRef,
        via_start: i64,
        via_step: i64,
        exclude: Vec<ValueRef>,
        distinct: bool,
    },
    Earlier {
        start: i64,
        step: i64,
        /// Children per row (fan-out among rows with children) and the childless share: the
        /// group is laid out as a breadth-first forest (see `column`).
        tree: Option<(Compiled, f64)>,
    },
    Timestamp {
        after: Option<ValueRef>,
        offset: Option<Compiled>,
        hourly: Option<Box<[f64; 24]>>,
        weekly: Option<[f64; 7]>,
        ascending: bool,
    },
    Number {
        dist: Compiled,
        /// Rounded to this many decimals.
        decimals: Option<u32>,
    },
    Category {
        labels: Vec<String>,
        cumulative: Vec<f64>,
    },
    Text {
        length: Compiled,
        style: TextStyle,
        unique: bool,
        /// The corpus sentence-like (`words`) values are cut from.
        corpus: Option<std::sync::Arc<super::text::Corpus>>,
    },
    Boolean {
        p: f64,
    },
    Uuid,
    Bytes {
        length: Compiled,
    },
    Inet {
        ipv6: f64,
    },
    Json {
        length: Compiled,
    },
}

impl TableModel {
    /// The own columns a column reads (its dependencies within the row).
    fn own_deps(&self, ci: usize) -> Vec<usize> {
        refs(&self.columns[ci].gen)
            .into_iter()
            .filter_map(|r| match r {
                ValueRef::Own(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    /// Adds to `needed` every own column that a needed column reads, transitively.
    pub fn close_mask(&self, needed: &mut [bool]) {
        let mut stack: Vec<usize> = (0..needed.len()).filter(|&i| needed[i]).collect();
        while let Some(c) = stack.pop() {
            for d in self.own_deps(c) {
                if !needed[d] {
                    needed[d] = true;
                    stack.push(d);
                }
            }
        }
    }

    /// The parent's columns that the `needed` columns of this table read (closed over the
    /// parent's own dependencies). Cursors generate only these when walking a parent.
    pub fn parent_mask(&self, needed: &[bool], parent: &TableModel) -> Vec<bool> {
        let mut mask = vec![false; parent.columns.len()];
        for (ci, c) in self.columns.iter().enumerate() {
            if !needed[ci] {
                continue;
            }
            if let Gen::ParentKey { column } = c.gen {
                mask[column] = true;
            }
            for r in refs(&c.gen) {
                if let ValueRef::Parent(p) = r {
                    mask[p] = true;
                }
            }
        }
        parent.close_mask(&mut mask);
        mask
    }
}

/// The value references of a generator.
pub(crate) fn refs(gen: &Gen) -> Vec<ValueRef> {
    match gen {
        Gen::Pick { via, exclude, .. } => std::iter::once(*via)
            .chain(exclude.iter().copied())
            .collect(),
        Gen::Timestamp { after: Some(a), .. } => vec![*a],
        _ => Vec::new(),
    }
}

impl Model {
    /// The table with this name.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }
}

/// Whether a generator can make an array's elements: one that draws a value from its own
/// stream alone, without reading other columns or rows.
pub(crate) fn element_gen(gen: &Gen) -> bool {
    matches!(
        gen,
        Gen::Number { .. }
            | Gen::Category { .. }
            | Gen::Text { unique: false, .. }
            | Gen::Boolean { .. }
            | Gen::Uuid
            | Gen::Bytes { .. }
            | Gen::Inet { .. }
            | Gen::Json { .. }
            | Gen::Timestamp {
                after: None,
                ascending: false,
                ..
            }
    )
}
