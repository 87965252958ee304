//! Extraction: the catalog and SQL aggregates of a production database → metrics pack and
//! mapping manifest, written as a pair (both or neither).
//!
//! Everything is computed by the server inside one read-only snapshot; only aggregates cross
//! the wire. Identifiers come from the catalog only and are quoted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use pgshape_core::artifact::{self, AtomicFile};
use pgshape_core::catalog;
use pgshape_core::conn::Target;
use pgshape_core::pack::{
    ContributionBounds, EdgeMetrics, Manifest, Namespace, Pack, PackWindow, Privacy, Sampling,
    TableMetrics, MANIFEST_VERSION, PACK_VERSION,
};
use pgshape_core::token::{Salt, TOKEN_HEX_LEN};
use pgshape_core::{Error, Result};

use crate::dp::budget::Split;
use crate::dp::noise::Noiser;
use crate::metrics::Scan;
use crate::policy::Policy;
use crate::roles::Role;
use crate::sample::Sample;
use crate::session::{self, Limits};
use crate::unit::UnitSql;

/// Days a pack stays valid.
pub const RETENTION_DAYS: i64 = 90;

/// What to extract.
#[derive(Debug, Clone)]
pub struct Options {
    pub output: PathBuf,
    pub window_days: u32,
    /// The window's end and the pack's creation time; the server's clock when `None`.
    pub now: Option<DateTime<Utc>>,
    pub schemas: Vec<String>,
    pub k_min: u64,
    pub limits: Limits,
    /// Full scans or a `TABLESAMPLE`.
    pub sample: Sample,
    /// Role, window column and label overrides (empty: detection only).
    pub policy: Policy,
    /// Differential privacy (`None`: `--no-dp`, k-suppression only).
    pub dp: Option<DpOptions>,
    /// Whether and under which timeout an exact extraction reads ahead ([`crate::reads`]).
    pub read_ahead: crate::reads::ReadAhead,
}

/// The ε of a pack and the contribution bounds its figures are clipped at.
#[derive(Debug, Clone)]
pub struct DpOptions {
    pub epsilon: f64,
    /// δ of the label selection (see [`crate::dp::threshold`]).
    pub delta: f64,
    pub bounds: ContributionBounds,
}

/// The two files written.
#[derive(Debug)]
pub struct Written {
    pub pack: PathBuf,
    pub manifest: PathBuf,
    pub pack_sha256: String,
}

/// The manifest's path for a pack path: `x.json` → `x_mapping.json`.
pub fn manifest_path(pack: &Path) -> PathBuf {
    let stem = pack
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("shape-metrics");
    pack.with_file_name(format!("{stem}_mapping.json"))
}

/// What an extraction reports as it goes (a progress bar on a terminal).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The tables to measure, in order.
    Tables(Vec<String>),
    /// An exact extraction reading `figures` statements ahead in one pass, before any table
    /// is measured ([`crate::reads`]).
    ReadingAhead { figures: usize },
    /// Table `table` measured: its exported row count (noisy under DP) in `elapsed`.
    Measured {
        table: String,
        rows: u64,
        elapsed: std::time::Duration,
    },
}

/// Runs the extraction and writes the pack and its manifest.
pub fn extract(target: &Target, salt: &Salt, opts: &Options) -> Result<Written> {
    extract_observed(target, salt, opts, &|_| {})
}

