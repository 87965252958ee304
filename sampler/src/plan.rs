//! The releases an extraction will make, per figure family, counted from the catalog and the
//! roles before any figure is read: each family's share of ε is split equally over them (see
//! [`crate::dp::noise`]). One per table for counts, null fractions and distinct ratios; one
//! per column for lengths, numbers, categories and profiles; one per foreign key for
//! fan-outs; one per timing (gaps, offsets) of an edge. A figure the k rule later suppresses
//! leaves its share unspent.

use std::collections::BTreeMap;

use pgshape_core::catalog::Schema;

use crate::dp::budget::Family;
use crate::dp::noise::Plan;
use crate::policy::Policy;
use crate::roles::Role;

/// The plan of an extraction of `schema` with `roles` (per qualified table).
pub fn plan(schema: &Schema, roles: &BTreeMap<String, Vec<Role>>, policy: &Policy) -> Plan {
    let mut plan = Plan::new();
    let mut add = |f: Family, n: usize| *plan.entry(f).or_insert(0) += n;
    for t in &schema.tables {
        let r = &roles[&t.qualified()];
        add(Family::Counts, 1);
        if r.iter().any(|&r| r != Role::Skip) {
            add(Family::NullFractions, 1);
            add(Family::DistinctRatios, 1);
        }
        for (c, &r) in t.columns.iter().zip(r) {
            let r = if crate::roles::identifier_like(c, r) {
                Role::Other
            } else {
                r
            };
            let text_key = r == Role::Key && crate::metrics::is_text_type(c);
            match r {
                _ if text_key || matches!(r, Role::Text | Role::Pii) => add(Family::Lengths, 1),
                Role::Category => add(Family::Categories, 1),
                Role::Number => add(Family::Numbers, 1),
                Role::Timestamp => add(Family::Profiles, 1),
                _ => {}
            }
        }
        for fk in &t.foreign_keys {
            add(Family::Fanout, 1);
            if let Some((_, parent_time)) = crate::timing::columns(policy, schema, t, fk) {
                add(Family::Timings, 1 + usize::from(parent_time.is_some()));
            }
        }
    }
    plan
}
