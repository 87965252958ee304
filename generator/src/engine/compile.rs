//! A spec compiled for a band and seed into a [`Model`]: tables resolved ([`resolve`]), key
//! renderings carried along references and types checked ([`checks`]), tables ordered
//! ([`order`]), then planned in that order (a child's plan needs its parent's row count).

mod checks;
mod order;
mod resolve;

use indexmap::IndexMap;
use pgshape_core::rng::{Permutation, Seed};

use super::nulls::NullStrata;
use pgshape_core::spec::{Band, Rows, Spec};
use pgshape_core::{Error, Result};

use super::model::{Gen, Model, TableModel, SEGMENT_ROWS};
use super::plan::Plan;
use super::popularity::Popularity;
use resolve::TableCx;

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
        let end = chrono::DateTime::parse_from_rfc3339(&spec.window.end)
            .map_err(|e| Error::Unsupported(format!("window.end: {e}")))?
            .timestamp_micros();
        let start = end - spec.window.days as i64 * 86_400_000_000;
        let mut tables = resolve_tables(&spec, &seed_key, (start, end))?;
        checks::resolve_renders(&mut tables, &spec);
        for t in &tables {
            for c in &t.columns {
                checks::check_type(&c.gen, c.sql_type, c.render.as_deref()).map_err(|m| {
                    Error::Unsupported(format!("table {}, column {}: {m}", t.name, c.name))
                })?;
            }
        }
        let order = order::table_order(&tables)?;
        check_drops(&tables)?;
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
        model.plan(only, &band_spec, &seed_key)?;
        Ok(model)
    }

    /// Plans the tables `only` names (all when `None`) and those they read, in table order,
    /// with their NULL strata and popularity permutations.
    fn plan(&mut self, only: Option<&[String]>, band: &Band, seed: &Seed) -> Result<()> {
        let needed = match only {
            None => vec![true; self.tables.len()],
            Some(names) => {
                let mut needed = vec![false; self.tables.len()];
                let mut stack: Vec<usize> =
                    names.iter().filter_map(|n| self.table_index(n)).collect();
                while let Some(t) = stack.pop() {
                    if !std::mem::replace(&mut needed[t], true) {
                        stack.extend(order::table_deps(&self.tables[t]));
                    }
                }
                needed
            }
        };
        let mut null_slots = 0;
        for &ti in self.order.clone().iter().filter(|&&ti| needed[ti]) {
            let name = &self.tables[ti].name;
            let parent_rows = self.tables[ti].parent.map(|p| self.tables[p].plan.rows);
            let rows = &self.spec.tables[name].rows;
            self.tables[ti].plan = Plan::build(name, rows, parent_rows, band, seed)?;
            stratify(&mut self.tables[ti], seed, &mut null_slots);
        }
        // Once every table has its rows (a reference may point into a table planned later):
        // each popularity curve fitted to its references per referenced row in the band.
        for ti in (0..self.tables.len()).filter(|&ti| needed[ti]) {
            self.fit_popularity(ti);
        }
        Ok(())
    }

    /// The popularity curves of table `ti`'s references, rebuilt so their counts add up to
    /// the band's referring rows (those not NULL) over its referenced rows: a referenced row
    /// gets the fan-out's count whatever the band (see [`Popularity::with_mean`]).
    fn fit_popularity(&mut self, ti: usize) {
        let rows = self.tables[ti].plan.rows as f64;
        let spec_table = &self.spec.tables[&self.tables[ti].name];
        let mut fitted = Vec::new();
        for (ci, c) in self.tables[ti].columns.iter().enumerate() {
            let Gen::Reference {
                table,
                popularity: Some(_),
                ..
            } = &c.gen
            else {
                continue;
            };
            let Some(p) = spec_table
                .columns
                .get(&c.name)
                .and_then(|s| s.reference.as_ref())
                .and_then(|r| r.popularity.as_ref())
            else {
                continue;
            };
            let referenced = self.tables[*table].plan.rows;
            let per_row =
                (referenced > 0).then(|| rows * (1.0 - c.null_fraction) / referenced as f64);
            let mut curve = Popularity::with_mean(&p.fanout, p.zero_fraction, per_row);
            if let (Gen::Reference { distinct: true, .. }, Rows::PerParent(pp)) =
                (&c.gen, &spec_table.rows)
            {
                let groups = self.tables[ti].plan.groups as f64 * (1.0 - pp.zero_fraction);
                let scale = self.tables[ti].plan.scale();
                curve.compensate_distinct(
                    referenced as f64,
                    &group_sizes(&pp.fanout, groups, scale),
                );
            }
            fitted.push((ci, curve));
        }
        for (ci, curve) in fitted {
            if let Gen::Reference { popularity, .. } = &mut self.tables[ti].columns[ci].gen {
                *popularity = Some(Box::new(curve));
            }
        }
    }
}