/// [`extract`], telling `observe` of each [`Step`].
pub fn extract_observed(
    target: &Target,
    salt: &Salt,
    opts: &Options,
    observe: &dyn Fn(Step),
) -> Result<Written> {
    let mut client = session::connect(target, &opts.limits)?;
    let mut tx = session::snapshot(&mut client)?;
    if session::role_can_write(&mut tx, &opts.schemas)? {
        tracing::warn!("the role {} can write to these tables; the sampler never writes, but a production extraction role should be read-only", target.describe());
    }
    let now = window_end(&mut tx, opts)?;
    let start = now - Duration::days(opts.window_days as i64);
    let schema = read_schema(&mut tx, salt, opts)?;
    if opts.sample.is_sampled() {
        tracing::info!(sample = %opts.sample, "sampling rows");
    }
    let roles = classify(&mut tx, &schema, &opts.policy)?;
    let units = crate::unit::units(&schema, &roles, &opts.policy)?;
    let noise = noiser(opts, &schema, &roles)?;
    let scan = Scan {
        k: opts.k_min,
        sample: opts.sample,
        start,
        end: now,
        salt,
        policy: &opts.policy,
        rests_on: std::cell::Cell::new(None),
        noise: &noise,
        clip: std::cell::Cell::new(None),
        chosen: Default::default(),
        bases: None,
    };
    choose_clips(&mut tx, &schema, &units, &scan)?;
    // An exact extraction reads every figure ahead in one statement (each table scanned
    // once) unless told not to; under DP or sampling each runs on its own ([`crate::reads`]).
    let fused = !noise.is_on() && !opts.sample.is_sampled() && !opts.read_ahead.off;
    let bases = fused.then(|| bases(&schema, &roles, &units, &opts.policy));
    let scan = Scan {
        bases: bases.as_ref().map(|b| {
            b.iter()
                .map(|(t, name, _)| (t.clone(), name.clone()))
                .collect()
        }),
        ..scan
    };
    let mut reads = match bases {
        Some(b) => crate::reads::Reads::fused(
            &mut tx,
            b.into_iter().map(|(_, name, def)| (name, def)).collect(),
        ),
        None => crate::reads::Reads::direct(&mut tx),
    };
    observe(Step::Tables(
        schema.tables.iter().map(|t| t.qualified()).collect(),
    ));
    if scan.bases.is_some() {
        let statements = statements(&schema, &roles, &units, &scan);
        observe(Step::ReadingAhead {
            figures: statements.len(),
        });
        let started = std::time::Instant::now();
        if reads.prefetch(&statements, &opts.read_ahead)? {
            tracing::debug!(statements = statements.len(), elapsed = ?started.elapsed(), "figures read ahead");
        }
    }
    let mut tables = BTreeMap::new();
    let mut edges = Vec::new();
    let mut namespaces = Vec::new();
    for t in &schema.tables {
        let started = std::time::Instant::now();
        let (metrics, e, ns) = measure_table(&mut reads, t, &schema, &roles, &units, &scan)?;
        observe(Step::Measured {
            table: t.qualified(),
            rows: metrics.total_rows,
            elapsed: started.elapsed(),
        });
        tables.insert(t.qualified(), metrics);
        edges.extend(e);
        namespaces.extend(ns);
    }
    drop(reads);
    if noise.is_on() {
        tracing::info!(epsilon = noise.spent(), "figures noised");
        crate::consistent::counts(&mut tables, &mut edges);
    }
    tx.commit()
        .map_err(Error::db("ending the read-only transaction"))?;
    let created = opts.now.unwrap_or_else(Utc::now);
    let window = PackWindow {
        days: opts.window_days,
        start: rfc(start),
        end: rfc(now),
    };
    let pack = Pack {
        pack_version: PACK_VERSION,
        created_at: rfc(created),
        expires_at: rfc(created + Duration::days(RETENTION_DAYS)),
        tool_version: pgshape_core::TOOL_VERSION.into(),
        window,
        sampling: Sampling {
            method: opts.sample.method_name().into(),
            fraction: opts.sample.fraction(),
        },
        privacy: Privacy {
            k_min: opts.k_min,
            epsilon: noise.record().map(|r| r.epsilon),
            dp: noise.record(),
        },
        salt_fingerprint: salt.fingerprint(),
        schema,
        tables,
        edges,
    };
    write_pair(&pack, salt, &opts.output, created, namespaces)
}

/// A time as the pack writes it: RFC 3339 in UTC, to the second.
fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The window's end: `opts.now`, else the server's clock at the snapshot.
fn window_end(tx: &mut postgres::Transaction<'_>, opts: &Options) -> Result<DateTime<Utc>> {
    Ok(match opts.now {
        Some(now) => now,
        None => tx
            .query_one("SELECT transaction_timestamp()", &[])
            .map_err(Error::db("reading the server's clock"))?
            .get(0),
    })
}

/// The catalog of the schemas to extract, checked against the policy and with its enum
/// labels and comments vetted ([`crate::metadata`]); an error when it has no table.
fn read_schema(
    tx: &mut postgres::Transaction<'_>,
    salt: &Salt,
    opts: &Options,
) -> Result<pgshape_core::catalog::Schema> {
    let mut schema = catalog::read(tx, &opts.schemas)?;
    opts.policy.check(&schema)?;
    crate::metadata::check(tx, &mut schema, &opts.schemas, &opts.policy, salt)?;
    if schema.tables.is_empty() {
        return Err(Error::Invalid {
            path: opts.output.clone(),
            message: format!(
                "no tables in schema(s) {}: nothing to extract",
                opts.schemas.join(", ")
            ),
        });
    }
    Ok(schema)
}

