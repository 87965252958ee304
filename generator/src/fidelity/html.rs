//! A comparison as one self-contained page: inline CSS, inline SVG plots, no script, no
//! external resource, no font but the reader's generic `sans-serif`. Production and synthetic
//! are overlaid in every plot: fan-out CCDF on log-log axes per edge, hourly and weekday
//! shares per timestamp column, length histograms per text column, category frequencies per
//! category column, then the summary table coloured by verdict. The markup is well-formed XML (XHTML syntax), and every string that
//! comes from a pack is escaped.

use std::fmt::Write as _;

use pgshape_core::pack::{Bin, ColumnMetrics, EdgeMetrics, Pack};

use super::compare::{Comparison, Figure, Side, Status, COMPARED_QUANTILES};
use super::distance;
use super::report::{num, PackInfo};

const PROD: &str = "#1f6fb4";
const SYNTH: &str = "#e8750c";
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

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

fn shares(cells: &[Option<u64>]) -> Vec<f64> {
    distance::shares(cells).unwrap_or_else(|| vec![0.0; cells.len()])
}

/// The two histograms on one set of bins (by lower edge), as shares of each one's total.
fn aligned_bins(a: &[Bin], b: &[Bin]) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let mut los: Vec<u64> = a.iter().chain(b).map(|x| x.lo).collect();
    los.sort_unstable();
    los.dedup();
    let label = |lo: u64| {
        let mut bins = a.iter().chain(b).filter(|x| x.lo == lo);
        if bins.clone().any(|x| x.hi.is_none()) {
            return format!("{lo}+");
        }
        match bins.find_map(|x| x.hi).unwrap_or(lo) {
            hi if hi == lo => format!("{lo}"),
            hi => format!("{lo}-{hi}"),
        }
    };
    let share = |h: &[Bin]| {
        let total: u64 = h.iter().map(|x| x.count).sum();
        los.iter()
            .map(|lo| {
                let n = h.iter().find(|x| x.lo == *lo).map_or(0, |x| x.count);
                if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                }
            })
            .collect::<Vec<f64>>()
    };
    (
        los.iter().map(|&lo| label(lo)).collect(),
        share(a),
        share(b),
    )
}

/// Grouped bars: for each label a production and a synthetic bar (shares in [0, 1]).
fn bars_svg(labels: &[String], a: &[f64], b: &[f64]) -> String {
    // Long labels (length bins) are slanted when there are many groups.
    let slant = labels.len() > 8 && labels.iter().any(|l| l.len() > 3);
    let (w, hgt) = (460.0, if slant { 240.0 } else { 220.0 });
    let (left, right, top, bottom) = (44.0, 8.0, 10.0, if slant { 54.0 } else { 34.0 });
    let pw = w - left - right;
    let ph = hgt - top - bottom;
    let max = a.iter().chain(b).fold(0.0f64, |m, &x| m.max(x)).max(1e-9) * 1.1;
    let step = nice_step(max / 4.0);
    let mut s = svg_open(w, hgt);
    let mut y = 0.0;
    while y <= max + 1e-12 {
        let py = top + ph - y / max * ph;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 4.0,
            py + 4.0,
            pct(y, step)
        );
        y += step;
    }
    let n = labels.len().max(1) as f64;
    let gw = pw / n;
    let bw = (gw * 0.4).max(1.0);
    for (i, label) in labels.iter().enumerate() {
        let gx = left + gw * i as f64;
        for (k, (v, colour)) in [(a.get(i), PROD), (b.get(i), SYNTH)]
            .into_iter()
            .enumerate()
        {
            let v = v.copied().unwrap_or(0.0);
            let bh = v / max * ph;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{colour}\"><title>{} {}: {:.2} %</title></rect>",
                gx + gw * 0.1 + bw * k as f64,
                top + ph - bh,
                if k == 0 { "production" } else { "synthetic" },
                esc(label),
                v * 100.0
            );
        }
        // Label every group when they fit, else every other one.
        let (x, y) = (gx + gw / 2.0, top + ph + 14.0);
        if slant {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"end\" transform=\"rotate(-40 {x:.1} {y:.1})\">{}</text>",
                esc(label)
            );
        } else if labels.len() <= 12 || i % 2 == 0 {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text>",
                esc(label)
            );
        }
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        left + pw,
        top + ph,
        top + ph
    );
    s.push_str("</svg>\n");
    s
}

