//! The planner's view (issue 15): does PostgreSQL plan the synthetic copy as it plans
//! production?
//!
//! Production is the chat fixture (VACUUM ANALYZE); the copy is `init` from its pack alone, a
//! band whose largest table has production's row count, loaded into schema `synthetic` of a
//! second database (VACUUM ANALYZE too, so the visibility map is no difference of the test's
//! own making). The query set is built from the catalog (`pgshape_e2e::plans`): per table a
//! point lookup by primary key, per foreign key a join filtered on the parent and a top 10 per
//! parent, per timestamp column a range over the latest 1 % of its span, per low-cardinality
//! string or enum column an aggregate by it. Each runs under `EXPLAIN (ANALYZE, FORMAT JSON)`
//! in both databases, constants picked by the same rule from each one's own rows.
//!
//! The goal: the same plan shape (node types, join order) for at least 90 % of the
//! queries and a p90 q-error (estimated vs actual rows, every executed node not under a
//! `Limit`) of at most 2 in the synthetic copy. The copy as the pipeline makes it is asserted;
//! the same copy with production's secondary indexes added (as an application's migrations
//! would) is printed beside it, to tell missing indexes from statistics.

use std::time::Instant;

use pgshape_e2e::plans::{
    build_queries, explain, q, quantile, read_catalog, secondary_indexes, Catalog, Measured, Query,
};
use pgshape_e2e::{extract_pack, generate_and_load, run_ok, TestDb};

const SALT: &str = "903708f8087cca4eb03c3e1838f2e87422a6e5ead4ef10e799aa4f83ec1fccea";
/// A string column with at most this many distinct values in production is aggregated by.
const LOW_CARDINALITY: i64 = 50;
const SAME_SHAPE_GOAL: f64 = 0.9;
const Q_ERROR_P90_GOAL: f64 = 2.0;

fn session(db: &TestDb) -> postgres::Client {
    let mut c = db.client();
    // Parallel plans depend on the machine's load and core count, not on the data.
    c.batch_execute("SET max_parallel_workers_per_gather = 0; SET jit = off")
        .unwrap();
    c
}

/// The catalog without constraint names (they may differ between the two copies).
fn structure(c: &Catalog) -> Catalog {
    let mut c = c.clone();
    for fk in &mut c.fks {
        fk.name.clear();
    }
    c
}

fn measure(queries: &[Query], client: &mut postgres::Client, schema: &str) -> Vec<Measured> {
    queries
        .iter()
        .map(|qy| {
            let sql = qy.render(client, schema);
            explain(client, &sql)
        })
        .collect()
}

struct Summary {
    same: usize,
    p90_prod: f64,
    p90_synth: f64,
    top_p90_prod: f64,
    top_p90_synth: f64,
}

fn report(title: &str, queries: &[Query], prod: &[Measured], synth: &[Measured]) -> Summary {
    eprintln!("\n=== {title} ===");
    let mut same = 0;
    for (i, ((qy, p), s)) in queries.iter().zip(prod).zip(synth).enumerate() {
        let eq = p.shape == s.shape;
        same += usize::from(eq);
        eprintln!(
            "\n[{i:2}] {} — {}\n  production: {}\n  synthetic:  {}\n  shape production: {}\n  shape synthetic:  {}\n  top q-error production {:.2} synthetic {:.2}; rows production {} synthetic {}",
            qy.label,
            if eq { "SAME shape" } else { "DIFFERENT shape" },
            p.sql,
            s.sql,
            p.shape,
            s.shape,
            p.top_q_error,
            s.top_q_error,
            p.top_actual_rows,
            s.top_actual_rows
        );
    }
    let all = |m: &[Measured]| {
        m.iter()
            .flat_map(|x| x.q_errors.clone())
            .collect::<Vec<_>>()
    };
    let top = |m: &[Measured]| m.iter().map(|x| x.top_q_error).collect::<Vec<_>>();
    let s = Summary {
        same,
        p90_prod: quantile(&all(prod), 0.9),
        p90_synth: quantile(&all(synth), 0.9),
        top_p90_prod: quantile(&top(prod), 0.9),
        top_p90_synth: quantile(&top(synth), 0.9),
    };
    eprintln!(
        "\n{title}: same shape {} of {} ({:.0} %); q-error p90 over all nodes: production {:.2}, synthetic {:.2}; over top nodes: production {:.2}, synthetic {:.2}",
        s.same,
        queries.len(),
        100.0 * s.same as f64 / queries.len() as f64,
        s.p90_prod,
        s.p90_synth,
        s.top_p90_prod,
        s.top_p90_synth
    );
    s
}

#[test]
#[ignore = "issue 15: plan shape at 70 % (goal 90 %)"]
fn the_planner_plans_the_synthetic_copy_as_production() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("plans_prod");
    production.load_fixture("0.02");
    let mut prod = session(&production);
    prod.batch_execute("VACUUM ANALYZE").unwrap();
    let catalog = read_catalog(&mut prod, "public");
    assert!(!catalog.tables.is_empty() && !catalog.fks.is_empty());

    // A band whose largest table has production's row count.
    let largest: i64 = catalog
        .tables
        .iter()
        .map(|t| {
            prod.query_one(&format!("SELECT count(*) FROM public.{}", q(&t.name)), &[])
                .unwrap()
                .get::<_, i64>(0)
        })
        .max()
        .unwrap();
    let pack = extract_pack(&production, work.path(), SALT);
    let spec = work.path().join("derived.json");
    let band = format!("plans={largest}");
    run_ok(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            spec.to_str().unwrap(),
            "--band",
            &band,
        ],
        &[],
    );
    let target = TestDb::new("plans_target");
    generate_and_load(&spec, "plans", "plans", work.path(), &target);
    let mut synth = session(&target);
    synth.batch_execute("VACUUM ANALYZE").unwrap();
    assert_eq!(
        structure(&read_catalog(&mut synth, "synthetic")),
        structure(&catalog),
        "the copy has production's tables, columns and keys"
    );

    let queries = build_queries(&catalog, &mut prod, "public", LOW_CARDINALITY);
    eprintln!(
        "{} queries over {} tables, {} foreign keys; largest table {largest} rows",
        queries.len(),
        catalog.tables.len(),
        catalog.fks.len()
    );
    let p = measure(&queries, &mut prod, "public");
    let s = measure(&queries, &mut synth, "synthetic");
    let as_loaded = report("the copy as loaded", &queries, &p, &s);

    // Diagnosis: the same copy with production's secondary indexes.
    for ddl in secondary_indexes(&mut prod, "public", "synthetic") {
        synth.batch_execute(&ddl).unwrap();
    }
    synth.batch_execute("ANALYZE").unwrap();
    let s_indexed = measure(&queries, &mut synth, "synthetic");
    report(
        "the copy with production's secondary indexes (diagnosis, not asserted)",
        &queries,
        &p,
        &s_indexed,
    );
    eprintln!("runtime {:.1} s", started.elapsed().as_secs_f64());

    let share = as_loaded.same as f64 / queries.len() as f64;
    assert!(
        share >= SAME_SHAPE_GOAL && as_loaded.p90_synth <= Q_ERROR_P90_GOAL,
        "same plan shape for {:.0} % of the queries (goal {:.0} %), q-error p90 in the synthetic copy {:.2} (goal ≤ {Q_ERROR_P90_GOAL})",
        100.0 * share,
        100.0 * SAME_SHAPE_GOAL,
        as_loaded.p90_synth
    );
}
