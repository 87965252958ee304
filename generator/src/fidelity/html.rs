//! A comparison as one self-contained page: inline CSS, inline SVG plots, no script, no
//! external resource, no font but the reader's generic `sans-serif`. Production and synthetic
//! are overlaid in every plot: fan-out CCDF on log-log axes per edge, hourly and weekday
//! shares per timestamp column, length histograms per text column, category frequencies per
//! category column, then the summary table coloured by verdict. The markup is well-formed XML (XHTML syntax), and every string that
//! comes from a pack is escaped.

use std::fmt::Write as _;

use pgshape_core::pack::{ColumnMetrics, Pack};

use super::compare::{Comparison, Figure, Side, Status};
use super::distance;
use super::report::{num, PackInfo};

mod svg;

pub use svg::esc;
#[cfg(test)]
use svg::nice_step;
use svg::{aligned_bins, bars_svg, ccdf_svg, shares, PROD, SYNTH};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const CSS: &str = "
body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:.85em;margin:.2em 0;font-weight:normal;font-family:monospace;overflow-wrap:anywhere}
.verdict.pass{color:#1a7f37}.verdict.fail{color:#c62828}
.meta{color:#555;font-size:.9em}
.plots{display:flex;flex-wrap:wrap;gap:1em}
.plot{border:1px solid #ddd;border-radius:4px;padding:.5em;width:470px}
.caption{color:#555;font-size:.85em}
.plot.fail{border:2px solid #c62828}
.figs{font-size:.8em;color:#555;margin:.1em 0}.figs .bad{color:#c62828;font-weight:bold}
.legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em;vertical-align:middle}
table{border-collapse:collapse;font-size:.85em}
td,th{padding:.15em .6em;border-bottom:1px solid #eee;text-align:right}
td.l,th.l{text-align:left;font-family:monospace}
tr.pass td.r{color:#1a7f37}tr.fail td{background:#fde7e7}tr.fail td.r{color:#c62828;font-weight:bold}
tr.info td.r,tr.skipped td.r{color:#777}
svg text{font-family:sans-serif;font-size:11px;fill:#333}
svg .grid{stroke:#e4e4e4;stroke-width:1}
svg .axis{stroke:#888;stroke-width:1}
";

/// The whole page.
pub fn render(
    c: &Comparison,
    production: &Pack,
    synthetic: &Pack,
    pinfo: &PackInfo,
    sinfo: &PackInfo,
) -> String {
    let mut h = String::new();
    header(&mut h, c, pinfo, sinfo);
    fanouts(&mut h, c, production, synthetic);
    profiles(&mut h, c, production, synthetic);
    lengths(&mut h, c, production, synthetic);
    categories(&mut h, c, production, synthetic);
    summary(&mut h, c);
    h.push_str("</body>\n</html>\n");
    h
}

/// The page's head, verdict, the packs compared, thresholds, legend and failed figures.
fn header(h: &mut String, c: &Comparison, pinfo: &PackInfo, sinfo: &PackInfo) {
    let verdict = if c.passed() { "pass" } else { "fail" };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>pgshape compare: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        verdict.to_uppercase()
    );
    let failed: Vec<_> = c.failures().collect();
    let _ = writeln!(
        h,
        "<h1>Production vs synthetic: <span class=\"verdict {verdict}\">{}</span></h1>",
        if failed.is_empty() {
            format!("PASS ({} figures within their thresholds)", c.checked())
        } else {
            format!(
                "FAIL ({} of {} figures over their thresholds)",
                failed.len(),
                c.checked()
            )
        }
    );
    for (label, info) in [("production", pinfo), ("synthetic", sinfo)] {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{label}: <code>{}</code>, created {}, sha256 <code>{}</code></p>",
            esc(&info.file),
            esc(&info.created_at),
            esc(&info.sha256)
        );
    }
    let t = c.thresholds;
    let _ = writeln!(
        h,
        "<p class=\"meta\">thresholds: relative error {} (fan-out quantiles: or within 1 child), TVD {}, KS {}, fraction difference {}</p>",
        t.max_error, t.max_tvd, t.max_ks, t.max_fraction_diff
    );
    let _ = writeln!(
        h,
        "<p class=\"legend\"><span style=\"background:{PROD}\"></span>production<span style=\"background:{SYNTH}\"></span>synthetic (dashed in line plots)</p>"
    );
    if !failed.is_empty() {
        h.push_str("<ul class=\"failures\">\n");
        for f in &failed {
            let _ = writeln!(
                h,
                "<li><code>{}</code> {}: {} &gt; {}</li>",
                esc(&f.subject),
                esc(&f.metric),
                num(f.value),
                num(f.threshold)
            );
        }
        h.push_str("</ul>\n");
    }
}

/// One CCDF plot per edge.
fn fanouts(h: &mut String, c: &Comparison, production: &Pack, synthetic: &Pack) {
    h.push_str(concat!(
        "<h2>Fan-out: parents with at least x children (log-log)</h2>\n",
        "<p class=\"caption\">Lines: the share of all parents with at least x children, at the ",
        "lower edges of the packs' log-binned histograms. Diamonds: the quantiles p50 to p99 of ",
        "the parents with children, at the share (1 - p) of those.</p>\n<div class=\"plots\">\n"
    ));
    for e in &c.edges {
        let (p, s) = (
            &production.edges[e.production],
            &synthetic.edges[e.synthetic],
        );
        plot(h, c, &e.subject, None, &ccdf_svg(p, s));
    }
    h.push_str("</div>\n");
}

/// The columns both packs have that `pick` accepts on both sides, as (table.column, production's, synthetic's).
fn paired_columns<'a>(
    c: &Comparison,
    production: &'a Pack,
    synthetic: &'a Pack,
    pick: &dyn Fn(&ColumnMetrics) -> bool,
) -> Vec<(String, &'a ColumnMetrics, &'a ColumnMetrics)> {
    let mut out = Vec::new();
    for pair in &c.tables {
        let (pt, st) = (
            &production.tables[&pair.production],
            &synthetic.tables[&pair.synthetic],
        );
        for (name, pc) in &pt.columns {
            if let Some(sc) = st.columns.get(name) {
                if pick(pc) && pick(sc) {
                    out.push((format!("{}.{name}", pair.production), pc, sc));
                }
            }
        }
    }
    out
}

/// Hourly and weekday bars per timestamp column.
fn profiles(h: &mut String, c: &Comparison, production: &Pack, synthetic: &Pack) {
    h.push_str("<h2>Arrival profiles: share of rows per UTC hour and per weekday</h2>\n<div class=\"plots\">\n");
    for (subject, pc, sc) in paired_columns(c, production, synthetic, &|m| {
        m.hourly.is_some() || m.weekday.is_some()
    }) {
        if let (Some(a), Some(b)) = (&pc.hourly, &sc.hourly) {
            let labels: Vec<String> = (0..24).map(|i| i.to_string()).collect();
            let svg = bars_svg(&labels, &shares(a), &shares(b));
            plot(h, c, &subject, Some("hourly"), &svg);
        }
        if let (Some(a), Some(b)) = (&pc.weekday, &sc.weekday) {
            let labels: Vec<String> = WEEKDAYS.iter().map(|d| d.to_string()).collect();
            let svg = bars_svg(&labels, &shares(a), &shares(b));
            plot(h, c, &subject, Some("weekday"), &svg);
        }
    }
    h.push_str("</div>\n");
}

/// Length histograms per text column.
fn lengths(h: &mut String, c: &Comparison, production: &Pack, synthetic: &Pack) {
    h.push_str("<h2>Text lengths: share of values per length bin</h2>\n<div class=\"plots\">\n");
    for (subject, pc, sc) in paired_columns(c, production, synthetic, &|m| m.length.is_some()) {
        let (a, b) = (
            &pc.length.as_ref().expect("picked").histogram,
            &sc.length.as_ref().expect("picked").histogram,
        );
        let (labels, pa, pb) = aligned_bins(a, b);
        plot(h, c, &subject, Some("length"), &bars_svg(&labels, &pa, &pb));
    }
    h.push_str("</div>\n");
}

/// Category frequencies per category column.
fn categories(h: &mut String, c: &Comparison, production: &Pack, synthetic: &Pack) {
    h.push_str(concat!(
        "<h2>Categories: share of rows per category</h2>\n",
        "<p class=\"caption\">Enum labels by label; tokens by rank (#1 the most frequent of each ",
        "pack: tokens are salted per namespace, so only the shape of the frequencies compares). ",
        "other: rows of categories suppressed under k.</p>\n<div class=\"plots\">\n"
    ));
    for (subject, pc, sc) in paired_columns(c, production, synthetic, &|m| m.categories.is_some()) {
        let (a, b) = (
            pc.categories.as_ref().expect("picked"),
            sc.categories.as_ref().expect("picked"),
        );
        if let Some((labels, pa, pb)) = distance::category_shares(a, b) {
            let svg = bars_svg(&labels, &pa, &pb);
            plot(h, c, &subject, Some("categories"), &svg);
        }
    }
    h.push_str("</div>\n");
}

/// One plot box: its title, the figures it illustrates (failed ones in red, and a red frame
/// when any failed), and the SVG.
fn plot(h: &mut String, c: &Comparison, subject: &str, metric: Option<&str>, svg: &str) {
    let figures: Vec<&Figure> = c
        .figures
        .iter()
        .filter(|f| f.subject == subject && metric.is_none_or(|m| f.metric == m))
        .filter(|f| f.threshold.is_some() && f.value.is_some())
        .collect();
    let failed = figures.iter().any(|f| f.status == Status::Fail);
    let line: Vec<String> = figures
        .iter()
        .map(|f| {
            let (class, mark) = if f.status == Status::Fail {
                ("bad", format!(" &gt; {}", num(f.threshold)))
            } else {
                ("ok", String::new())
            };
            format!(
                "<span class=\"{class}\">{} {}{mark}</span>",
                esc(&f.metric),
                num(f.value)
            )
        })
        .collect();
    let title = match metric {
        Some(m) => format!("{subject} {m}"),
        None => subject.to_string(),
    };
    let _ = writeln!(
        h,
        "<div class=\"plot{}\"><h3>{}</h3>\n<p class=\"figs\">{}</p>\n{svg}</div>",
        if failed { " fail" } else { "" },
        esc(&title),
        line.join(" · ")
    );
}

fn summary(h: &mut String, c: &Comparison) {
    h.push_str("<h2>Summary</h2>\n<table class=\"summary\">\n<thead><tr><th class=\"l\">subject</th><th class=\"l\">metric</th><th>production</th><th>synthetic</th><th>figure</th><th>threshold</th><th class=\"l\">result</th></tr></thead>\n<tbody>\n");
    for f in &c.figures {
        let class = match f.status {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Info => "info",
            Status::Skipped => "skipped",
        };
        let note = f
            .note
            .as_deref()
            .map(|n| format!(" ({})", esc(n)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l r\">{}{note}</td></tr>",
            esc(&f.subject),
            esc(&f.metric),
            num(f.production),
            num(f.synthetic),
            num(f.value),
            num(f.threshold),
            f.status.word()
        );
    }
    h.push_str("</tbody>\n</table>\n");
    if !c.only_in.is_empty() {
        h.push_str("<h2>In one pack only (not compared)</h2>\n<ul>\n");
        for o in &c.only_in {
            let side = match o.side {
                Side::Production => "production",
                Side::Synthetic => "synthetic",
            };
            let kind = serde_json::to_value(o.kind).expect("a string");
            let _ = writeln!(
                h,
                "<li>{} <code>{}</code>: only in {side}</li>",
                esc(kind.as_str().unwrap_or("")),
                esc(&o.subject)
            );
        }
        h.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::pack::Bin;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("a<b>&\"c\"'d'"),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(esc("x\u{1}y"), "x?y");
    }

    #[test]
    fn every_pack_string_is_escaped() {
        let evil = "<b>\"x\"&'y'</b>";
        let t = format!("public.{evil}");
        let pack: Pack = serde_json::from_value(serde_json::json!({
            "pack_version": 1,
            "created_at": evil, "expires_at": "2027-02-20T00:00:00Z", "tool_version": "0.1.0",
            "window": {"days": 30, "start": "", "end": ""},
            "sampling": {"method": "full", "fraction": 1.0},
            "privacy": {"k_min": 10}, "salt_fingerprint": "00",
            "schema": {"tables": [], "enums": []},
            "tables": {t.clone(): {"total_rows": 100, "count_method": "exact", "columns": {
                evil: {"role": "category", "null_fraction": 0.0,
                       "hourly": vec![10; 24], "weekday": vec![10; 7],
                       "length": {"quantiles": {}, "histogram": [{"lo": 1, "hi": null, "count": 100}]},
                       "categories": {"labels": true, "counts": {evil: 100},
                                      "suppressed_rows": 0, "suppressed_categories": 0}}}}},
            "edges": [{"foreign_key": evil, "child": t.clone(), "columns": [evil], "parent": t,
                       "ref_columns": [evil], "parents": 100, "zero_fraction": 0.5,
                       "quantiles": {"p50": 2.0}, "histogram": [{"lo": 0, "hi": 0, "count": 50},
                                                                 {"lo": 1, "hi": null, "count": 50}]}]
        }))
        .unwrap();
        let c = crate::fidelity::compare::compare(&pack, &pack, Default::default());
        let info = PackInfo {
            file: evil.into(),
            sha256: evil.into(),
            created_at: evil.into(),
            expires_at: evil.into(),
        };
        let page = render(&c, &pack, &pack, &info, &info);
        assert!(!page.contains(evil) && !page.contains("<b>"), "unescaped");
        assert!(page.contains("&lt;b&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/b&gt;"));
        // One plot each: edge, hourly, weekday, length, categories.
        assert_eq!(page.matches("<svg ").count(), 5);
        assert_eq!(
            page.matches("<svg ").count(),
            page.matches("</svg>").count()
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.03), 0.05);
        assert_eq!(nice_step(0.011), 0.02);
        assert!((nice_step(0.1) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn bins_are_aligned_by_lower_edge() {
        let a = [
            Bin {
                lo: 0,
                hi: Some(0),
                count: 1,
            },
            Bin {
                lo: 4,
                hi: None,
                count: 3,
            },
        ];
        let b = [
            Bin {
                lo: 0,
                hi: Some(0),
                count: 1,
            },
            Bin {
                lo: 2,
                hi: Some(3),
                count: 1,
            },
        ];
        let (labels, pa, pb) = aligned_bins(&a, &b);
        assert_eq!(labels, ["0", "2-3", "4+"]);
        assert_eq!(pa, [0.25, 0.0, 0.75]);
        assert_eq!(pb, [0.5, 0.5, 0.0]);
    }
}