/// The role of every column of every table: the policy's, then PII detection over a sample
/// of each table's values. Roles come before units: the privacy units follow the foreign
/// keys to the tables that hold PII.
fn classify(
    tx: &mut postgres::Transaction<'_>,
    schema: &pgshape_core::catalog::Schema,
    policy: &Policy,
) -> Result<BTreeMap<String, Vec<Role>>> {
    let mut roles: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    for t in &schema.tables {
        let mut r: Vec<Role> = policy.roles(t);
        for (column, detector) in crate::detect::reclassify(tx, t, &mut r, policy)? {
            tracing::info!(table = %t.qualified(), column = %column, detector = detector.name(), "classified pii from a sample of its values");
        }
        roles.insert(t.qualified(), r);
    }
    Ok(roles)
}

/// The noise of the pack: off with `--no-dp`, else the policy's split of ε over the
/// releases [`crate::plan`] counts.
fn noiser(
    opts: &Options,
    schema: &pgshape_core::catalog::Schema,
    roles: &BTreeMap<String, Vec<Role>>,
) -> Result<Noiser> {
    let Some(dp) = &opts.dp else {
        return Ok(Noiser::off());
    };
    let config = |e: crate::dp::DpError| Error::Config(format!("differential privacy: {e}"));
    let split = Split::with(&opts.policy.dp_split).map_err(config)?;
    let plan = crate::plan::plan(schema, roles, &opts.policy);
    let mut bounds = dp.bounds.clone();
    for t in &schema.tables {
        if let Some(n) = opts.policy.max_rows_per_unit(t) {
            bounds
                .table_max_rows_per_unit
                .insert(t.qualified(), n.max(1));
        }
    }
    Noiser::new(dp.epsilon, dp.delta, split, &plan, bounds).map_err(config)
}

/// The bound on rows per unit of a table's figures under DP: none (one row per unit) for rows
/// as units and the unit table itself, else the policy's bound for the table
/// (`override_rows`, at least 1) or the pack's.
fn bound_of(unit: &crate::unit::Unit, noise: &Noiser, override_rows: Option<u64>) -> Option<u64> {
    let bounds = noise.bounds()?;
    match unit {
        crate::unit::Unit::Table { path, .. } if !path.is_empty() => {
            Some(override_rows.unwrap_or(bounds.max_rows_per_unit).max(1))
        }
        _ => None,
    }
}

/// Rows per unit table `t`'s figures read under DP: its bound ([`bound_of`]), lowered to the
/// clip [`choose_clips`] chose from its rows per person.
fn clip_of(
    t: &pgshape_core::catalog::Table,
    unit: &crate::unit::Unit,
    scan: &Scan<'_>,
) -> Option<u64> {
    let bound = bound_of(unit, scan.noise, scan.policy.max_rows_per_unit(t))?;
    Some(
        scan.chosen
            .borrow()
            .get(&t.qualified())
            .map_or(bound, |c| c.figures_clip(bound)),
    )
}

/// Under DP, the rows per person of every table whose figures are clipped, and the clip each
/// gets ([`crate::volume`]), before any figure is read: an edge's fan-out is bounded by its
/// parent table's clip.
fn choose_clips(
    tx: &mut postgres::Transaction<'_>,
    schema: &pgshape_core::catalog::Schema,
    units: &BTreeMap<String, crate::unit::Unit>,
    scan: &Scan<'_>,
) -> Result<()> {
    for t in &schema.tables {
        let q = t.qualified();
        let unit = &units[&q];
        let Some(bound) = bound_of(unit, scan.noise, scan.policy.max_rows_per_unit(t)) else {
            continue;
        };
        let window = scan.policy.window_column(t);
        let chosen = crate::volume::choose(tx, t, &unit.sql(), window, bound, scan)?;
        tracing::debug!(table = %q, count_clip = chosen.count_clip(bound), "rows per person read");
        scan.chosen.borrow_mut().insert(q, chosen);
    }
    Ok(())
}

