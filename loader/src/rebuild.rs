//! Rebuilding what a run set aside, in the recipe's order: primary and unique keys, then
//! secondary indexes, then foreign keys; then the sequences the loaded columns own.
//!
//! Keys and indexes are built over the `--jobs` connections as one pool (keys first, the big
//! tables' builds first and spread over the connections: `build_order`), each connection
//! with `maintenance_work_mem` and `max_parallel_maintenance_workers` sized to the machine
//! ([`Tuning`]). Foreign keys are
//! added `NOT VALID` one at a time on one connection (a catalog change, no scan: two of them
//! may lock the same two tables in opposite orders), then validated over the `--jobs`
//! connections: `ALTER TABLE ... VALIDATE CONSTRAINT` takes SHARE UPDATE EXCLUSIVE on the
//! child and ROW SHARE on the parent, which do not conflict with each other, so validations of
//! different tables run side by side and none can deadlock (two on the same child wait in
//! turn). A foreign key the schema itself declared `NOT VALID` stays so. Every step is
//! idempotent, so a resumed run can redo it.

use pgshape_core::conn::Target;
use pgshape_core::ident::{qualified, quote};
use pgshape_core::run_record::{SavedConstraint, SavedIndex, SetAside};
use pgshape_core::{Error, Result};
use postgres::{Client, GenericClient};

use crate::{parallel, session};

/// Settings of the connections that build indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// `maintenance_work_mem`, in MiB.
    pub maintenance_work_mem_mb: u64,
    /// `max_parallel_maintenance_workers`.
    pub parallel_workers: u64,
}

impl Tuning {
    /// Sized to the machine the loader runs on, for `jobs` concurrent builds: a sixteenth of
    /// its memory per connection (64 MiB to 1 GiB, never below the server's own setting), and
    /// the cores not taken by the connections as parallel workers (at most the server's
    /// `max_parallel_workers` shared among them).
    pub fn for_machine(
        jobs: usize,
        cores: usize,
        memory_mb: Option<u64>,
        server_mwm_mb: u64,
        server_max_parallel: u64,
    ) -> Tuning {
        let jobs = jobs.max(1) as u64;
        let mwm = memory_mb.map_or(server_mwm_mb, |m| (m / 16 / jobs).clamp(64, 1024));
        Tuning {
            maintenance_work_mem_mb: mwm.max(server_mwm_mb),
            parallel_workers: ((cores as u64) / jobs)
                .saturating_sub(1)
                .min(server_max_parallel / jobs),
        }
    }

    /// Reads the machine and the server's settings.
    pub fn detect(client: &mut Client, jobs: usize) -> Result<Tuning> {
        let r = client
            .query_one(
                "SELECT (SELECT setting::bigint / 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'),
                        current_setting('max_parallel_workers')::bigint",
                &[],
            )
            .map_err(Error::db("reading maintenance settings"))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let t = Tuning::for_machine(
            jobs,
            cores,
            memory_mb(),
            r.get::<_, i64>(0) as u64,
            r.get::<_, i64>(1) as u64,
        );
        tracing::debug!(?t, cores, "index build settings");
        Ok(t)
    }

    fn apply(&self, client: &mut Client) -> Result<()> {
        client
            .batch_execute(&format!(
                "SET maintenance_work_mem = '{}MB'; SET max_parallel_maintenance_workers = {}",
                self.maintenance_work_mem_mb, self.parallel_workers
            ))
            .map_err(Error::db("setting maintenance_work_mem"))
    }
}

/// `MemTotal` of `/proc/meminfo`, in MiB (`None` where there is none).
fn memory_mb() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Rebuilds what was set aside over `jobs` connections (see the module's text).
pub fn restore(client: &mut Client, target: &Target, jobs: usize, aside: &SetAside) -> Result<()> {
    let tuning = Tuning::detect(client, jobs)?;
    let tuned = || -> Result<Client> {
        let mut c = session::connect(target)?;
        tuning.apply(&mut c)?;
        Ok(c)
    };
    let s = aside.schema.as_str();
    let (fks, keys): (Vec<&SavedConstraint>, Vec<&SavedConstraint>) =
        aside.constraints.iter().partition(|c| c.is_foreign_key());
    let sizes = table_sizes(client, s)?;
    let builds = build_order(&keys, &aside.indexes, &sizes);
    tracing::debug!(?builds, "key and index builds, in order");
    parallel::each(target, jobs, &builds, &tuned, |c, b| match b {
        Build::Key(k) => add_constraint(c, s, k, false),
        Build::Index(i) => restore_index(c, i),
    })?;
    for fk in &fks {
        pgshape_core::interrupt::check()?;
        add_constraint(client, s, fk, true)?;
    }
    let to_validate: Vec<&&SavedConstraint> =
        fks.iter().filter(|c| !declared_not_valid(c)).collect();
    parallel::on_target(target, jobs, &to_validate, |c, fk| {
        c.batch_execute(&format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            qualified(s, &fk.table),
            quote(&fk.name)
        ))
        .map_err(Error::db(format!(
            "validating foreign key {} of {}",
            fk.name, fk.table
        )))
    })?;
    Ok(())
}

