//! A spec and a band compiled into tables whose generators point at each other by index.

use indexmap::IndexMap;
use pgshape_core::dist::Compiled;
use pgshape_core::rng::{Permutation, Seed, StreamKey};
use pgshape_core::spec::{KeyFormat, Rows, Spec, SqlType, TextStyle};
use pgshape_core::{Error, Result};

use crate::key::KeyRender;
use crate::plan::Plan;

/// Rows per group of a root table: the unit of random access. Part of the data's identity.
pub const ROOT_BLOCK: u64 = 1024;

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
    /// [`crate::engine::GroupGen`]); the data is the same whatever the value.
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
    pub corpora: Vec<Option<std::sync::Arc<crate::text::Corpus>>>,
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
    /// With a null fraction: a keyed permutation of the table's rows and their count, which
    /// rows are NULL (see `column::is_null`; set once the table is planned).
    pub null_strata: Option<(Permutation, u64)>,
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
        popularity: Option<Box<crate::popularity::Popularity>>,
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
        corpus: Option<std::sync::Arc<crate::text::Corpus>>,
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
fn refs(gen: &Gen) -> Vec<ValueRef> {
    match gen {
        Gen::Pick { via, exclude, .. } => std::iter::once(*via)
            .chain(exclude.iter().copied())
            .collect(),
        Gen::Timestamp { after: Some(a), .. } => vec![*a],
        _ => Vec::new(),
    }
}

impl Model {
    /// Compiles `spec` for `band` and `seed`. Errors name the table and column.
    pub fn new(spec: Spec, band: &str, seed: &str) -> Result<Model> {
        Model::new_for(spec, band, seed, None)
    }