fn pct(y: f64, step: f64) -> String {
    if step * 100.0 >= 1.0 {
        format!("{:.0}%", y * 100.0)
    } else {
        format!("{:.1}%", y * 100.0)
    }
}

/// 1, 2 or 5 times a power of ten, at least `x`.
fn nice_step(x: f64) -> f64 {
    let e = libm::pow(10.0, libm::log10(x).floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|s| *s >= x)
        .unwrap_or(10.0 * e)
}

fn svg_open(w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    )
}

/// Share of all parents with at least x children, from the histogram (a line through the
/// bins' lower edges) and from the quantiles (hollow markers: share `(1 - p) (1 - zero)`).
/// `(x, share)` points of a CCDF.
type Points = Vec<(f64, f64)>;
/// `(x, share, quantile name)` markers.
type Markers = Vec<(f64, f64, &'static str)>;

fn ccdf_series(e: &EdgeMetrics) -> (Points, Markers) {
    let line = distance::ccdf_points(&e.histogram);
    let quantiles = COMPARED_QUANTILES
        .iter()
        .filter_map(|name| {
            let p = pgshape_core::pack::EDGE_QUANTILES
                .iter()
                .find(|(n, _)| n == name)?
                .1;
            let v = (*e.quantiles.get(*name)?)?;
            (v >= 1.0).then_some((v, (1.0 - p) * (1.0 - e.zero_fraction), *name))
        })
        .collect();
    (line, quantiles)
}

fn ccdf_svg(p: &EdgeMetrics, s: &EdgeMetrics) -> String {
    let (w, h) = (460.0, 260.0);
    let (left, right, top, bottom) = (48.0, 10.0, 10.0, 36.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let (pl, pq) = ccdf_series(p);
    let (sl, sq) = ccdf_series(s);
    let xs = pl
        .iter()
        .chain(&sl)
        .map(|x| x.0)
        .chain(pq.iter().chain(&sq).map(|x| x.0));
    let ys = pl
        .iter()
        .chain(&sl)
        .map(|x| x.1)
        .chain(pq.iter().chain(&sq).map(|x| x.1))
        .filter(|y| *y > 0.0);
    let xmax = xs.fold(1.0f64, f64::max);
    let ymin = ys.fold(1.0f64, f64::min);
    let (x_hi, y_lo) = (
        libm::log10(xmax).ceil().max(1.0),
        libm::log10(ymin).floor().min(-1.0),
    );
    let px = |x: f64| left + libm::log10(x.max(1.0)) / x_hi * pw;
    let py = |y: f64| top + (libm::log10(y.max(libm::pow(10.0, y_lo))) / y_lo) * ph;
    let mut out = svg_open(w, h);
    for d in 0..=(x_hi as i32) {
        let x = px(libm::pow(10.0, d as f64));
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + ph,
            top + ph + 14.0,
            decade(d)
        );
    }
    for d in (y_lo as i32)..=0 {
        let y = py(libm::pow(10.0, d as f64));
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 4.0,
            y + 4.0,
            if d == 0 { "1".to_string() } else { format!("1e{d}") }
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">children per parent (x)</text>",
        left + pw / 2.0,
        h - 4.0
    );
    // Production solid and wide, synthetic dashed on top: both stay visible where they agree.
    let solid = "stroke-width=\"3.5\" stroke-opacity=\"0.8\"";
    let dashed = "stroke-width=\"2\" stroke-dasharray=\"6 3\"";
    for (series, quantiles, colour, who, style) in [
        (&pl, &pq, PROD, "production", solid),
        (&sl, &sq, SYNTH, "synthetic", dashed),
    ] {
        let pts: Vec<String> = series
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        if !pts.is_empty() {
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" {style} points=\"{}\"/>",
                pts.join(" ")
            );
        }
        for (x, y) in series.iter() {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{colour}\"><title>{who}: {:.3} % of parents have at least {x} children</title></circle>",
                px(*x),
                py(*y),
                y * 100.0
            );
        }
        for (x, y, name) in quantiles.iter() {
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" transform=\"rotate(45 {:.1} {:.1})\"><title>{who} {name}: {x}</title></rect>",
                px(*x) - 3.5,
                py(*y) - 3.5,
                px(*x),
                py(*y)
            );
        }
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    out.push_str("</svg>\n");
    out
}

fn decade(d: i32) -> String {
    match d {
        0 => "1".into(),
        1 => "10".into(),
        2 => "100".into(),
        3 => "1k".into(),
        4 => "10k".into(),
        5 => "100k".into(),
        6 => "1M".into(),
        d => format!("1e{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
