//! One table of a spec resolved: each column's generator (a [`Generator`] of the spec) turned
//! into a [`Gen`] whose references point at tables and columns by index. One function per
//! generator kind that reads more than its own parameters; errors name the table and column.

use std::sync::Arc;

use indexmap::IndexMap;
use pgshape_core::dist::Compiled;
use pgshape_core::rng::Seed;
use pgshape_core::spec::{
    Category, ColumnSpec, Earlier, Generator, KeyFormat, ParentKey, Pick, Reference, Rows, Spec,
    TableSpec, Text, TextStyle, Timestamp,
};
use pgshape_core::{Error, Result};

use crate::engine::alignment::rake;
use crate::engine::key::KeyRender;
use crate::engine::model::{element_gen, ColumnModel, Gen, ValueRef};
use crate::engine::popularity::Popularity;
use crate::engine::text::Corpus;

/// What resolving the columns of one table reads.
pub(super) struct TableCx<'a> {
    pub spec: &'a Spec,
    /// Table indexes by name (the spec's order).
    pub names: &'a IndexMap<&'a str, usize>,
    pub seed: &'a Seed,
    pub name: &'a str,
    pub table: &'a TableSpec,
    /// The spec of the table's parent (per-parent tables).
    pub parent: Option<&'a TableSpec>,
    /// The window, microseconds since the Unix epoch.
    pub window: (i64, i64),
}