    /// [`Model::new`] that plans only the tables in `only` and those they read (parents,
    /// reference targets, pick sources); the others have empty plans. Rows of planned tables
    /// are the same as in a full model.
    pub fn new_for(spec: Spec, band: &str, seed: &str, only: Option<&[String]>) -> Result<Model> {
        let band_spec = spec.band(band)?.clone();
        let seed_key = Seed::new(seed);
        let names: IndexMap<&str, usize> = spec
            .tables
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let end = chrono::DateTime::parse_from_rfc3339(&spec.window.end)
            .map_err(|e| Error::Unsupported(format!("window.end: {e}")))?
            .timestamp_micros();
        let start = end - spec.window.days as i64 * 86_400_000_000;
        let unsupported =
            |t: &str, c: &str, m: String| Error::Unsupported(format!("table {t}, column {c}: {m}"));

        // First pass: columns with generators resolved against table and column names.
        let mut tables = Vec::new();
        for (tname, t) in &spec.tables {
            let parent = match &t.rows {
                Rows::Band => None,
                Rows::PerParent(pp) => Some(names[pp.parent.as_str()]),
            };
            let col_index = |c: &str| t.columns.get_index_of(c);
            let parent_spec = parent.map(|p| &spec.tables[p]);
            let resolve_ref = |cname: &str, r: &str| -> Result<ValueRef> {
                if let Some(pc) = r.strip_prefix("parent.") {
                    let ps = parent_spec.ok_or_else(|| {
                        unsupported(tname, cname, format!("{r}: the table has no parent"))
                    })?;
                    ps.columns
                        .get_index_of(pc)
                        .map(ValueRef::Parent)
                        .ok_or_else(|| {
                            unsupported(tname, cname, format!("{r}: the parent has no such column"))
                        })
                } else {
                    col_index(r)
                        .map(ValueRef::Own)
                        .ok_or_else(|| unsupported(tname, cname, format!("{r}: no such column")))
                }
            };
            let sequence_of = |table: &str, column: &str, cname: &str| -> Result<(i64, i64)> {
                let c = spec.tables.get(table).and_then(|t| t.columns.get(column));
                match c.and_then(|c| c.sequence.as_ref()) {
                    Some(s) => Ok((s.start, s.step)),
                    None => Err(unsupported(
                        tname,
                        cname,
                        format!("{table}.{column} must have a sequence generator to be referenced"),
                    )),
                }
            };
            let mut columns = Vec::new();
            for (cname, c) in &t.columns {
                let kind = c.kind().map_err(|m| unsupported(tname, cname, m))?;
                let gen = match kind {
                    "sequence" => {
                        let s = c.sequence.as_ref().unwrap();
                        Gen::Sequence {
                            start: s.start,
                            step: s.step,
                        }
                    }
                    "parent" => {
                        let p = c.parent.as_ref().unwrap();
                        let ps = parent_spec.ok_or_else(|| {
                            unsupported(
                                tname,
                                cname,
                                "a parent generator needs rows.per_parent".into(),
                            )
                        })?;
                        let column = ps.columns.get_index_of(&p.column).ok_or_else(|| {
                            unsupported(
                                tname,
                                cname,
                                format!("the parent has no column {}", p.column),
                            )
                        })?;
                        Gen::ParentKey { column }
                    }
                    "reference" => {
                        let r = c.reference.as_ref().unwrap();
                        let (start, step) = sequence_of(&r.table, &r.column, cname)?;
                        Gen::Reference {
                            table: names[r.table.as_str()],
                            start,
                            step,
                            zipf: r.zipf,
                            popularity: r.popularity.as_ref().map(|p| {
                                Box::new(crate::popularity::Popularity::new(
                                    &p.fanout,
                                    p.zero_fraction,
                                ))
                            }),
                            strata: None,
                            distinct: r.distinct,
                        }
                    }
                    "pick" => {
                        let p = c.pick.as_ref().unwrap();
                        let src = &spec.tables[&p.table];
                        let src_parent = match &src.rows {
                            Rows::PerParent(pp) => pp.parent.clone(),
                            Rows::Band => {
                                return Err(unsupported(
                                    tname,
                                    cname,
                                    format!(
                                    "pick source {} must be grouped by a parent (rows.per_parent)",
                                    p.table
                                ),
                                ))
                            }
                        };
                        let src_key = spec.tables[&src_parent]
                            .columns
                            .iter()
                            .find_map(|(_, c)| c.sequence.as_ref())
                            .ok_or_else(|| {
                                unsupported(
                                    tname,
                                    cname,
                                    format!("{src_parent} needs a sequence key"),
                                )
                            })?;
                        let column = src.columns.get_index_of(&p.column).ok_or_else(|| {
                            unsupported(
                                tname,
                                cname,
                                format!("{} has no column {}", p.table, p.column),
                            )
                        })?;
                        let exclude = p
                            .exclude
                            .iter()
                            .map(|e| resolve_ref(cname, e))
                            .collect::<Result<Vec<_>>>()?;
                        Gen::Pick {
                            table: names[p.table.as_str()],
                            column,
                            via: resolve_ref(cname, &p.via)?,
                            via_start: src_key.start,
                            via_step: src_key.step,
                            exclude,
                            distinct: p.distinct,
                        }
                    }
                    "earlier" => {
                        let e = c.earlier.as_ref().unwrap();
                        let (start, step) = sequence_of(tname, &e.column, cname)?;
                        Gen::Earlier {
                            start,
                            step,
                            tree: e
                                .tree
                                .as_ref()
                                .map(|t| (Compiled::new(&t.fanout), t.zero_fraction)),
                        }
                    }
                    "timestamp" => {
                        let ts = c.timestamp.as_ref().unwrap();
                        let mut hourly = ts.hourly.as_ref().map(|h| normalise::<24>(h));
                        let mut weekly = ts.weekly.as_ref().map(|w| normalise::<7>(w));
                        if ts.after.is_none() {
                            // In the window: weights fitted to the window's calendar.
                            (hourly, weekly) = crate::alignment::rake(
                                start,
                                end,
                                hourly.as_ref(),
                                weekly.as_ref(),
                            );
                        }
                        Gen::Timestamp {
                            after: ts
                                .after
                                .as_deref()
                                .map(|a| resolve_ref(cname, a))
                                .transpose()?,
                            offset: ts.offset_seconds.as_ref().map(Compiled::new),
                            hourly: hourly.map(Box::new),
                            weekly,
                            ascending: ts.ascending,
                        }
                    }
                    "number" => {
                        let n = c.number.as_ref().unwrap();
                        Gen::Number {
                            dist: Compiled::new(&n.dist),
                            decimals: n.decimals,
                        }
                    }
                    "bytes" => Gen::Bytes {
                        length: Compiled::new(&c.bytes.as_ref().unwrap().length),
                    },
                    "inet" => Gen::Inet {
                        ipv6: c.inet.as_ref().unwrap().ipv6,
                    },
                    "json" => Gen::Json {
                        length: Compiled::new(&c.json.as_ref().unwrap().length),
                    },
                    "category" => {
                        let w = &c.category.as_ref().unwrap().weights;
                        let total: f64 = w.values().sum();
                        let mut acc = 0.0;
                        let cumulative = w
                            .values()
                            .map(|x| {
                                acc += x / total;
                                acc
                            })
                            .collect();
                        Gen::Category {
                            labels: w.keys().cloned().collect(),
                            cumulative,
                        }
                    }
                    "text" => {
                        let t = c.text.as_ref().unwrap();
                        let corpus = (t.style == TextStyle::Words && !t.unique).then(|| {
                            let mut s = seed_key.key(tname, cname).stream(u64::MAX);
                            std::sync::Arc::new(crate::text::Corpus::new(&mut s))
                        });
                        Gen::Text {
                            length: Compiled::new(&t.length),
                            style: t.style,
                            unique: t.unique,
                            corpus,
                        }
                    }
                    "boolean" => Gen::Boolean {
                        p: c.boolean.as_ref().unwrap().p,
                    },
                    "uuid" => Gen::Uuid,
                    other => {
                        return Err(unsupported(
                            tname,
                            cname,
                            format!("generator {other} is not implemented"),
                        ))
                    }
                };
                check_range(&gen, c.sql_type).map_err(|m| unsupported(tname, cname, m))?;
                if c.array.is_some() && !element_gen(&gen) {
                    return Err(unsupported(
                        tname,
                        cname,
                        format!("an array's elements cannot come from a {kind} generator (number, category, text, boolean, uuid, timestamp without after, bytes, inet or json)"),
                    ));
                }
                let key = seed_key.key(tname, cname);
                let render = match c.sequence.as_ref().map(|s| (&s.format, s.start, s.step)) {
                    Some((KeyFormat::Integer, ..)) | None => None,
                    Some((_, start, step)) if start < 0 || step < 1 => {
                        return Err(unsupported(
                            tname,
                            cname,
                            "a text or uuid sequence needs start >= 0 and step >= 1".into(),
                        ))
                    }
                    Some((KeyFormat::Text(t), ..)) => Some(std::sync::Arc::new(KeyRender::text(
                        Compiled::new(&t.length),
                        key,
                    ))),
                    Some((KeyFormat::Uuid, ..)) => Some(std::sync::Arc::new(KeyRender::uuid(key))),
                };
                columns.push(ColumnModel {
                    array: c.array.as_ref().map(|a| Compiled::new(&a.length)),
                    name: cname.clone(),
                    sql_type: c.sql_type,
                    null_fraction: c.null_fraction,
                    key,
                    gen,
                    render,
                    null_strata: None,
                });
            }
            let eval_order = eval_order(tname, &columns)?;
            let may_drop = columns.iter().any(|c| {
                matches!(
                    c.gen,
                    Gen::Pick { distinct: true, .. } | Gen::Reference { distinct: true, .. }
                )
            });
            let corpora = columns
                .iter()
                .map(|c| match &c.gen {
                    Gen::Text { corpus, .. } => corpus.clone(),
                    _ => None,
                })
                .collect();
            tables.push(TableModel {
                corpora,
                name: tname.clone(),
                columns,
                eval_order,
                parent,
                plan: Plan::empty(),
                may_drop,
            });
        }
        resolve_renders(&mut tables, &spec);
        for t in &tables {
            for c in &t.columns {
                check_type(&c.gen, c.sql_type, c.render.as_deref())
                    .map_err(|m| unsupported(&t.name, &c.name, m))?;
            }
        }
        let order = table_order(&tables)?;
        for t in &tables {
            let referenced = tables.iter().any(|o| {
                o.parent == Some(index_of(&tables, &t.name))
                    || o.columns.iter().any(|c| matches!(c.gen, Gen::Reference { table, .. } if tables[table].name == t.name))
            });
            if t.may_drop && referenced {
                return Err(Error::Unsupported(format!(
                    "table {}: a distinct pick or reference may cut groups short, so the table cannot be a parent or a reference target",
                    t.name
                )));
            }
        }
        let mut model = Model {
            spec,
            band: band.to_string(),
            seed_text: seed.to_string(),
            tables,
            order,
            window_start: start,
            window_end: end,
            segment_rows: SEGMENT_ROWS,
        };
        // Plans in dependency order: a child's plan needs its parent's row count.
        let needed = match only {
            None => vec![true; model.tables.len()],
            Some(names) => {
                let mut needed = vec![false; model.tables.len()];
                let mut stack: Vec<usize> =
                    names.iter().filter_map(|n| model.table_index(n)).collect();
                while let Some(t) = stack.pop() {
                    if !std::mem::replace(&mut needed[t], true) {
                        stack.extend(table_deps(&model.tables[t]));
                    }
                }
                needed
            }
        };
        for &ti in model.order.clone().iter().filter(|&&ti| needed[ti]) {
            let plan = Plan::build(&model, ti, &band_spec, &seed_key)?;
            model.tables[ti].plan = plan;
            let t = &mut model.tables[ti];
            let rows = t.plan.rows.max(1);
            for c in t.columns.iter_mut() {
                if c.null_fraction > 0.0 {
                    let key = seed_key.key(&t.name, &format!("{}/nulls", c.name));
                    c.null_strata = Some((Permutation::new(&key, rows), rows));
                }
                if let Gen::Reference {
                    popularity: Some(_),
                    strata,
                    ..
                } = &mut c.gen
                {
                    let key = seed_key.key(&t.name, &format!("{}/strata", c.name));
                    *strata = Some(Permutation::new(&key, t.plan.rows.max(1)));
                }
            }
        }
        Ok(model)
    }