/// A per-parent table's groups with rows as `(rows, groups)` classes: `groups` parents with
/// rows, their fan-out (times `scale`) at 256 points, denser towards its top.
fn group_sizes(fanout: &pgshape_core::dist::Dist, groups: f64, scale: f64) -> Vec<(f64, f64)> {
    const POINTS: usize = 256;
    let edge = |i: usize| libm::pow(i as f64 / POINTS as f64, 3.0);
    (0..POINTS)
        .map(|i| {
            let (a, b) = (edge(i), edge(i + 1));
            let u = 1.0 - (a + b) / 2.0;
            (scale * fanout.quantile(u).max(0.0), groups * (b - a))
        })
        .collect()
}

/// Every table of the spec with its columns resolved, in the spec's order.
fn resolve_tables(spec: &Spec, seed: &Seed, window: (i64, i64)) -> Result<Vec<TableModel>> {
    let names: IndexMap<&str, usize> = spec
        .tables
        .keys()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut tables = Vec::new();
    for (tname, t) in &spec.tables {
        let parent = match &t.rows {
            Rows::Band => None,
            Rows::PerParent(pp) => Some(names[pp.parent.as_str()]),
        };
        let cx = TableCx {
            spec,
            names: &names,
            seed,
            name: tname,
            table: t,
            parent: parent.map(|p| &spec.tables[p]),
            window,
        };
        let columns = cx.columns()?;
        let eval_order = order::eval_order(tname, &columns)?;
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
    Ok(tables)
}

/// A table whose groups a distinct pick or reference may cut short cannot be read by row
/// number: not a parent, not a reference target.
fn check_drops(tables: &[TableModel]) -> Result<()> {
    for (ti, t) in tables.iter().enumerate() {
        let referenced = tables.iter().any(|o| {
            o.parent == Some(ti)
                || o.columns
                    .iter()
                    .any(|c| matches!(c.gen, Gen::Reference { table, .. } if table == ti))
        });
        if t.may_drop && referenced {
            return Err(Error::Unsupported(format!(
                "table {}: a distinct pick or reference may cut groups short, so the table cannot be a parent or a reference target",
                t.name
            )));
        }
    }
    Ok(())
}

/// A planned table's strata: which rows are NULL per nullable column (see [`NullStrata`]),
/// and through a keyed permutation of its rows which stratum of its popularity curve each row of a reference draws.
fn stratify(t: &mut TableModel, seed: &Seed, null_slots: &mut usize) {
    let rows = t.plan.rows.max(1);
    for c in t.columns.iter_mut() {
        if c.null_fraction > 0.0 {
            let key = seed.key(&t.name, &format!("{}/nulls", c.name));
            c.null_strata = Some(NullStrata::new(key, rows, c.null_fraction, *null_slots));
            *null_slots += 1;
        }
        if let Gen::Reference {
            popularity: Some(_),
            strata,
            ..
        } = &mut c.gen
        {
            let key = seed.key(&t.name, &format!("{}/strata", c.name));
            *strata = Some(Permutation::new(&key, rows));
        }
    }
}
