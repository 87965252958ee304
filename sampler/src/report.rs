//! The extraction compliance report (markdown), every check computed from the pack itself.

use std::fmt::Write;
use std::path::Path;

use pgshape_core::artifact;
use pgshape_core::pack::{NumberBin, Numbers, Pack};
use pgshape_core::token::is_token;

use crate::validate;

/// Whether a numeric histogram hides the extremes: the last bin open, the first open or
/// starting at 0, every bin holding at least `k`.
fn hides_extremes(h: &[NumberBin], k: u64) -> bool {
    h.last().is_some_and(|b| b.hi.is_none())
        && h.first().is_some_and(|b| b.lo.is_none_or(|lo| lo == 0.0))
        && h.iter().all(|b| b.count >= k)
}

/// Of the histograms `hists`, how many there are and how many hide the extremes.
fn count_safe<'a>(hists: impl Iterator<Item = &'a Numbers>, k: u64) -> (usize, usize) {
    let hists: Vec<&Vec<NumberBin>> = hists
        .filter(|n| !n.histogram.is_empty())
        .map(|n| &n.histogram)
        .collect();
    let safe = hists.iter().filter(|h| hides_extremes(h, k)).count();
    (hists.len(), safe)
}

/// Numeric columns with a histogram, and those whose histogram hides the extremes.
fn numeric_extremes(pack: &Pack) -> (usize, usize) {
    count_safe(
        pack.tables
            .values()
            .flat_map(|t| t.columns.values())
            .filter_map(|c| c.number.as_ref()),
        pack.privacy.k_min,
    )
}

/// Edge timing histograms (offsets and inter-arrival), and those that hide the extremes.
fn timing_extremes(pack: &Pack) -> (usize, usize) {
    count_safe(
        pack.edges.iter().flat_map(|e| {
            e.offset_seconds
                .iter()
                .chain(e.inter_arrival_seconds.iter())
        }),
        pack.privacy.k_min,
    )
}

/// A quantile for the summary: the value, or `–` when absent or suppressed.
fn cell(n: Option<&Numbers>, name: &str) -> String {
    n.and_then(|n| n.quantiles.get(name).copied().flatten())
        .map_or("–".into(), |v| v.to_string())
}

/// What the pack says of differential privacy: its mechanism, ε, δ, ε per family and the
/// contribution bounds, or (marked ✗) that its figures are exact (`--no-dp`).
fn dp_line(pack: &Pack) -> String {
    match &pack.privacy.dp {
        Some(dp) => {
            let split: Vec<String> = dp
                .split
                .iter()
                .map(|(f, e)| format!("  - ε {f}: {}", crate::cells::significant(*e, 3)))
                .collect();
            let b = &dp.bounds;
            let tables: String = b
                .table_max_rows_per_unit
                .iter()
                .map(|(t, n)| format!("; {t}: {n} rows per unit"))
                .collect();
            format!(
                "- ✓ Differential privacy: {} at ε = {} (δ = {}) per privacy unit and per pack; ε per figure family:\n{}\n  - bounds: {} rows per unit, {} children per parent, lengths to {}{tables}",
                dp.mechanism,
                dp.epsilon,
                dp.delta,
                split.join("\n"),
                b.max_rows_per_unit,
                b.max_children_per_parent,
                b.max_length
            )
        }
        None => "- ✗ Differential privacy: OFF (--no-dp): exact figures under k-suppression only; two packs one person apart reveal that person (docs/privacy.md)".into(),
    }
}