    /// The table with this name.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }
}

fn index_of(tables: &[TableModel], name: &str) -> usize {
    tables
        .iter()
        .position(|t| t.name == name)
        .expect("known table")
}

fn normalise<const N: usize>(w: &[f64]) -> [f64; N] {
    let max = w.iter().cloned().fold(0.0, f64::max);
    let mut out = [0.0; N];
    for (o, x) in out.iter_mut().zip(w) {
        *o = x / max;
    }
    out
}

/// Gives every column that carries another column's key number that column's rendering:
/// a parent key its parent's column, a reference its target, an `earlier` its table's key, a
/// pick its source column (which may itself refer on), until nothing changes.
fn resolve_renders(tables: &mut [TableModel], spec: &Spec) {
    loop {
        let mut changed = false;
        for ti in 0..tables.len() {
            for ci in 0..tables[ti].columns.len() {
                if tables[ti].columns[ci].render.is_some() {
                    continue;
                }
                let source = match &tables[ti].columns[ci].gen {
                    Gen::ParentKey { column } => tables[ti].parent.map(|p| (p, *column)),
                    Gen::Pick { table, column, .. } => Some((*table, *column)),
                    Gen::Reference { table, .. } => {
                        let tname = &tables[*table].name;
                        let col = spec.tables[ti]
                            .columns
                            .get_index(ci)
                            .and_then(|(_, c)| c.reference.as_ref())
                            .map(|r| r.column.clone());
                        debug_assert_eq!(spec.tables.get_index_of(tname), Some(*table));
                        col.and_then(|c| spec.tables[*table].columns.get_index_of(&c))
                            .map(|c| (*table, c))
                    }
                    Gen::Earlier { .. } => {
                        let col = spec.tables[ti]
                            .columns
                            .get_index(ci)
                            .and_then(|(_, c)| c.earlier.as_ref())
                            .map(|e| e.column.clone());
                        col.and_then(|c| spec.tables[ti].columns.get_index_of(&c))
                            .map(|c| (ti, c))
                    }
                    _ => None,
                };
                if let Some(r) = source.and_then(|(t, c)| tables[t].columns[c].render.clone()) {
                    tables[ti].columns[ci].render = Some(r);
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

fn check_type(
    gen: &Gen,
    t: SqlType,
    render: Option<&KeyRender>,
) -> std::result::Result<(), String> {
    let key_type = |t: SqlType| match render {
        None => t.is_integer(),
        Some(r) if r.is_text() => t.is_text(),
        Some(_) => t == SqlType::Uuid,
    };
    let ok = match gen {
        Gen::Sequence { .. }
        | Gen::ParentKey { .. }
        | Gen::Reference { .. }
        | Gen::Earlier { .. } => key_type(t),
        Gen::Pick { .. } => render.is_none() || key_type(t),
        Gen::Timestamp { .. } => t.is_temporal(),
        Gen::Number { .. } => t.is_number(),
        Gen::Category { .. } | Gen::Text { .. } => t.is_text(),
        Gen::Boolean { .. } => t == SqlType::Boolean,
        Gen::Uuid => t == SqlType::Uuid,
        Gen::Bytes { .. } => t == SqlType::Bytea,
        Gen::Inet { .. } => t == SqlType::Inet,
        Gen::Json { .. } => t == SqlType::Jsonb,
    };
    if ok {
        Ok(())
    } else if let Some(r) = render {
        let written = if r.is_text() { "text" } else { "uuid" };
        Err(format!(
            "the key it carries is written as {written} (its sequence's format), not as type {t:?}"
        ))
    } else {
        Err(format!("the generator cannot produce type {t:?}"))
    }
}

/// A number generator's values must fit its integer type (they would wrap silently).
fn check_range(gen: &Gen, t: SqlType) -> std::result::Result<(), String> {
    let Gen::Number { dist, .. } = gen else {
        return Ok(());
    };
    let (lo, hi) = match t {
        SqlType::Smallint => (i16::MIN as f64, i16::MAX as f64),
        SqlType::Integer => (i32::MIN as f64, i32::MAX as f64),
        SqlType::Bigint => (i64::MIN as f64, i64::MAX as f64),
        _ => return Ok(()),
    };
    let (a, b) = (
        libm::round(dist.quantile(0.0)),
        libm::round(dist.quantile(1.0)),
    );
    if a < lo || b > hi {
        return Err(format!(
            "number.dist reaches {a}..{b}, outside type {t:?} ({lo}..{hi}); give it bounds (a max)"
        ));
    }
    Ok(())
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

/// Columns ordered so that each comes after the own columns it reads; `earlier` goes last so
/// it only points at rows that survived distinct picks.
fn eval_order(table: &str, columns: &[ColumnModel]) -> Result<Vec<usize>> {
    let deps = |c: &ColumnModel| -> Vec<usize> {
        refs(&c.gen)
            .into_iter()
            .filter_map(|r| match r {
                ValueRef::Own(i) => Some(i),
                ValueRef::Parent(_) => None,
            })
            .collect()
    };
    let mut order: Vec<usize> = Vec::new();
    let mut placed = vec![false; columns.len()];
    let is_last = |c: &ColumnModel| matches!(c.gen, Gen::Earlier { .. });
    for pass in 0..2 {
        loop {
            let next = (0..columns.len()).find(|&i| {
                !placed[i]
                    && (pass == 1 || !is_last(&columns[i]))
                    && deps(&columns[i]).iter().all(|&d| placed[d])
            });
            match next {
                Some(i) => {
                    placed[i] = true;
                    order.push(i);
                }
                None => break,
            }
        }
    }
    if order.len() != columns.len() {
        return Err(Error::Unsupported(format!(
            "table {table}: columns read each other in a cycle"
        )));
    }
    Ok(order)
}

/// The tables a table reads: its parent, reference targets and pick sources.
fn table_deps(t: &TableModel) -> Vec<usize> {
    let mut d: Vec<usize> = t.parent.into_iter().collect();
    for c in &t.columns {
        match c.gen {
            Gen::Reference { table, .. } | Gen::Pick { table, .. } => d.push(table),
            _ => {}
        }
    }
    d
}

/// Tables ordered so parents, reference targets and pick sources come first. A cycle through
/// references (a foreign-key cycle) is broken at a reference: a reference reads only the
/// target's row count, never its rows, so its target may come later (the loader adds foreign
/// keys after the rows). Parents and pick sources cannot.
fn table_order(tables: &[TableModel]) -> Result<Vec<usize>> {
    let deps = table_deps;
    let hard = |t: &TableModel| -> Vec<usize> {
        let mut d: Vec<usize> = t.parent.into_iter().collect();
        for c in &t.columns {
            if let Gen::Pick { table, .. } = c.gen {
                d.push(table);
            }
        }
        d
    };
    let mut order = Vec::new();
    let mut placed = vec![false; tables.len()];
    while order.len() < tables.len() {
        let ready = |i: usize, d: Vec<usize>| !placed[i] && d.iter().all(|&d| placed[d] || d == i);
        let next = (0..tables.len())
            .find(|&i| ready(i, deps(&tables[i])))
            .or_else(|| (0..tables.len()).find(|&i| ready(i, hard(&tables[i]))));
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => {
                let left: Vec<&str> = (0..tables.len())
                    .filter(|&i| !placed[i])
                    .map(|i| tables[i].name.as_str())
                    .collect();
                return Err(Error::Unsupported(format!(
                    "tables {} depend on each other in a cycle of parents and picks; break it with a reference",
                    left.join(", ")
                )));
            }
        }
    }
    Ok(order)
}
