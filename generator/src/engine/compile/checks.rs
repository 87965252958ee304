//! Checks and fix-ups of a resolved model: key renderings carried along references, each
//! generator against its column's type, number ranges against integer types.

use pgshape_core::spec::{Spec, SqlType};

use crate::engine::key::KeyRender;
use crate::engine::model::{Gen, TableModel};

/// Gives every column that carries another column's key number that column's rendering:
/// a parent key its parent's column, a reference its target, an `earlier` its table's key, a
/// pick its source column (which may itself refer on), until nothing changes.
pub(super) fn resolve_renders(tables: &mut [TableModel], spec: &Spec) {
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

pub(super) fn check_type(
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
pub(super) fn check_range(gen: &Gen, t: SqlType) -> std::result::Result<(), String> {
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