/// The metrics of table `t`, the edges of its foreign keys and the token namespaces used.
fn measure_table(
    reads: &mut crate::reads::Reads<'_, postgres::Transaction<'_>>,
    t: &pgshape_core::catalog::Table,
    schema: &pgshape_core::catalog::Schema,
    roles: &BTreeMap<String, Vec<Role>>,
    units: &BTreeMap<String, crate::unit::Unit>,
    scan: &Scan<'_>,
) -> Result<(TableMetrics, Vec<EdgeMetrics>, Vec<Namespace>)> {
    let q = t.qualified();
    let unit = &units[&q];
    scan.rests_on.set(None);
    scan.clip.set(clip_of(t, unit, scan));
    let window = scan.policy.window_column(t);
    let (mut metrics, namespaces) =
        crate::metrics::table(reads, t, &roles[&q], window, &unit.sql(), scan)?;
    metrics.privacy_unit = Some(unit.to_string());
    if metrics.count_method == "band" {
        tracing::info!(table = %q, unit = %unit, "rows of fewer than k people: schema and a row-count band only");
        return Ok((metrics, Vec::new(), namespaces));
    }
    let mut edges = Vec::new();
    for fk in &t.foreign_keys {
        let parent = format!("{}.{}", fk.ref_schema, fk.ref_table);
        let parent_unit = units.get(&parent);
        let parent_sql = parent_unit.map_or(UnitSql::rows(), |u| u.sql());
        let parent_sql = scan.unit_of(&fk.ref_schema, &fk.ref_table, &parent_sql);
        let parent_table = schema.tables.iter().find(|p| p.qualified() == parent);
        let parent_clip = parent_unit
            .zip(parent_table)
            .and_then(|(u, p)| clip_of(p, u, scan));
        let spread = crate::fanout::Spread::of(fk, unit, parent_unit, scan.sensitivity());
        let (mut edge, people) =
            crate::fanout::edge(reads, t, fk, &parent_sql, parent_clip, &spread, scan)?;
        scan.rests(people);
        // Timings where the child has a time column (and offsets where the parent does).
        if let Some((child_time, parent_time)) = crate::timing::columns(scan.policy, schema, t, fk)
        {
            let child_unit = scan.unit_of(&t.schema, &t.name, &unit.sql());
            let timings =
                crate::timing::timings(reads, t, child_time, fk, parent_time, &child_unit, scan)?;
            let exported = |n: pgshape_core::pack::Numbers| {
                // Fewer than k people in all: nothing to say.
                (!n.histogram.is_empty()).then_some(n)
            };
            scan.rests(timings.people);
            edge.child_column = Some(child_time.name.clone());
            edge.parent_column = parent_time.map(|c| c.name.clone());
            edge.offset_seconds = timings.offset_seconds.and_then(exported);
            edge.inter_arrival_seconds = exported(timings.inter_arrival_seconds);
        }
        edges.push(edge);
    }
    // Under DP which figures leave is itself noisy: an exact count of the fewest people
    // behind one would be a figure outside the budget.
    metrics.min_people = scan.rests_on.get().filter(|_| !scan.noise.is_on());
    tracing::info!(table = %q, rows = metrics.total_rows, unit = %unit, "measured");
    Ok((metrics, edges, namespaces))
}

/// Per table (qualified name) its base for reading ahead ([`crate::reads`]): name and
/// `SELECT`. A base holds the columns the figures and the joins read (all but `skip` ones
/// outside keys), `tableoid` and `ctid` (a row's identity, for rows that are their own
/// units) and the row's unit; the unit's joins read the bases of the tables on its path, so
/// no table is scanned twice. Bases come after those their joins read.
fn bases(
    schema: &pgshape_core::catalog::Schema,
    roles: &BTreeMap<String, Vec<Role>>,
    units: &BTreeMap<String, crate::unit::Unit>,
    policy: &Policy,
) -> Vec<(String, String, String)> {
    use pgshape_core::ident::{qualified, quote};
    let names: BTreeMap<String, String> = schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.qualified(), format!("pgshape_base{i}")))
        .collect();
    let relation = |s: &str, n: &str| {
        names
            .get(&format!("{s}.{n}"))
            .cloned()
            .unwrap_or_else(|| qualified(s, n))
    };
    let mut out: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for t in &schema.tables {
        let q = t.qualified();
        let referenced = |c: &str| {
            schema.tables.iter().any(|o| {
                o.foreign_keys.iter().any(|fk| {
                    fk.ref_schema == t.schema
                        && fk.ref_table == t.name
                        && fk.ref_columns.iter().any(|r| r == c)
                })
            })
        };
        let keyed = |c: &str| {
            t.primary_key.iter().flatten().any(|k| k == c)
                || t.unique_keys.iter().flatten().any(|k| k == c)
                || t.foreign_keys
                    .iter()
                    .any(|fk| fk.columns.iter().any(|k| k == c))
                || policy.window_column(t) == Some(c)
                || referenced(c)
        };
        let mut select = vec!["t.tableoid".to_string(), "t.ctid".to_string()];
        for (c, r) in t.columns.iter().zip(&roles[&q]) {
            if *r != Role::Skip || keyed(&c.name) {
                select.push(format!("t.{}", quote(&c.name)));
            }
        }
        let unit = units[&q].sql_over(&relation);
        if let Some(u) = &unit.expr {
            select.push(format!("{u} AS {}", crate::metrics::BASE_UNIT));
        }
        let def = format!(
            "SELECT {} FROM {} t {}",
            select.join(", "),
            qualified(&t.schema, &t.name),
            unit.joins
        );
        let reads: Vec<String> = names
            .iter()
            .filter(|(other, name)| **other != q && unit.joins.contains(&format!("{name} ")))
            .map(|(_, name)| name.clone())
            .collect();
        out.push((q.clone(), names[&q].clone(), def, reads));
    }
    // After the bases each one reads (a path has no cycle).
    let mut ordered: Vec<(String, String, String)> = Vec::new();
    while !out.is_empty() {
        let ready = out
            .iter()
            .position(|(_, _, _, reads)| {
                reads.iter().all(|r| ordered.iter().any(|(_, n, _)| n == r))
            })
            .unwrap_or(0);
        let (q, name, def, _) = out.remove(ready);
        ordered.push((q, name, def));
    }
    ordered
}

