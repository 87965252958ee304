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

/// Appends `s` and a newline to the report.
fn line(r: &mut String, s: impl AsRef<str>) {
    let _ = writeln!(r, "{}", s.as_ref());
}

/// A check line: `✓` when `ok`, `✗` otherwise.
fn check(ok: bool, what: &str) -> String {
    format!("- {} {what}", if ok { "✓" } else { "✗" })
}

/// What the report knows of the pack file itself besides its content.
struct PackFile<'a> {
    name: &'a str,
    bytes: u64,
    sha: String,
}

/// Renders the report of the pack at `path`.
pub fn render(path: &Path, operator: &str) -> pgshape_core::Result<String> {
    let pack: Pack = artifact::read_json(path)?;
    let io = |source| pgshape_core::Error::Io {
        path: path.into(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    let sha = artifact::sha256_file(path)?;
    let mut findings = validate::validate_file(path).map_err(io)?;
    // A --no-dp pack is marked on its own line (see `dp_line`).
    findings.retain(|f| f.what != validate::NO_DP);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("pack");
    let file = PackFile { name, bytes, sha };

    let mut r = String::new();
    header(&mut r, &pack, &file, operator);
    compliance(&mut r, &pack, &findings);
    distribution(&mut r, &pack);
    people(&mut r, &pack);
    edge_timing(&mut r, &pack);
    sign_off(&mut r);
    Ok(r)
}

/// The title and the pack's provenance: date, operator, window, file, tool, sampling.
fn header(r: &mut String, pack: &Pack, file: &PackFile<'_>, operator: &str) {
    line(r, "# Production Shape Extraction Report");
    line(r, "");
    line(r, format!("**Date**: {}", pack.created_at));
    line(r, format!("**Operator**: {operator}"));
    line(
        r,
        format!(
            "**Window**: {} days ({} to {})",
            pack.window.days, pack.window.start, pack.window.end
        ),
    );
    line(
        r,
        format!(
            "**Output**: {} ({:.1} KB, sha256 `{}`)",
            file.name,
            file.bytes as f64 / 1024.0,
            file.sha
        ),
    );
    line(
        r,
        format!("**Tool**: pgshape-sampler {}", pack.tool_version),
    );
    line(
        r,
        format!(
            "**Sampling**: {} (fraction {})",
            pack.sampling.method, pack.sampling.fraction
        ),
    );
    line(r, "");
}

/// The privacy compliance checks: content findings, tokens, TTL, k, DP and extremes.
fn compliance(r: &mut String, pack: &Pack, findings: &[validate::Finding]) {
    line(r, "## Privacy Compliance");
    line(r, "");
    content_checks(r, findings);
    line(
        r,
        check(
            is_token(&pack.salt_fingerprint),
            "Tokens are HMAC-SHA256 under the production salt (salt fingerprint present, 16 hex)",
        ),
    );
    line(r, ttl_check(pack));
    line(
        r,
        check(
            pack.privacy.k_min >= pgshape_core::pack::K_FLOOR,
            &format!(
                "k = {}: every figure rests on at least k people (floor {})",
                pack.privacy.k_min,
                pgshape_core::pack::K_FLOOR
            ),
        ),
    );
    line(r, dp_line(pack));
    extremes_checks(r, pack);
    line(r, "");
}

/// The checks of the validator's findings: emails, names, long strings, everything else.
fn content_checks(r: &mut String, findings: &[validate::Finding]) {
    let by = |prefix: &str| {
        findings
            .iter()
            .filter(|f| f.what.starts_with(prefix))
            .count()
    };
    line(
        r,
        check(
            by("email") == 0,
            &format!("No email addresses ({} findings)", by("email")),
        ),
    );
    line(
        r,
        check(
            by("person-name") == 0,
            &format!("No personal names ({} findings)", by("person-name")),
        ),
    );
    line(
        r,
        check(
            by("string over") == 0,
            &format!(
                "No plaintext content: no string over 100 characters ({} findings)",
                by("string over")
            ),
        ),
    );
    let other = findings.len() - by("email") - by("person-name") - by("string over");
    line(r, check(other == 0, &format!("No phone, SSN, card, IBAN or IP values, and the closed format holds ({other} findings)")));
}

/// The 90-day TTL check: the days between the pack's creation and expiry.
fn ttl_check(pack: &Pack) -> String {
    let ttl_days = chrono::DateTime::parse_from_rfc3339(&pack.expires_at)
        .ok()
        .zip(chrono::DateTime::parse_from_rfc3339(&pack.created_at).ok())
        .map(|(e, c)| (e - c).num_days());
    check(
        ttl_days == Some(90),
        &format!(
            "90-day TTL: expires {} ({} days)",
            pack.expires_at,
            ttl_days.map_or("?".into(), |d| d.to_string())
        ),
    )
}

/// The checks that no histogram (numeric or edge timing) reveals a raw extreme.
fn extremes_checks(r: &mut String, pack: &Pack) {
    let (numeric, open_ends) = numeric_extremes(pack);
    line(
        r,
        check(
            open_ends == numeric,
            &format!(
                "No raw minimum or maximum: {open_ends} of {numeric} numeric histograms end in an open bin, every bin at least k"
            ),
        ),
    );
    let (timings, closed) = timing_extremes(pack);
    line(
        r,
        check(
            closed == timings,
            &format!(
                "No raw shortest or longest time: {closed} of {timings} edge timing histograms (offsets, inter-arrival) end in an open bin, every bin at least k"
            ),
        ),
    );
}

/// The row counts of each table: total, in the window, and how they were counted.
fn distribution(r: &mut String, pack: &Pack) {
    line(r, "## Distribution Summary");
    line(r, "");
    line(r, "| table | total rows | in window | count |");
    line(r, "|---|---:|---:|---|");
    for (t, m) in &pack.tables {
        line(
            r,
            format!(
                "| {t} | {} | {} | {} |",
                m.total_rows,
                m.window_rows.map_or("–".into(), |w| w.to_string()),
                m.count_method
            ),
        );
    }
    line(r, "");
}

/// Each table's privacy unit and the fewest people behind any of its figures.
fn people(r: &mut String, pack: &Pack) {
    line(r, "## People behind the figures");
    line(r, "");
    line(
        r,
        format!(
            "Each table's privacy unit (the person its rows describe) and the fewest units any of its exported figures rests on (k = {}).",
            pack.privacy.k_min
        ),
    );
    line(r, "");
    line(
        r,
        "| table | privacy unit | fewest people behind a figure |",
    );
    line(r, "|---|---|---:|");
    for (t, m) in &pack.tables {
        let fewest = match (m.count_method.as_str(), m.min_people) {
            ("band", _) => format!(
                "band: fewer than {} people, schema and row-count band only",
                pack.privacy.k_min
            ),
            (_, Some(n)) => n.to_string(),
            (_, None) if pack.privacy.dp.is_some() => {
                "not exported under ε-DP (an exact figure outside the budget)".into()
            }
            (_, None) => "–".into(),
        };
        line(
            r,
            format!(
                "| {t} | {} | {fewest} |",
                m.privacy_unit.as_deref().unwrap_or("not recorded")
            ),
        );
    }
}

/// The edge timing table (offset and inter-arrival medians and p90), when the pack has any.
fn edge_timing(r: &mut String, pack: &Pack) {
    if !pack
        .edges
        .iter()
        .any(|e| e.offset_seconds.is_some() || e.inter_arrival_seconds.is_some())
    {
        return;
    }
    line(r, "");
    line(
        r,
        "| foreign key | child time | offset p50 / p90 (s) | inter-arrival p50 / p90 (s) |",
    );
    line(r, "|---|---|---:|---:|");
    for e in &pack.edges {
        let Some(c) = &e.child_column else {
            continue;
        };
        let (o, g) = (e.offset_seconds.as_ref(), e.inter_arrival_seconds.as_ref());
        line(
            r,
            format!(
                "| {} | {}.{c} | {} / {} | {} / {} |",
                e.foreign_key,
                e.child,
                cell(o, "p50"),
                cell(o, "p90"),
                cell(g, "p50"),
                cell(g, "p90")
            ),
        );
    }
}

/// The sign-off lines for the privacy officer and the SRE lead.
fn sign_off(r: &mut String) {
    line(r, "");
    line(r, "## Sign-off");
    line(r, "");
    line(
        r,
        "Privacy Officer: _________________________  Date: ___________",
    );
    line(r, "");
    line(r, "SRE Lead: _________________________  Date: ___________");
}
