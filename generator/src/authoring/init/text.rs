//! Text columns of a derived spec: categories (enum labels, allow-listed labels, or
//! synthetic labels for tokens by frequency rank), else text of the pack's lengths in a style
//! chosen by role (PII-shaped styles for PII), unique when the column is.

use indexmap::IndexMap;
use pgshape_core::catalog::{Column, TypeKind};
use pgshape_core::dist::Dist;
use pgshape_core::pack::{Categories, ColumnMetrics};
use pgshape_core::spec::{Category, ColumnSpec, Text, TextStyle};
use pgshape_core::Result;

use super::columns::TableCtx;
use super::options::unsupported;
use super::types::max_length;
use crate::authoring::shapes::length_of;

impl TableCtx<'_> {
    /// A text column's generator: categories when the column is an enum or the pack counted
    /// categories (and it is not unique), else text.
    pub(super) fn text(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        unique: bool,
        spec: &mut ColumnSpec,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let categories = cm.and_then(|m| m.categories.as_ref());
        if c.type_kind == TypeKind::Enum || (categories.is_some() && !unique) {
            if let Some(category) = self.category(c, categories)? {
                spec.category = Some(category);
                return Ok(());
            }
            // Every category suppressed: text of the column's lengths instead.
            notes.push(format!(
                "{}.{}: every category suppressed in the pack; text instead",
                self.name(),
                c.name
            ));
        }
        spec.text = Some(self.words(c, cm, unique, notes)?);
        Ok(())
    }

    /// Category weights: the pack's labels, synthetic labels for its tokens, or the enum's
    /// labels evenly; `None` when every category was suppressed (an error for an enum).
    fn category(&self, c: &Column, categories: Option<&Categories>) -> Result<Option<Category>> {
        let mut weights: IndexMap<String, f64> = IndexMap::new();
        if let Some(k) = categories {
            if k.labels {
                for (l, n) in &k.counts {
                    weights.insert(l.clone(), *n as f64);
                }
            } else {
                weights = self.token_labels(c, k)?;
            }
        }
        if weights.values().any(|w| *w > 0.0) {
            return Ok(Some(Category { weights }));
        }
        if let Some(labels) = self.enum_labels(c) {
            let weights = labels.iter().map(|l| (l.clone(), 1.0)).collect();
            return Ok(Some(Category { weights }));
        }
        if c.type_kind == TypeKind::Enum {
            return Err(unsupported(
                self.name(),
                &c.name,
                "an enum whose labels the pack lacks",
            ));
        }
        Ok(None)
    }

    /// Tokens: synthetic labels of the same count, by frequency rank (the suppressed ones
    /// sharing the suppressed rows).
    fn token_labels(&self, c: &Column, k: &Categories) -> Result<IndexMap<String, f64>> {
        let bound = max_length(c);
        let mut freq: Vec<u64> = k.counts.values().copied().collect();
        freq.sort_unstable_by(|a, b| b.cmp(a));
        let extra = k.suppressed_categories as usize;
        let share = k.suppressed_rows as f64 / extra.max(1) as f64;
        let n = freq.len() + extra;
        let width = n.to_string().len();
        // A bounded column gets bare numbers when prefixed ones would not fit.
        let prefix = if bound.is_some_and(|b| (width + 1) as f64 > b) {
            String::new()
        } else {
            label_prefix(c)
        };
        if bound.is_some_and(|b| width as f64 > b) {
            return Err(unsupported(
                self.name(),
                &c.name,
                format!(
                    "{n} categories do not fit labels of {} characters",
                    c.data_type
                ),
            ));
        }
        Ok(freq
            .iter()
            .map(|f| *f as f64)
            .chain(std::iter::repeat_n(share, extra))
            .enumerate()
            .map(|(i, f)| (format!("{prefix}{:0width$}", i + 1), f))
            .collect())
    }

    /// Text of the pack's lengths (capped by a `varchar(n)` bound) in a style by role,
    /// unique (with a row-number suffix) when the column or its PII figures say so.
    fn words(
        &self,
        c: &Column,
        cm: Option<&ColumnMetrics>,
        unique: bool,
        notes: &mut Vec<String>,
    ) -> Result<Text> {
        let tname = self.name();
        let bound = max_length(c);
        let role = cm.map_or("other", |m| m.role.as_str());
        let distinct = cm.and_then(|m| m.distinct_ratio).unwrap_or(0.0);
        let mut style = style_of(c, role, unique, distinct);
        let mut length = self.length_or(
            c,
            cm,
            length_of,
            Dist::Quantiles(vec![[0.0, 5.0], [1.0, 20.0]]),
            "5 to 20 characters",
            notes,
        );
        let unique = unique || (role == "pii" && distinct >= 0.99 && style != TextStyle::Name);
        // The unique suffix (`_` and the row number in base 36, at the largest band's rows
        // with room to spare) counts in the generated length; a bounded column must have room
        // for it and one character.
        let suffix = if unique && style != TextStyle::Email {
            let rows = (self.max_rows * 1.5).max(2.0);
            1.0 + (libm::log(rows) / libm::log(36.0)).ceil().max(1.0)
        } else {
            0.0
        };
        let top = |d: &Dist| d.quantile(1.0);
        if let Some(b) = bound {
            if b - suffix < 1.0 {
                return Err(unsupported(
                    tname,
                    &c.name,
                    format!(
                        "unique values need a suffix of {suffix} characters, more than {} allows",
                        c.data_type
                    ),
                ));
            }
            // `calibrate` refits sentence lengths uncapped: a bounded column whose lengths
            // reach its bound gets single words instead, capped.
            if style == TextStyle::Words && top(&length) > b {
                style = TextStyle::Word;
                notes.push(format!(
                    "{tname}.{}: lengths reach {}; single words, capped",
                    c.name, c.data_type
                ));
            }
        }
        if let Dist::Quantiles(points) = &mut length {
            for p in points.iter_mut() {
                if let Some(b) = bound {
                    p[1] = p[1].min(b);
                }
            }
        }
        Ok(Text {
            length,
            style,
            unique,
        })
    }

    fn enum_labels(&self, c: &Column) -> Option<&Vec<String>> {
        self.pack
            .schema
            .enums
            .iter()
            .find(|e| c.data_type == e.name || c.data_type == format!("{}.{}", e.schema, e.name))
            .map(|e| &e.labels)
    }
}

/// The text style by role: PII-shaped (an address for a `mail` column, a word when nearly
/// every value differs, else a name), a code for a unique column, else sentences.
fn style_of(c: &Column, role: &str, unique: bool, distinct: f64) -> TextStyle {
    let lower = c.name.to_ascii_lowercase();
    if role == "pii" {
        if lower.contains("mail") {
            TextStyle::Email
        } else if unique || distinct >= 0.99 {
            TextStyle::Word
        } else {
            TextStyle::Name
        }
    } else if unique {
        TextStyle::Code
    } else {
        TextStyle::Words
    }
}

/// A short label prefix from a column name (its first letter), for token categories.
fn label_prefix(c: &Column) -> String {
    c.name
        .chars()
        .find(|ch| ch.is_ascii_alphabetic())
        .map_or("c".into(), |ch| ch.to_ascii_lowercase().to_string())
}