/// Every statement of an exact extraction's figures ([`crate::metrics::statements`], and
/// per foreign key its fan-out and timings), over the bases of `scan`.
fn statements(
    schema: &pgshape_core::catalog::Schema,
    roles: &BTreeMap<String, Vec<Role>>,
    units: &BTreeMap<String, crate::unit::Unit>,
    scan: &Scan<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in &schema.tables {
        let q = t.qualified();
        let unit = units[&q].sql();
        let window = scan.policy.window_column(t);
        out.extend(crate::metrics::statements(
            t, &roles[&q], window, &unit, scan,
        ));
        for fk in &t.foreign_keys {
            let parent = format!("{}.{}", fk.ref_schema, fk.ref_table);
            let parent_sql = units.get(&parent).map_or(UnitSql::rows(), |u| u.sql());
            let parent_sql = scan.unit_of(&fk.ref_schema, &fk.ref_table, &parent_sql);
            out.push(crate::fanout::edge_sql(t, fk, &parent_sql, scan));
            if let Some((child_time, parent_time)) =
                crate::timing::columns(scan.policy, schema, t, fk)
            {
                let child_unit = scan.unit_of(&t.schema, &t.name, &unit);
                out.push(crate::timing::timings_sql(
                    t,
                    child_time,
                    fk,
                    parent_time,
                    &child_unit,
                    scan,
                ));
            }
        }
    }
    out
}

/// Writes the pack, then its manifest (which records the pack's sha256); both appear or
/// neither does.
fn write_pair(
    pack: &Pack,
    salt: &Salt,
    output: &Path,
    created: DateTime<Utc>,
    namespaces: Vec<pgshape_core::pack::Namespace>,
) -> Result<Written> {
    let mut bytes = serde_json::to_vec_pretty(pack).map_err(|e| Error::Invalid {
        path: output.into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    let pack_sha256 = artifact::sha256_hex(&bytes);
    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        created_at: rfc(created),
        pack_file: output
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        pack_sha256: pack_sha256.clone(),
        algorithm: "HMAC-SHA256".into(),
        key_derivation: "HKDF-SHA256(salt, info = namespace)".into(),
        truncation_hex: TOKEN_HEX_LEN as u32,
        salt_fingerprint: salt.fingerprint(),
        namespaces,
    };
    let manifest_path = manifest_path(output);
    let mut pack_file = AtomicFile::create(output)?;
    std::io::Write::write_all(&mut pack_file, &bytes).map_err(|source| Error::Io {
        path: output.into(),
        source,
    })?;
    let mut manifest_file = AtomicFile::create(&manifest_path)?;
    let mut mbytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Invalid {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    mbytes.push(b'\n');
    std::io::Write::write_all(&mut manifest_file, &mbytes).map_err(|source| Error::Io {
        path: manifest_path.clone(),
        source,
    })?;
    pack_file.commit()?;
    if let Err(e) = manifest_file.commit() {
        let _ = std::fs::remove_file(output);
        return Err(e);
    }
    Ok(Written {
        pack: output.to_path_buf(),
        manifest: manifest_path,
        pack_sha256,
    })
}
