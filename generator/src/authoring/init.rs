//! `init`: a complete spec derived from a metrics pack alone, for any schema.
//!
//! - **DDL** from the pack's schema block ([`ddl`]).
//! - **Tables**: a table is grouped under a parent (`rows.per_parent`) by one of its NOT
//!   NULL foreign keys to another table: single-column to a numbered key (integer, text or
//!   uuid), or composite over integer columns the parent row carries (a movement per stock
//!   row); among several,
//!   the parent deepest in the grouping hierarchy wins (a read belongs to its message rather
//!   than to its reader), then the parent with the fewest production rows. Every other table
//!   is a root (`rows: "band"`).
//! - **Columns** by role: integer single-column keys are sequences, and so are text and uuid
//!   single-column keys that a foreign key references (written as base-36 text of the pack's
//!   key lengths, or as UUIDs: see `engine::key`); the grouping key reads the
//!   parent; other foreign keys are references with their edge's popularity (distinct
//!   when they complete a composite key with the grouping key); a nullable self-reference
//!   points at an earlier row of a forest shaped by its edge; a foreign key that closes a
//!   cycle is a reference like the others (its target may be generated later);
//!   timestamps follow the pack's hourly and weekday profiles, the table's window column
//!   after the parent's, other timestamps after the window column; numbers (numeric,
//!   interval too) follow the pack's quantiles within their type and the range the pack
//!   reveals; bytea, jsonb and arrays the pack's lengths; inet documentation addresses;
//!   categories its labels or token frequencies (as synthetic labels); text and PII
//!   its length distribution (PII in PII-shaped but invalid styles); null fractions the pack's.
//! - **Composite foreign keys** group a table (above) or, when they share the grouping
//!   column with a table grouped under the same parent, `pick` the other columns among that
//!   parent's referenced rows (`columns::TableCtx::composite`).
//! - **Bands**: root counts proportional to production; `ci` about 200,000 rows in all, `dev`
//!   a tenth of production, `staging` production's size, `perf` three times it (each at least
//!   `ci`), `scaled` with `--scale`, and `--band NAME=ROWS` sizing the largest table.
//! - Then [`super::calibrate::calibrate`], so calibrating the output again changes nothing.
//!
//! What the generator cannot produce is an error naming the table and column.

mod bands;
mod columns;
pub mod ddl;
mod grouping;
mod keys;
mod options;
mod text;
mod types;

pub use options::{Options, CI_TOTAL_ROWS};

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use pgshape_core::catalog::{self, ForeignKey, Table};
use pgshape_core::pack::Pack;
use pgshape_core::spec::{PerParent, Rows, Spec, TableSpec, SPEC_VERSION};
use pgshape_core::{Error, Result};

/// A derived spec, its DDL and notes of what was decided.
pub struct Derived {
    pub spec: Spec,
    pub ddl: String,
    pub notes: Vec<String>,
}

/// A spec names tables without their schema: refuses a name two schemas share.
fn unique_names(schema: &catalog::Schema) -> Result<()> {
    let mut seen = BTreeSet::new();
    for t in &schema.tables {
        if !seen.insert(t.name.clone()) {
            return Err(Error::Unsupported(format!(
                "table {} appears in several schemas; a spec names tables without their schema",
                t.name
            )));
        }
    }
    Ok(())
}

/// Derives a calibrated spec for every table of `pack`'s schema.
pub fn init(pack: &Pack, pack_sha256: &str, opts: &Options) -> Result<Derived> {
    let schema = &pack.schema;
    unique_names(schema)?;
    let order = catalog::load_order(schema);
    let deferred: BTreeSet<(String, String)> = order.deferred.iter().cloned().collect();
    let tables: Vec<&Table> = order
        .tables
        .iter()
        .filter_map(|q| schema.tables.iter().find(|t| t.qualified() == *q))
        .collect();
    let metrics = |t: &Table| pack.tables.get(&t.qualified());
    let total = |name: &str| {
        schema
            .table(name)
            .and_then(&metrics)
            .map_or(0, |m| m.total_rows)
    };
    let mut notes = Vec::new();

    let grouping = grouping::parents(pack, &tables, &deferred, &mut notes);

    // Row counts, then bands (they need only those), then columns (unique suffixes are sized
    // by the largest band).
    let mut specs: IndexMap<String, TableSpec> = IndexMap::new();
    for t in &tables {
        let rows = match grouping.get(&t.name) {
            Some((fk, fanout, zero)) => Rows::PerParent(PerParent {
                parent: fk.ref_table.clone(),
                fanout: fanout.clone(),
                zero_fraction: *zero,
            }),
            None => Rows::Band,
        };
        let columns = IndexMap::new();
        specs.insert(t.name.clone(), TableSpec { rows, columns });
    }
    let groups: BTreeMap<String, &ForeignKey> =
        grouping.iter().map(|(t, g)| (t.clone(), g.0)).collect();
    let (bands, max_rows) = bands::bands(&specs, &tables, &|n| total(n), opts)?;
    for t in &tables {
        let ctx = columns::TableCtx {
            pack,
            table: t,
            metrics: metrics(t),
            group: grouping.get(&t.name).map(|g| g.0),
            groups: &groups,
            deferred: &deferred,
            after_parent: opts.after_parent,
            max_rows: max_rows.get(&t.name).copied().unwrap_or(1.0),
        };
        specs.get_mut(&t.name).expect("listed").columns = ctx.columns(&mut notes)?;
    }
    let skeleton = Spec {
        spec_version: SPEC_VERSION,
        name: opts.name.clone(),
        description: format!(
            "Derived by pgshape-generator init from the metrics pack of {} ({} tables); edit freely, recalibrate with a fresh pack.",
            pack.created_at,
            specs.len()
        ),
        ddl: Some(opts.ddl_file.clone().into()),
        window: bands::window(pack),
        calibrated_from: None,
        bands,
        tables: specs,
    };
    let names: Vec<String> = skeleton.tables.keys().cloned().collect();
    let ddl = ddl::render(schema, &names);
    let (spec, calibrated) = super::calibrate::calibrate(&skeleton, pack, pack_sha256)?;
    notes.extend(calibrated);
    // Never hand out a spec the generator refuses: compile (and plan) its smallest band.
    crate::engine::Model::new(spec.clone(), "ci", "init")
        .map_err(|e| Error::Unsupported(format!("the derived spec does not compile: {e}")))?;
    Ok(Derived { spec, ddl, notes })
}