impl TableCx<'_> {
    fn unsupported(&self, column: &str, m: String) -> Error {
        Error::Unsupported(format!("table {}, column {column}: {m}", self.name))
    }

    /// The columns of the table, compiled.
    pub fn columns(&self) -> Result<Vec<ColumnModel>> {
        self.table
            .columns
            .iter()
            .map(|(cname, c)| self.column(cname, c))
            .collect()
    }

    /// One column: its generator, key stream, key rendering and array length.
    fn column(&self, cname: &str, c: &ColumnSpec) -> Result<ColumnModel> {
        let generator = c.generator().map_err(|m| self.unsupported(cname, m))?;
        let gen = self.gen(cname, generator)?;
        super::checks::check_range(&gen, c.sql_type).map_err(|m| self.unsupported(cname, m))?;
        if c.array.is_some() && !element_gen(&gen) {
            return Err(self.unsupported(
                cname,
                format!("an array's elements cannot come from a {} generator (number, category, text, boolean, uuid, timestamp without after, bytes, inet or json)", generator.name()),
            ));
        }
        let key = self.seed.key(self.name, cname);
        let render = match c.sequence.as_ref().map(|s| (&s.format, s.start, s.step)) {
            Some((KeyFormat::Integer, ..)) | None => None,
            Some((_, start, step)) if start < 0 || step < 1 => {
                return Err(self.unsupported(
                    cname,
                    "a text or uuid sequence needs start >= 0 and step >= 1".into(),
                ))
            }
            Some((KeyFormat::Text(t), ..)) => {
                Some(Arc::new(KeyRender::text(Compiled::new(&t.length), key)))
            }
            Some((KeyFormat::Uuid, ..)) => Some(Arc::new(KeyRender::uuid(key))),
        };
        Ok(ColumnModel {
            array: c.array.as_ref().map(|a| Compiled::new(&a.length)),
            name: cname.to_string(),
            sql_type: c.sql_type,
            null_fraction: c.null_fraction,
            key,
            gen,
            render,
            null_strata: None,
        })
    }

    /// A column's generator, resolved.
    fn gen(&self, cname: &str, g: Generator<'_>) -> Result<Gen> {
        Ok(match g {
            Generator::Sequence(s) => Gen::Sequence {
                start: s.start,
                step: s.step,
            },
            Generator::Parent(p) => self.parent_key(cname, p)?,
            Generator::Reference(r) => self.reference(cname, r)?,
            Generator::Pick(p) => self.pick(cname, p)?,
            Generator::Earlier(e) => self.earlier(cname, e)?,
            Generator::Timestamp(ts) => self.timestamp(cname, ts)?,
            Generator::Number(n) => Gen::Number {
                dist: Compiled::new(&n.dist),
                decimals: n.decimals,
            },
            Generator::Bytes(b) => Gen::Bytes {
                length: Compiled::new(&b.length),
            },
            Generator::Inet(i) => Gen::Inet { ipv6: i.ipv6 },
            Generator::Json(j) => Gen::Json {
                length: Compiled::new(&j.length),
            },
            Generator::Category(c) => category(c),
            Generator::Text(t) => self.text(cname, t),
            Generator::Boolean(b) => Gen::Boolean { p: b.p },
            Generator::Uuid(_) => Gen::Uuid,
        })
    }

    /// `parent.x` (a column of the parent row) or `x` (a column of this row).
    fn value_ref(&self, cname: &str, r: &str) -> Result<ValueRef> {
        if let Some(pc) = r.strip_prefix("parent.") {
            let ps = self
                .parent
                .ok_or_else(|| self.unsupported(cname, format!("{r}: the table has no parent")))?;
            ps.columns
                .get_index_of(pc)
                .map(ValueRef::Parent)
                .ok_or_else(|| {
                    self.unsupported(cname, format!("{r}: the parent has no such column"))
                })
        } else {
            self.table
                .columns
                .get_index_of(r)
                .map(ValueRef::Own)
                .ok_or_else(|| self.unsupported(cname, format!("{r}: no such column")))
        }
    }

    /// The (start, step) of the sequence `table.column` a reference or `earlier` points at.
    fn sequence_of(&self, table: &str, column: &str, cname: &str) -> Result<(i64, i64)> {
        let c = self
            .spec
            .tables
            .get(table)
            .and_then(|t| t.columns.get(column));
        match c.and_then(|c| c.sequence.as_ref()) {
            Some(s) => Ok((s.start, s.step)),
            None => Err(self.unsupported(
                cname,
                format!("{table}.{column} must have a sequence generator to be referenced"),
            )),
        }
    }

    fn parent_key(&self, cname: &str, p: &ParentKey) -> Result<Gen> {
        let ps = self.parent.ok_or_else(|| {
            self.unsupported(cname, "a parent generator needs rows.per_parent".into())
        })?;
        let column = ps.columns.get_index_of(&p.column).ok_or_else(|| {
            self.unsupported(cname, format!("the parent has no column {}", p.column))
        })?;
        Ok(Gen::ParentKey { column })
    }

    fn reference(&self, cname: &str, r: &Reference) -> Result<Gen> {
        let (start, step) = self.sequence_of(&r.table, &r.column, cname)?;
        Ok(Gen::Reference {
            table: self.names[r.table.as_str()],
            start,
            step,
            zipf: r.zipf,
            popularity: r
                .popularity
                .as_ref()
                .map(|p| Box::new(Popularity::new(&p.fanout, p.zero_fraction))),
            strata: None,
            distinct: r.distinct,
        })
    }

    fn pick(&self, cname: &str, p: &Pick) -> Result<Gen> {
        let src = &self.spec.tables[&p.table];
        let src_parent = match &src.rows {
            Rows::PerParent(pp) => pp.parent.clone(),
            Rows::Band => {
                return Err(self.unsupported(
                    cname,
                    format!(
                        "pick source {} must be grouped by a parent (rows.per_parent)",
                        p.table
                    ),
                ))
            }
        };
        let src_key = self.spec.tables[&src_parent]
            .columns
            .iter()
            .find_map(|(_, c)| c.sequence.as_ref())
            .ok_or_else(|| self.unsupported(cname, format!("{src_parent} needs a sequence key")))?;
        let column = src.columns.get_index_of(&p.column).ok_or_else(|| {
            self.unsupported(cname, format!("{} has no column {}", p.table, p.column))
        })?;
        let exclude = p
            .exclude
            .iter()
            .map(|e| self.value_ref(cname, e))
            .collect::<Result<Vec<_>>>()?;
        Ok(Gen::Pick {
            table: self.names[p.table.as_str()],
            column,
            via: self.value_ref(cname, &p.via)?,
            via_start: src_key.start,
            via_step: src_key.step,
            exclude,
            distinct: p.distinct,
        })
    }

    fn earlier(&self, cname: &str, e: &Earlier) -> Result<Gen> {
        let (start, step) = self.sequence_of(self.name, &e.column, cname)?;
        Ok(Gen::Earlier {
            start,
            step,
            tree: e
                .tree
                .as_ref()
                .map(|t| (Compiled::new(&t.fanout), t.zero_fraction)),
        })
    }

    fn timestamp(&self, cname: &str, ts: &Timestamp) -> Result<Gen> {
        let mut hourly = ts.hourly.as_ref().map(|h| normalise::<24>(h));
        let mut weekly = ts.weekly.as_ref().map(|w| normalise::<7>(w));
        if ts.after.is_none() {
            // In the window: weights fitted to the window's calendar.
            let (start, end) = self.window;
            (hourly, weekly) = rake(start, end, hourly.as_ref(), weekly.as_ref());
        }
        Ok(Gen::Timestamp {
            after: ts
                .after
                .as_deref()
                .map(|a| self.value_ref(cname, a))
                .transpose()?,
            offset: ts.offset_seconds.as_ref().map(Compiled::new),
            hourly: hourly.map(Box::new),
            weekly,
            ascending: ts.ascending,
        })
    }

    fn text(&self, cname: &str, t: &Text) -> Gen {
        let corpus = (t.style == TextStyle::Words && !t.unique).then(|| {
            let mut s = self.seed.key(self.name, cname).stream(u64::MAX);
            Arc::new(Corpus::new(&mut s))
        });
        Gen::Text {
            length: Compiled::new(&t.length),
            style: t.style,
            unique: t.unique,
            corpus,
        }
    }
}

/// Labels and their cumulative shares.
fn category(c: &Category) -> Gen {
    let total: f64 = c.weights.values().sum();
    let mut acc = 0.0;
    let cumulative = c
        .weights
        .values()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect();
    Gen::Category {
        labels: c.weights.keys().cloned().collect(),
        cumulative,
    }
}

/// Weights scaled so the largest is 1 (profiles thin candidates by their weight).
fn normalise<const N: usize>(w: &[f64]) -> [f64; N] {
    let max = w.iter().cloned().fold(0.0, f64::max);
    let mut out = [0.0; N];
    for (o, x) in out.iter_mut().zip(w) {
        *o = x / max;
    }
    out
}