/// One build of the keys-and-indexes step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build<'a> {
    Key(&'a SavedConstraint),
    Index(&'a SavedIndex),
}

/// A table of the schema: its name and `schema.table` as PostgreSQL writes it in an index
/// definition ([`table_sizes`] lists them by size).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TableSize {
    name: String,
    written: String,
}

/// The order keys and indexes are taken in by the connections, all in one pool (no
/// connection waits for the slowest key before indexes start): primary and unique keys first,
/// those of the largest tables first; then secondary indexes, the tables taken in turn from
/// the largest (a table's first index, the next table's first, ..., then the second ones) and
/// a table's partial indexes after its full ones, so that the long builds of the big tables
/// start early and on different connections. An index of a table whose key is still being
/// built waits for it (ACCESS EXCLUSIVE against SHARE, one table each: no deadlock).
/// `sizes` comes largest first.
fn build_order<'a>(
    keys: &[&'a SavedConstraint],
    indexes: &'a [SavedIndex],
    sizes: &[TableSize],
) -> Vec<Build<'a>> {
    let unknown = sizes.len();
    let mut order: Vec<Build<'a>> = Vec::with_capacity(keys.len() + indexes.len());
    let mut k: Vec<&'a SavedConstraint> = keys.to_vec();
    k.sort_by_key(|c| {
        sizes
            .iter()
            .position(|t| t.name == c.table)
            .unwrap_or(unknown)
    });
    order.extend(k.into_iter().map(Build::Key));
    let mut by_table: Vec<Vec<&'a SavedIndex>> = vec![Vec::new(); unknown + 1];
    for i in indexes {
        by_table[index_table(i, sizes).unwrap_or(unknown)].push(i);
    }
    for list in &mut by_table {
        list.sort_by_key(|i| i.definition.contains(" WHERE "));
    }
    let rounds = by_table.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..rounds {
        order.extend(
            by_table
                .iter()
                .filter_map(|l| l.get(round))
                .map(|i| Build::Index(i)),
        );
    }
    order
}

/// The position in `sizes` of the table a saved index is on, read from its
/// `pg_get_indexdef` text (`CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING ...`).
fn index_table(i: &SavedIndex, sizes: &[TableSize]) -> Option<usize> {
    let on = i.definition.split(" USING ").next()?;
    sizes.iter().position(|t| {
        on.ends_with(&format!(" ON {}", t.written))
            || on.ends_with(&format!(" ON ONLY {}", t.written))
    })
}

/// The tables of `schema`, the largest first (a partitioned table by its partitions' sum).
fn table_sizes(client: &mut Client, schema: &str) -> Result<Vec<TableSize>> {
    Ok(client
        .query(
            "SELECT c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                    CASE WHEN c.relkind = 'p'
                         THEN coalesce((SELECT sum(pg_relation_size(i.inhrelid))::bigint
                                          FROM pg_inherits i WHERE i.inhparent = c.oid), 0)
                         ELSE pg_relation_size(c.oid) END AS size
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
              ORDER BY size DESC, 1",
            &[&schema],
        )
        .map_err(Error::db("reading table sizes"))?
        .iter()
        .map(|r| TableSize {
            name: r.get(0),
            written: r.get(1),
        })
        .collect())
}

/// A foreign key the schema declared `NOT VALID` (before the load) stays unvalidated.
fn declared_not_valid(c: &SavedConstraint) -> bool {
    c.definition.trim_end().ends_with("NOT VALID")
}

/// Re-creates one set-aside index unless it exists.
fn restore_index(client: &mut Client, i: &SavedIndex) -> Result<()> {
    let def = i
        .definition
        .replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
        .replacen(
            "CREATE UNIQUE INDEX ",
            "CREATE UNIQUE INDEX IF NOT EXISTS ",
            1,
        );
    client
        .batch_execute(&def)
        .map_err(Error::db(format!("rebuilding index {}", i.name)))
}

