//! Contribution bounding in SQL: at most `c` rows of one privacy unit reach a figure, chosen
//! at random by the server (`row_number() OVER (PARTITION BY unit ORDER BY random())`), so
//! that one unit changes any histogram of those rows by at most `c` (its L1 sensitivity).
//! Only under differential privacy; a table whose rows are their own units, or that is
//! itself the unit table, has one row per unit and is not wrapped.

use crate::unit::UnitSql;

/// The unit column of a clipped `FROM` item.
const UNIT: &str = "pgshape_unit";

/// A `FROM` item (alias `t`) of the rows of `from` (alias `t`, with the unit's joins) with at
/// most `clip` rows per unit of `unit`, and the unit's SQL over it (no joins needed). `None`
/// or rows as units: `from` and `unit` unchanged.
pub fn rows(from: &str, unit: &UnitSql, clip: Option<u64>) -> (String, UnitSql) {
    match (clip, &unit.expr) {
        (Some(c), Some(u)) => (
            format!(
                "(SELECT * FROM (SELECT t.*, {u} AS {UNIT}, \
                 row_number() OVER (PARTITION BY {u} ORDER BY random()) AS pgshape_rank \
                 FROM {from}) pgshape_clip WHERE pgshape_rank <= {c}) t"
            ),
            UnitSql {
                joins: String::new(),
                expr: Some(format!("t.{UNIT}")),
            },
        ),
        _ => (from.to_string(), unit.clone()),
    }
}

/// A relation's rows (columns `x`, `u`, … of relation `rel`) with at most `clip` rows per `u`,
/// as a subquery of the same columns plus `pgshape_rank`; `rel` itself without a clip.
pub fn relation(rel: &str, clip: Option<u64>) -> String {
    match clip {
        Some(c) => format!(
            "(SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY r.u ORDER BY random()) AS pgshape_rank \
             FROM {rel} r) rc WHERE pgshape_rank <= {c})"
        ),
        None => rel.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clipped_from_item_keeps_the_alias_and_moves_the_unit_inside() {
        let unit = UnitSql {
            joins: "LEFT JOIN s.p u0 ON t.p = u0.id".into(),
            expr: Some("u0.owner".into()),
        };
        let (from, u) = rows("s.c t LEFT JOIN s.p u0 ON t.p = u0.id", &unit, Some(8));
        assert!(from.ends_with(") t"), "{from}");
        assert!(
            from.contains("PARTITION BY u0.owner ORDER BY random()"),
            "{from}"
        );
        assert!(from.contains("pgshape_rank <= 8"), "{from}");
        assert_eq!(u.expr.as_deref(), Some("t.pgshape_unit"));
        assert!(u.joins.is_empty());
        let (same, u2) = rows("s.c t", &UnitSql::rows(), Some(8));
        assert_eq!((same.as_str(), u2), ("s.c t", UnitSql::rows()));
        assert_eq!(relation("f", None), "f");
        assert!(relation("f", Some(3)).contains("<= 3"));
    }
}
