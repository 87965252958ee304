//! The page's plots as inline SVG: grouped bars of shares, and a fan-out CCDF on log-log
//! axes; with the XML escaping every string from a pack goes through.

use std::fmt::Write as _;

use pgshape_core::pack::{Bin, EdgeMetrics};

use crate::fidelity::compare::COMPARED_QUANTILES;
use crate::fidelity::distance;

/// Production's colour.
pub(super) const PROD: &str = "#1f6fb4";
/// Synthetic's colour.
pub(super) const SYNTH: &str = "#e8750c";

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

/// A profile's shares (zeros when it is empty).
pub(super) fn shares(cells: &[Option<u64>]) -> Vec<f64> {
    distance::shares(cells).unwrap_or_else(|| vec![0.0; cells.len()])
}

/// The two histograms on one set of bins (by lower edge), as shares of each one's total.
pub(super) fn aligned_bins(a: &[Bin], b: &[Bin]) -> (Vec<String>, Vec<f64>, Vec<f64>) {
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
pub(super) fn bars_svg(labels: &[String], a: &[f64], b: &[f64]) -> String {
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

/// A share as a percentage label, with a decimal when the grid step is under 1 %.
fn pct(y: f64, step: f64) -> String {
    if step * 100.0 >= 1.0 {
        format!("{:.0}%", y * 100.0)
    } else {
        format!("{:.1}%", y * 100.0)
    }
}

/// 1, 2 or 5 times a power of ten, at least `x`.
pub(super) fn nice_step(x: f64) -> f64 {
    let e = libm::pow(10.0, libm::log10(x).floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|s| *s >= x)
        .unwrap_or(10.0 * e)
}

/// An `<svg>` opening tag of this size.
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

pub(super) fn ccdf_series(e: &EdgeMetrics) -> (Points, Markers) {
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

/// A log-log plot area: pixel positions of `x` (children, decades up to `x_hi`) and `y`
/// (shares, decades down to `y_lo`).
struct LogLog {
    left: f64,
    top: f64,
    pw: f64,
    ph: f64,
    x_hi: f64,
    y_lo: f64,
}

impl LogLog {
    fn px(&self, x: f64) -> f64 {
        self.left + libm::log10(x.max(1.0)) / self.x_hi * self.pw
    }

    fn py(&self, y: f64) -> f64 {
        self.top + (libm::log10(y.max(libm::pow(10.0, self.y_lo))) / self.y_lo) * self.ph
    }
}

/// Both edges' fan-out CCDFs on log-log axes: production solid, synthetic dashed.
pub(super) fn ccdf_svg(p: &EdgeMetrics, s: &EdgeMetrics) -> String {
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
    let area = LogLog {
        left,
        top,
        pw,
        ph,
        x_hi: libm::log10(xmax).ceil().max(1.0),
        y_lo: libm::log10(ymin).floor().min(-1.0),
    };
    let mut out = svg_open(w, h);
    loglog_grid(&mut out, &area, h);
    // Production solid and wide, synthetic dashed on top: both stay visible where they agree.
    let solid = "stroke-width=\"3.5\" stroke-opacity=\"0.8\"";
    let dashed = "stroke-width=\"2\" stroke-dasharray=\"6 3\"";
    ccdf_path(&mut out, &area, (&pl, &pq), (PROD, "production", solid));
    ccdf_path(&mut out, &area, (&sl, &sq), (SYNTH, "synthetic", dashed));
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

/// Decade grid lines and labels of a log-log plot, and the x axis's title.
fn loglog_grid(out: &mut String, a: &LogLog, h: f64) {
    let LogLog {
        left, top, pw, ph, ..
    } = *a;
    for d in 0..=(a.x_hi as i32) {
        let x = a.px(libm::pow(10.0, d as f64));
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + ph,
            top + ph + 14.0,
            decade(d)
        );
    }
    for d in (a.y_lo as i32)..=0 {
        let y = a.py(libm::pow(10.0, d as f64));
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
}

/// One pack's CCDF: the line through the histogram's points (each a dot with its share) and
/// the quantiles as hollow diamonds, in `(colour, who, stroke style)`.
fn ccdf_path(
    out: &mut String,
    a: &LogLog,
    (series, quantiles): (&Points, &Markers),
    (colour, who, style): (&str, &str, &str),
) {
    let pts: Vec<String> = series
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", a.px(*x), a.py(*y)))
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
            a.px(*x),
            a.py(*y),
            y * 100.0
        );
    }
    for (x, y, name) in quantiles.iter() {
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" transform=\"rotate(45 {:.1} {:.1})\"><title>{who} {name}: {x}</title></rect>",
            a.px(*x) - 3.5,
            a.py(*y) - 3.5,
            a.px(*x),
            a.py(*y)
        );
    }
}

/// A decade's label (`10`, `1k`, …).
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