/// Re-adds one set-aside constraint unless it exists; a foreign key with `not_valid` is added
/// without its scan (validated afterwards).
fn add_constraint(
    client: &mut Client,
    schema: &str,
    c: &SavedConstraint,
    not_valid: bool,
) -> Result<()> {
    let r = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
                             JOIN pg_namespace n ON n.oid = r.relnamespace
                            WHERE n.nspname = $1 AND r.relname = $2 AND c.conname = $3),
                    coalesce((SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass($4)), false)",
            &[&schema, &c.table, &c.name, &qualified(schema, &c.table)],
        )
        .map_err(Error::db("looking up a constraint"))?;
    if r.get(0) {
        return Ok(());
    }
    // PostgreSQL before 18 cannot add a NOT VALID foreign key to a partitioned table: there
    // it is validated as it is added.
    let partitioned: bool = r.get(1);
    let suffix = if not_valid && !partitioned && !declared_not_valid(c) {
        " NOT VALID"
    } else {
        ""
    };
    client
        .batch_execute(&format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}{suffix}",
            qualified(schema, &c.table),
            quote(&c.name),
            c.definition
        ))
        .map_err(Error::db(format!(
            "restoring constraint {} on {}",
            c.name, c.table
        )))
}

/// Moves every sequence a loaded column owns (identity and serial columns, whose values COPY
/// wrote explicitly, `GENERATED ALWAYS` included) past the column's largest value, so the
/// next `INSERT` does not collide. Idempotent.
pub fn advance_sequences(
    client: &mut impl GenericClient,
    schema: &str,
    names: &[String],
) -> Result<()> {
    for t in names {
        let rel = qualified(schema, t);
        let owned = client
            .query(
                "SELECT a.attname::text, pg_get_serial_sequence($1, a.attname::text)
                   FROM pg_attribute a
                  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
                    AND pg_get_serial_sequence($1, a.attname::text) IS NOT NULL",
                &[&rel],
            )
            .map_err(Error::db(format!("sequences of {t}")))?;
        for r in owned {
            let (col, seq): (String, String) = (r.get(0), r.get(1));
            client
                .execute(
                    &format!(
                        "SELECT setval($1::text::regclass, m) FROM (SELECT max({}) AS m FROM {rel}) x WHERE m IS NOT NULL",
                        quote(&col)
                    ),
                    &[&seq],
                )
                .map_err(Error::db(format!("advancing the sequence of {t}.{col}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{build_order, Build, TableSize, Tuning};
    use pgshape_core::run_record::{SavedConstraint, SavedIndex};

    #[test]
    fn index_builds_are_sized_to_the_machine_and_never_below_the_server() {
        // 2 cores, 23 GiB, 2 jobs: 736 MiB each, no parallel worker (both cores build).
        let t = Tuning::for_machine(2, 2, Some(23 * 1024), 64, 8);
        assert_eq!((t.maintenance_work_mem_mb, t.parallel_workers), (736, 0));
        // 16 cores, 2 jobs: 7 workers each, capped by the server's 8 shared.
        let t = Tuning::for_machine(2, 16, Some(256 * 1024), 64, 8);
        assert_eq!((t.maintenance_work_mem_mb, t.parallel_workers), (1024, 4));
        // A small machine keeps the server's larger setting.
        let t = Tuning::for_machine(1, 1, Some(1024), 128, 8);
        assert_eq!((t.maintenance_work_mem_mb, t.parallel_workers), (128, 0));
    }

    fn key(table: &str, name: &str) -> SavedConstraint {
        SavedConstraint {
            kind: "p".into(),
            table: table.into(),
            name: name.into(),
            definition: "PRIMARY KEY (id)".into(),
        }
    }

    fn index(name: &str, table: &str, rest: &str) -> SavedIndex {
        SavedIndex {
            name: name.into(),
            definition: format!("CREATE INDEX {name} ON s.{table} USING btree {rest}"),
        }
    }

    #[test]
    fn big_tables_build_first_and_their_indexes_spread_over_the_connections() {
        let sizes: Vec<TableSize> = ["messages", "reads", "users"]
            .into_iter()
            .map(|n| TableSize {
                name: n.into(),
                written: format!("s.{n}"),
            })
            .collect();
        let (ku, km, kr) = (key("users", "u"), key("messages", "m"), key("reads", "r"));
        let indexes = vec![
            index(
                "m_reply",
                "messages",
                "(reply_to) WHERE (reply_to IS NOT NULL)",
            ),
            index("m_conv", "messages", "(conv)"),
            index("u_seen", "users", "(seen)"),
            index("m_sender", "messages", "(sender)"),
            index("r_user", "reads", "(user_id)"),
            index("elsewhere", "other", "(x)"),
        ];
        let order: Vec<&str> = build_order(&[&ku, &km, &kr], &indexes, &sizes)
            .into_iter()
            .map(|b| match b {
                Build::Key(k) => k.name.as_str(),
                Build::Index(i) => i.name.as_str(),
            })
            .collect();
        assert_eq!(
            order,
            [
                "m",
                "r",
                "u",
                "m_conv",
                "r_user",
                "u_seen",
                "elsewhere",
                "m_sender",
                "m_reply"
            ]
        );
    }
}
