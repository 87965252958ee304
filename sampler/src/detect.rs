//! PII detection from values: a column whose name says nothing (`note`, `contact`, `status`)
//! but whose values are emails, phone numbers, SSNs, card numbers, IPs, IBANs or names is
//! classified `pii`.
//!
//! A small sample of non-null values (at most [`SAMPLE_VALUES`], through `TABLESAMPLE SYSTEM`
//! on large tables) is read into memory, run through the detectors of [`pgshape_core::pii`] and
//! dropped. Values are never logged, printed, stored or put in an error: only the column's
//! name and the detector's name are.

use pgshape_core::catalog::{Table, TypeKind};
use pgshape_core::ident::{qualified, quote};
use pgshape_core::pii::{self, Detector};
use pgshape_core::{Error, Result};
use postgres::GenericClient;

use crate::policy::Policy;
use crate::roles::Role;

/// Values sampled per column.
pub const SAMPLE_VALUES: i64 = 200;

/// Rows a value sample aims to read on a large table (`TABLESAMPLE SYSTEM` above this).
const SAMPLE_ROWS: f64 = 5_000.0;

/// Reclassifies as [`Role::Pii`] the text-like columns of `t` whose sampled values look like
/// PII, unless the policy set their role. Returns `(column, detector)` of each change.
pub fn reclassify(
    client: &mut impl GenericClient,
    t: &Table,
    roles: &mut [Role],
    policy: &Policy,
) -> Result<Vec<(String, Detector)>> {
    let rel = qualified(&t.schema, &t.name);
    let estimate: f32 = client
        .query_one(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = $1::text::regclass",
            &[&rel],
        )
        .map_err(Error::db(format!("the size estimate of {}", t.qualified())))?
        .get(0);
    let from = if (estimate as f64) > SAMPLE_ROWS {
        let p = (100.0 * SAMPLE_ROWS / estimate as f64).clamp(0.01, 100.0);
        format!(
            "{rel} t TABLESAMPLE SYSTEM ({p:.4}) REPEATABLE ({})",
            crate::sample::SEED
        )
    } else {
        format!("{rel} t")
    };
    let candidates: Vec<usize> = (0..t.columns.len())
        .filter(|&i| {
            let c = &t.columns[i];
            matches!(roles[i], Role::Text | Role::Category | Role::Other)
                && c.type_kind != TypeKind::Enum
                && !matches!(c.effective_type(), "boolean" | "bytea")
                && policy.explicit_role(t, &c.name).is_none()
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // One scan for every candidate column: the rows are read once, as far as the column that
    // needs most of them reaches (a common table expression is filled as it is read), in the
    // order a scan of each column alone would have read them.
    let mut cols = Vec::new();
    let mut samples = Vec::new();
    for (j, &i) in candidates.iter().enumerate() {
        let col = quote(&t.columns[i].name);
        cols.push(format!(
            "t.{col}::text AS v{j}, t.{col} IS NOT NULL AS n{j}"
        ));
        samples.push(format!(
            "ARRAY(SELECT v{j} FROM s WHERE n{j} LIMIT {SAMPLE_VALUES})"
        ));
    }
    let sql = format!(
        "WITH s AS MATERIALIZED (SELECT {} FROM {from}) SELECT {}",
        cols.join(", "),
        samples.join(", ")
    );
    let row = client
        .query_one(&sql, &[])
        .map_err(Error::db(format!("a value sample of {}", t.qualified())))?;
    let mut changed = Vec::new();
    for (j, &i) in candidates.iter().enumerate() {
        let values: Vec<String> = row.get(j);
        if let Some(d) = looks_like_pii(&values) {
            roles[i] = Role::Pii;
            changed.push((t.columns[i].name.clone(), d));
        }
    }
    Ok(changed)
}

/// The detector that makes these values PII, if any: a strong detector (email, phone, SSN,
/// card, IP, IBAN) on at least 10 % of them (and 2), or whole values that are a person's name
/// (two capitalised words) for at least half of them (and 10). Free text that mentions PII
/// now and then stays text (its content never leaves anyway).
pub fn looks_like_pii(values: &[String]) -> Option<Detector> {
    let n = values.len();
    let mut hits: Vec<(Detector, usize)> = Vec::new();
    let mut names = 0;
    for v in values {
        let mut found = pii::scan(v);
        found.retain(|d| !matches!(d, Detector::LongString | Detector::PersonName));
        for d in found {
            match hits.iter_mut().find(|(x, _)| *x == d) {
                Some((_, count)) => *count += 1,
                None => hits.push((d, 1)),
            }
        }
        if pii::is_person_name(v.trim()) {
            names += 1;
        }
    }
    let strong = hits
        .into_iter()
        .filter(|&(_, count)| count >= 2 && count * 10 >= n)
        .max_by_key(|&(_, count)| count)
        .map(|(d, _)| d);
    strong.or_else(|| (names >= 10 && names * 2 >= n).then_some(Detector::PersonName))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_of_pii_and_text_that_mentions_it() {
        let emails: Vec<String> = (0..50).map(|i| format!("user{i}@example.org")).collect();
        assert_eq!(looks_like_pii(&emails), Some(Detector::Email));
        let mut mixed = v(&["see you at noon"; 45]);
        mixed.extend(v(&[
            "+1-415-555-0172",
            "(212) 555-0147",
            "+44 20 7946 0958",
            "call 415-555-0100 x",
        ]));
        assert_eq!(looks_like_pii(&mixed), None, "4 of 49 is under 10 %");
        mixed.extend(v(&["+1-415-555-0199"; 2]));
        assert_eq!(looks_like_pii(&mixed), Some(Detector::Phone));
        let names = v(&[
            "Quintessa Vandermolen",
            "Orrin Blackwood",
            "Ava Smith",
            "Liam Chen",
            "Maya Kim",
            "Noah Patel",
            "Zoe Rossi",
            "Ethan Walsh",
            "Isla Costa",
            "Lucas Singh",
            "lecture notes",
        ]);
        assert_eq!(looks_like_pii(&names), Some(Detector::PersonName));
        let titles = v(&[
            "Uestion Sheet How If The T",
            "Office Will Offic",
            "At Okay Great",
            "Ith Your Lectur",
        ]);
        assert_eq!(looks_like_pii(&titles), None);
        assert_eq!(looks_like_pii(&[]), None);
    }
}