/// Renders the report of the pack at `path`.
pub fn render(path: &Path, operator: &str) -> pgshape_core::Result<String> {
    let pack: Pack = artifact::read_json(path)?;
    let bytes = std::fs::metadata(path)
        .map_err(|source| pgshape_core::Error::Io {
            path: path.into(),
            source,
        })?
        .len();
    let sha = artifact::sha256_file(path)?;
    let mut findings = validate::validate_file(path).map_err(|source| pgshape_core::Error::Io {
        path: path.into(),
        source,
    })?;
    // A --no-dp pack is marked on its own line (see `dp_line`).
    findings.retain(|f| f.what != validate::NO_DP);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("pack");

    let mut r = String::new();
    let mut line = |s: String| {
        let _ = writeln!(r, "{s}");
    };
    line("# Production Shape Extraction Report".into());
    line(String::new());
    line(format!("**Date**: {}", pack.created_at));
    line(format!("**Operator**: {operator}"));
    line(format!(
        "**Window**: {} days ({} to {})",
        pack.window.days, pack.window.start, pack.window.end
    ));
    line(format!(
        "**Output**: {name} ({:.1} KB, sha256 `{sha}`)",
        bytes as f64 / 1024.0
    ));
    line(format!("**Tool**: pgshape-sampler {}", pack.tool_version));
    line(format!(
        "**Sampling**: {} (fraction {})",
        pack.sampling.method, pack.sampling.fraction
    ));
    line(String::new());
    line("## Privacy Compliance".into());
    line(String::new());
    let check = |ok: bool, what: &str| format!("- {} {what}", if ok { "✓" } else { "✗" });
    let by = |prefix: &str| {
        findings
            .iter()
            .filter(|f| f.what.starts_with(prefix))
            .count()
    };
    line(check(
        by("email") == 0,
        &format!("No email addresses ({} findings)", by("email")),
    ));
    line(check(
        by("person-name") == 0,
        &format!("No personal names ({} findings)", by("person-name")),
    ));
    line(check(
        by("string over") == 0,
        &format!(
            "No plaintext content: no string over 100 characters ({} findings)",
            by("string over")
        ),
    ));
    let other = findings.len() - by("email") - by("person-name") - by("string over");
    line(check(other == 0, &format!("No phone, SSN, card, IBAN or IP values, and the closed format holds ({other} findings)")));
    line(check(
        is_token(&pack.salt_fingerprint),
        "Tokens are HMAC-SHA256 under the production salt (salt fingerprint present, 16 hex)",
    ));
    let ttl_days = chrono::DateTime::parse_from_rfc3339(&pack.expires_at)
        .ok()
        .zip(chrono::DateTime::parse_from_rfc3339(&pack.created_at).ok())
        .map(|(e, c)| (e - c).num_days());
    line(check(
        ttl_days == Some(90),
        &format!(
            "90-day TTL: expires {} ({} days)",
            pack.expires_at,
            ttl_days.map_or("?".into(), |d| d.to_string())
        ),
    ));
    line(check(
        pack.privacy.k_min >= pgshape_core::pack::K_FLOOR,
        &format!(
            "k = {}: every figure rests on at least k people (floor {})",
            pack.privacy.k_min,
            pgshape_core::pack::K_FLOOR
        ),
    ));
    line(dp_line(&pack));
    let (numeric, open_ends) = numeric_extremes(&pack);
    line(check(
        open_ends == numeric,
        &format!(
            "No raw minimum or maximum: {open_ends} of {numeric} numeric histograms end in an open bin, every bin at least k"
        ),
    ));
    let (timings, closed) = timing_extremes(&pack);
    line(check(
        closed == timings,
        &format!(
            "No raw shortest or longest time: {closed} of {timings} edge timing histograms (offsets, inter-arrival) end in an open bin, every bin at least k"
        ),
    ));
    line(String::new());
    line("## Distribution Summary".into());
    line(String::new());
    line("| table | total rows | in window | count |".into());
    line("|---|---:|---:|---|".into());
    for (t, m) in &pack.tables {
        line(format!(
            "| {t} | {} | {} | {} |",
            m.total_rows,
            m.window_rows.map_or("–".into(), |w| w.to_string()),
            m.count_method
        ));
    }
    line(String::new());
    line("## People behind the figures".into());
    line(String::new());
    line(format!(
        "Each table's privacy unit (the person its rows describe) and the fewest units any of its exported figures rests on (k = {}).",
        pack.privacy.k_min
    ));
    line(String::new());
    line("| table | privacy unit | fewest people behind a figure |".into());
    line("|---|---|---:|".into());
    for (t, m) in &pack.tables {
        let fewest = match (m.count_method.as_str(), m.min_people) {
            ("band", _) => format!(
                "band: fewer than {} people, schema and row-count band only",
                pack.privacy.k_min
            ),
            (_, Some(n)) => n.to_string(),
            (_, None) => "–".into(),
        };
        line(format!(
            "| {t} | {} | {fewest} |",
            m.privacy_unit.as_deref().unwrap_or("not recorded")
        ));
    }
    if pack
        .edges
        .iter()
        .any(|e| e.offset_seconds.is_some() || e.inter_arrival_seconds.is_some())
    {
        line(String::new());
        line(
            "| foreign key | child time | offset p50 / p90 (s) | inter-arrival p50 / p90 (s) |"
                .into(),
        );
        line("|---|---|---:|---:|".into());
        for e in &pack.edges {
            let Some(c) = &e.child_column else {
                continue;
            };
            let (o, g) = (e.offset_seconds.as_ref(), e.inter_arrival_seconds.as_ref());
            line(format!(
                "| {} | {}.{c} | {} / {} | {} / {} |",
                e.foreign_key,
                e.child,
                cell(o, "p50"),
                cell(o, "p90"),
                cell(g, "p50"),
                cell(g, "p90")
            ));
        }
    }
    line(String::new());
    line("## Sign-off".into());
    line(String::new());
    line("Privacy Officer: _________________________  Date: ___________".into());
    line(String::new());
    line("SRE Lead: _________________________  Date: ___________".into());
    Ok(r)
}
