//! One column of a group: what each generator of the spec does. Every generator draws from
//! the column's own stream, so a column never depends on another column's draws; the columns
//! it reads (a pick's `via`, a timestamp's `after`) are generated before it (see
//! `model::eval_order`).

use pgshape_core::copy;
use pgshape_core::rng::Stream;
use pgshape_core::spec::{SqlType, TextStyle};
use pgshape_core::{Error, Result};

use crate::ascending::Ascending;
use crate::engine::Ctx;
use crate::model::{ColumnModel, Gen, Model, TableModel, ValueRef};
use crate::text;
use crate::value::{self, GroupBuf, RowCopy, Value};
use pgshape_core::dist::Compiled;

fn read_ref(r: ValueRef, row: usize, out: &GroupBuf, parent: Option<&RowCopy>) -> Value {
    match r {
        ValueRef::Own(c) => out.get(row, c),
        ValueRef::Parent(c) => parent.map_or(Value::Null, |p| p.values[c]),
    }
}

/// What one column carries from a segment of its group to the next: its stream, the values a
/// distinct generator has used, its timestamp room. A column generated segment by segment
/// therefore draws exactly what it would have drawn for the whole group at once.
pub(crate) struct ColState {
    s: Stream,
    used: Vec<i64>,
    room: Room,
    text_buf: String,
    ascending: Option<Ascending>,
    tree: TreeCursor,
}

/// Rows a self-reference's forest is built over at a time: a group is cut into blocks of
/// this many rows, each a forest of its own (constant memory whatever the group's size).
const TREE_BLOCK: usize = 1024;

/// The forest of the current block of a group (see [`TreeCursor::start`]): rows `start..start+len`
/// of the group, the first `roots` of them roots, the others children of the rows in order,
/// row `start + parent` having `left` places still to fill.
#[derive(Default)]
struct TreeCursor {
    start: usize,
    len: usize,
    roots: usize,
    counts: Vec<u32>,
    parent: usize,
    left: u32,
}

impl TreeCursor {
    /// Lays out the block of `len` rows from group row `start`: children per row drawn at
    /// stratified points of the fan-out (`(π(i) + ½) / len` through a shuffle of the block,
    /// the childless share first), rounded by a random draw, so the block's counts follow the
    /// distribution closely whatever the seed; then at least one root (`len - Σ counts`, the
    /// largest counts trimmed if need be); then the counts rotated to start after the first
    /// minimum of their Łukasiewicz walk `Σ (c - 1)`, which by the cycle lemma makes the
    /// breadth-first layout valid: every row's parent comes before it.
    fn start(&mut self, s: &mut Stream, start: usize, len: usize, fanout: &Compiled, zero: f64) {
        let mut strata: Vec<u32> = (0..len as u32).collect();
        for i in (1..len).rev() {
            strata.swap(i, s.below(i as u64 + 1) as usize);
        }
        let mut counts: Vec<u32> = strata
            .iter()
            .map(|&k| {
                let u = (k as f64 + 0.5) / len as f64;
                let v = s.unit();
                if u < zero {
                    0
                } else {
                    let q = fanout.quantile(((u - zero) / (1.0 - zero)).min(1.0));
                    (q + v).floor().clamp(1.0, len as f64) as u32
                }
            })
            .collect();
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        let mut excess = (total + 1).saturating_sub(len as u64);
        if excess > 0 {
            let mut by_size: Vec<usize> = (0..len).collect();
            by_size.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
            for floor in [1, 0] {
                for &i in &by_size {
                    let d = (counts[i].saturating_sub(floor) as u64).min(excess);
                    counts[i] -= d as u32;
                    excess -= d;
                }
            }
        }
        let children: u64 = counts.iter().map(|&c| c as u64).sum();
        let (mut walk, mut low, mut at) = (0i64, 0i64, 0usize);
        for (t, &c) in counts.iter().enumerate() {
            if walk < low {
                (low, at) = (walk, t);
            }
            walk += c as i64 - 1;
        }
        counts.rotate_left(at);
        *self = TreeCursor {
            start,
            len,
            roots: len - children as usize,
            parent: 0,
            left: counts.first().copied().unwrap_or(0),
            counts,
        };
    }

    /// The parent (block row) of block row `i`, `None` for a root; rows come in order.
    fn parent_of(&mut self, i: usize) -> Option<usize> {
        if i < self.roots {
            return None;
        }
        while self.left == 0 {
            self.parent += 1;
            self.left = self.counts[self.parent];
        }
        self.left -= 1;
        debug_assert!(self.parent < i);
        Some(self.parent)
    }
}

impl ColState {
    pub(crate) fn new(col: &ColumnModel, group: u64) -> ColState {
        ColState {
            s: col.key.stream(group),
            used: Vec::new(),
            room: Room::default(),
            text_buf: String::new(),
            ascending: None,
            tree: TreeCursor::default(),
        }
    }
}

/// Whether row `row` of the table is NULL in `col`: stratified, `(π(row) + ½) / N <
/// null_fraction` through the column's keyed permutation of the table's N rows, so the table
/// holds `null_fraction · N` NULLs (rounded) whatever its size or its groups' sizes, rather
/// than a binomial count (a table of 1,300 rows at 0.56 would miss by 0.014 on average).
fn is_null(col: &ColumnModel, row: u64) -> bool {
    match &col.null_strata {
        Some((perm, n)) => {
            (perm.apply(row.min(n - 1)) as f64 + 0.5) / (*n as f64) < col.null_fraction
        }
        None => false,
    }
}

/// Whether a column's values are sorted over the whole group after they are drawn: ascending
/// timestamps after a time of their own row (each row has its own base, so they cannot be
/// drawn in order). Other ascending timestamps are drawn in order, segment by segment.
pub(crate) fn sorts_whole(gen: &Gen) -> bool {
    matches!(
        gen,
        Gen::Timestamp {
            ascending: true,
            after: Some(ValueRef::Own(_)),
            ..
        }
    )
}

/// Generates column `ci` for the rows of `out` (a whole group, or the next segment of one),
/// continuing `st`. An ascending timestamp column is sorted over the group, so it is only ever
/// generated for a whole group.
pub(crate) fn gen_column(
    model: &Model,
    t: &TableModel,
    ci: usize,
    parent: Option<&RowCopy>,
    ctx: &mut Ctx,
    out: &mut GroupBuf,
    st: &mut ColState,
) -> Result<()> {
    let col: &ColumnModel = &t.columns[ci];
    let ColState {
        s,
        used,
        room,
        text_buf,
        ascending,
        tree,
    } = st;
    let n = out.rows;
    // A tree's roots are the rows no earlier row has room for: its nulls are not drawn.
    let nulls = col.null_fraction > 0.0 && !matches!(col.gen, Gen::Earlier { tree: Some(_), .. });
    if let Gen::Timestamp {
        ascending: true,
        after,
        offset,
        hourly,
        weekly,
    } = &col.gen
    {
        if !sorts_whole(&col.gen) {
            // Drawn in order (see `ascending`): every row draws its value, NULL or not, so the
            // group's values are its size's order statistics whatever the NULLs.
            for r in 0..n {
                let null = nulls && is_null(col, out.first_row + r as u64);
                let asc = ascending.get_or_insert_with(|| {
                    let base = after.map(|a| match read_ref(a, r, out, parent) {
                        Value::Ts(us) => Some(us),
                        _ => None,
                    });
                    Ascending::new(
                        out.group_rows as u64,
                        base.flatten(),
                        (model.window_start, model.window_end),
                        offset.as_ref(),
                        hourly.as_deref(),
                        weekly.as_ref(),
                    )
                });
                let v = asc.next(s);
                let parent_null =
                    after.is_some_and(|a| !matches!(read_ref(a, r, out, parent), Value::Ts(_)));
                if !null && !parent_null {
                    out.set(r, ci, Value::Ts(v));
                }
            }
            return Ok(());
        }
    }
    if let Some(length) = &col.array {
        // Each value: its element count, then that many elements from the column's generator
        // (drawn in the arena, encoded as one binary array, the elements' bytes given back).
        let mut elems = Vec::new();
        let mut payload = Vec::new();
        for r in 0..n {
            if nulls && s.unit() < col.null_fraction {
                continue;
            }
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            let mark = out.arena_mut().len();
            elems.clear();
            for _ in 0..len {
                elems.push(own_value(col, s, model, out, text_buf, room, None));
            }
            payload.clear();
            copy::array_header(&mut payload, col.sql_type.oid(), len);
            for v in &elems {
                value::encode_value(&mut payload, out, ci, *v, col.sql_type);
            }
            out.arena_mut().truncate(mark);
            let v = out.push_array(&payload);
            out.set(r, ci, v);
        }
        return Ok(());
    }
    for r in 0..n {
        if nulls && is_null(col, out.first_row + r as u64) {
            continue; // already Null
        }
        let v = match &col.gen {
            Gen::Sequence { start, step } => {
                Value::Int(start + step * (out.first_row + r as u64) as i64)
            }
            Gen::ParentKey { column } => parent.map_or(Value::Null, |p| p.values[*column]),
            Gen::Reference {
                table,
                start,
                step,
                zipf,
                popularity,
                strata,
                distinct,
            } => {
                let rows = model.tables[*table].plan.rows;
                let by_rank = |p: &crate::popularity::Popularity, u: f64| {
                    let rank = ((p.rank(u) * rows as f64) as u64).min(rows.max(1) - 1);
                    start + step * spread(rank, rows) as i64
                };
                // Popularity: row i takes the stratum (π(i) + ½) / N of the curve, so the
                // table's N rows split over the referenced rows exactly in the curve's
                // proportions (no Poisson noise: a referenced row expecting λ referrers gets
                // ⌊λ⌋ or ⌈λ⌉, never 0 when λ ≥ 1). Redraws (distinct) are random.
                let mut v = match (popularity, strata) {
                    (Some(p), Some(perm)) => {
                        let n = t.plan.rows.max(1);
                        let i = (out.first_row + r as u64).min(n - 1);
                        by_rank(p, (perm.apply(i) as f64 + 0.5) / n as f64)
                    }
                    (Some(p), None) => by_rank(p, s.unit()),
                    (None, _) => start + step * popular_index(s, rows, *zipf) as i64,
                };
                let mut pick = || match popularity {
                    Some(p) => by_rank(p, s.unit()),
                    None => start + step * popular_index(s, rows, *zipf) as i64,
                };
                if *distinct {
                    let mut tries = 0;
                    while used.contains(&v) && tries < 64 {
                        v = pick();
                        tries += 1;
                    }
                    if used.contains(&v) {
                        out.dropped[r] = true;
                        continue;
                    }
                    used.push(v);
                }
                Value::Int(v)
            }
            Gen::Pick {
                table,
                column,
                via,
                via_start,
                via_step,
                exclude,
                distinct,
            } => {
                let key = match read_ref(*via, r, out, parent) {
                    Value::Int(k) => k,
                    _ => continue,
                };
                let g = ((key - via_start) / via_step) as u64;
                ctx.ensure_group(model, *table, g)?;
                let src = ctx.slot(*table);
                let excluded: Vec<Value> = exclude
                    .iter()
                    .map(|e| read_ref(*e, r, out, parent))
                    .collect();
                let ok = |v: Value| -> bool {
                    let taken = *distinct && matches!(v, Value::Int(i) if used.contains(&i));
                    !(excluded.contains(&v) || taken)
                };
                let live: Vec<usize> = src.live_rows().collect();
                let mut chosen = None;
                if !live.is_empty() {
                    for _ in 0..16 {
                        let v = src.get(live[s.below(live.len() as u64) as usize], *column);
                        if ok(v) {
                            chosen = Some(v);
                            break;
                        }
                    }
                    if chosen.is_none() {
                        let left: Vec<Value> = live
                            .iter()
                            .map(|&i| src.get(i, *column))
                            .filter(|v| ok(*v))
                            .collect();
                        if !left.is_empty() {
                            chosen = Some(left[s.below(left.len() as u64) as usize]);
                        }
                    }
                }
                match chosen {
                    Some(v) => {
                        if let Value::Int(i) = v {
                            if *distinct {
                                used.push(i);
                            }
                        }
                        src.copy_into(*column, v, out)
                    }
                    None if *distinct => {
                        out.dropped[r] = true;
                        continue;
                    }
                    // A nullable pick with nothing to pick from is NULL.
                    None if nulls => continue,
                    None => {
                        return Err(Error::Unsupported(format!(
                            "table {}, column {}: group {} of {} has nothing to pick from; give {} a fan-out of at least one row per parent",
                            t.name, col.name, g, model.tables[*table].name, model.tables[*table].name
                        )))
                    }
                }
            }
            Gen::Earlier {
                start,
                step,
                tree: Some((fanout, zero)),
            } => {
                // A breadth-first forest per block of the group (see `TreeCursor`). A target
                // that was dropped (distinct columns) leaves the row a root.
                let rg = out.base + r;
                if rg == 0 || rg >= tree.start + tree.len {
                    let len = TREE_BLOCK.min(out.group_rows - rg);
                    tree.start(s, rg, len, fanout, *zero);
                }
                let Some(p) = tree.parent_of(rg - tree.start) else {
                    continue;
                };
                let j = tree.start + p;
                // Only groups that cannot drop rows are segmented: a target before the
                // segment is live.
                if j >= out.base && out.dropped[j - out.base] {
                    continue;
                }
                Value::Int(start + step * (out.first_row - out.base as u64 + j as u64) as i64)
            }
            Gen::Earlier { start, step, .. } => {
                // Row and target as indexes in the group (the buffer may be a segment of it).
                let rg = out.base + r;
                if rg == 0 {
                    continue;
                }
                // Recent rows are likelier targets: j = r-1-floor(r*u^3).
                let u = s.unit();
                let j = rg - 1 - ((rg as f64) * u * u * u) as usize;
                // Only groups that cannot drop rows are segmented: a target before the
                // segment is live.
                if j >= out.base && out.dropped[j - out.base] {
                    continue;
                }
                Value::Int(start + step * (out.first_row - out.base as u64 + j as u64) as i64)
            }
            Gen::Timestamp {
                after,
                offset,
                hourly,
                weekly,
                ..
            } => {
                let base = match after {
                    Some(a) => match read_ref(*a, r, out, parent) {
                        Value::Ts(us) => Some(us),
                        _ => continue,
                    },
                    None => None,
                };
                Value::Ts(timestamp(
                    s,
                    model,
                    base,
                    offset.as_ref(),
                    hourly.as_deref(),
                    weekly.as_ref(),
                    room,
                ))
            }
            Gen::Number { .. }
            | Gen::Category { .. }
            | Gen::Text { .. }
            | Gen::Boolean { .. }
            | Gen::Uuid
            | Gen::Bytes { .. }
            | Gen::Inet { .. }
            | Gen::Json { .. } => own_value(
                col,
                s,
                model,
                out,
                text_buf,
                room,
                Some(out.first_row + r as u64),
            ),
        };
        out.set(r, ci, v);
    }
    if sorts_whole(&col.gen) {
        assert!(
            out.base == 0 && out.ends_group(),
            "an ascending timestamp column is generated for its whole group"
        );
        let mut ts: Vec<i64> = (0..n)
            .filter_map(|r| match out.get(r, ci) {
                Value::Ts(v) => Some(v),
                _ => None,
            })
            .collect();
        ts.sort_unstable();
        let mut it = ts.into_iter();
        for r in 0..n {
            if let Value::Ts(_) = out.get(r, ci) {
                out.set(r, ci, Value::Ts(it.next().expect("same count")));
            }
        }
    }
    Ok(())
}

/// A value of a generator that reads nothing but its own stream (see
/// [`crate::model::element_gen`]): a column's value, or one element of an array column.
/// `row` is the table row a unique text's suffix is made from.
fn own_value(
    col: &ColumnModel,
    s: &mut Stream,
    model: &Model,
    out: &mut GroupBuf,
    text_buf: &mut String,
    room: &mut Room,
    row: Option<u64>,
) -> Value {
    match &col.gen {
        Gen::Number { dist, decimals } => {
            let q = dist.quantile(s.unit());
            if col.sql_type.is_integer() {
                Value::Int(libm::round(q) as i64)
            } else if col.sql_type == SqlType::Interval {
                Value::Int(libm::round(q * US_PER_SEC) as i64)
            } else if let Some(d) = decimals {
                let f = libm::pow(10.0, *d as f64);
                Value::Float(libm::round(q * f) / f)
            } else {
                Value::Float(q)
            }
        }
        Gen::Category { labels, cumulative } => {
            let u = s.unit();
            let i = cumulative
                .partition_point(|c| *c <= u)
                .min(labels.len() - 1);
            out.push_text(labels[i].as_bytes())
        }
        Gen::Text {
            corpus: Some(corpus),
            length,
            ..
        } => {
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            match corpus.choose(s, len) {
                Some((start, len)) => Value::Corpus { start, len },
                None => {
                    let start = out.arena_mut().len() as u32;
                    corpus.write_long(out.arena_mut(), s, len);
                    Value::Text {
                        start,
                        len: len as u32,
                    }
                }
            }
        }
        Gen::Text {
            length,
            style,
            unique,
            corpus: None,
        } => {
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            text_buf.clear();
            let suffix = if *unique { row } else { None };
            text::write(text_buf, s, len, *style, suffix);
            if *style == TextStyle::Email {
                debug_assert!(text_buf.ends_with("@example.invalid"));
            }
            out.push_text(text_buf.as_bytes())
        }
        Gen::Boolean { p } => Value::Bool(s.unit() < *p),
        Gen::Uuid => {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&s.next_u64().to_le_bytes());
            b[8..].copy_from_slice(&s.next_u64().to_le_bytes());
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            out.push_uuid(&b)
        }
        Gen::Bytes { length } => {
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            let arena = out.arena_mut();
            let start = arena.len() as u32;
            while arena.len() < start as usize + len {
                let w = s.next_u64().to_le_bytes();
                let take = (start as usize + len - arena.len()).min(8);
                arena.extend_from_slice(&w[..take]);
            }
            Value::Text {
                start,
                len: len as u32,
            }
        }
        Gen::Inet { ipv6 } => {
            let v6 = s.unit() < *ipv6;
            let bits = s.next_u64();
            if v6 {
                // 2001:db8::/32, the documentation prefix (RFC 3849).
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                a[4..12].copy_from_slice(&bits.to_le_bytes());
                a[12..].copy_from_slice(&(s.next_u64() as u32).to_le_bytes());
                out.push_text(&a)
            } else {
                // TEST-NET-1, -2 and -3 (RFC 5737), hosts 1 to 254.
                const NETS: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
                let net = NETS[(bits % 3) as usize];
                let host = 1 + ((bits >> 8) % 254) as u8;
                out.push_text(&[net[0], net[1], net[2], host])
            }
        }
        Gen::Json { length } => {
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            text_buf.clear();
            json_object(text_buf, s, len);
            out.push_text(text_buf.as_bytes())
        }
        Gen::Timestamp {
            offset,
            hourly,
            weekly,
            ..
        } => Value::Ts(timestamp(
            s,
            model,
            None,
            offset.as_ref(),
            hourly.as_deref(),
            weekly.as_ref(),
            room,
        )),
        _ => unreachable!("own_value of a generator that reads other values"),
    }
}

/// A flat JSON object of about `len` characters as PostgreSQL prints `jsonb`
/// (`{"k1": "abc", "k2": true}`: keys of equal length in order, so the text reads back
/// unchanged): up to nine keys, gibberish string values and the odd boolean. Shorter than
/// 11 characters: `{}`.
pub(crate) fn json_object(out: &mut String, s: &mut Stream, len: usize) {
    if len < 11 {
        out.push_str("{}");
        return;
    }
    // `{}` + per key `"kN": ` (6) + value, keys separated by `, ` (2).
    let keys = ((len - 2) / 24).clamp(1, 9);
    let budget = len - 2 - 6 * keys - 2 * (keys - 1);
    out.push('{');
    for k in 0..keys {
        if k > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("\"k{}\": ", k + 1));
        let width = budget / keys + usize::from(k < budget % keys);
        match width {
            4 => out.push_str("true"),
            5 => out.push_str("false"),
            w => {
                out.push('"');
                let mut word = String::new();
                text::write(
                    &mut word,
                    s,
                    w.saturating_sub(2).max(1),
                    TextStyle::Word,
                    None,
                );
                out.push_str(&word);
                out.push('"');
            }
        }
    }
    out.push('}');
}

/// A row index in [0, rows) with Zipf-like popularity (exponent `zipf`, 0 = uniform); the
/// popular ranks are spread over the key range by a fixed affine permutation.
fn popular_index(s: &mut Stream, rows: u64, zipf: f64) -> u64 {
    if rows <= 1 {
        return 0;
    }
    let u = s.unit();
    let rank = if zipf <= 0.0 {
        (u * rows as f64) as u64
    } else {
        let n = rows as f64;
        let x = if (zipf - 1.0).abs() < 1e-9 {
            libm::pow(n, u)
        } else {
            let a = 1.0 - zipf;
            libm::pow((libm::pow(n, a) - 1.0) * u + 1.0, 1.0 / a)
        };
        (x as u64).saturating_sub(1)
    }
    .min(rows - 1);
    spread(rank, rows)
}

/// Popularity rank `rank` (0 = most popular) to a row index: an affine map with a multiplier
/// coprime to `rows` is a bijection of [0, rows) that spreads hot rows over the key range.
fn spread(rank: u64, rows: u64) -> u64 {
    if rows <= 1 {
        return 0;
    }
    let mut mult = 0x9E37_79B9_7F4A_7C15u64 % rows;
    while gcd(mult, rows) != 1 {
        mult += 1;
    }
    ((rank as u128 * mult as u128 + (rows / 3) as u128) % rows as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

const US_PER_SEC: f64 = 1_000_000.0;

/// The share of an offset distribution that stays inside the window after a base time: rows
/// of a group share their base, so it is computed once per base.
#[derive(Default)]
struct Room {
    base: Option<i64>,
    u_max: Option<f64>,
}

/// A timestamp after `base` by `offset` seconds (or uniform in the window), thinned by the
/// hourly and weekday profiles. Offsets are drawn from the part of their distribution that
/// ends inside the window (inverse transform on [0, F(end - base))), so nothing piles up at
/// the window's end.
fn timestamp(
    s: &mut Stream,
    model: &Model,
    base: Option<i64>,
    offset: Option<&pgshape_core::dist::Compiled>,
    hourly: Option<&[f64; 24]>,
    weekly: Option<&[f64; 7]>,
    room: &mut Room,
) -> i64 {
    let (start, end) = (model.window_start, model.window_end);
    if room.base != base {
        room.base = base;
        room.u_max = None;
    }
    let mut candidate = 0;
    for _ in 0..64 {
        candidate = match (base, offset) {
            (Some(b), Some(d)) => {
                let u = s.unit() * room.u_max.unwrap_or(1.0);
                let c = b + (d.quantile(u) * US_PER_SEC) as i64;
                if c > end && b < end && room.u_max.is_none() {
                    // Only for bases near the window's end: find the share that fits, redraw.
                    let fit = d.cdf((end - b) as f64 / US_PER_SEC);
                    room.u_max = Some(if fit > 0.0 { fit } else { 1.0 });
                    continue;
                }
                c
            }
            _ => start + (s.unit() * (end - start) as f64) as i64,
        };
        let day = candidate.div_euclid(DAY_US);
        if let Some(h) = hourly {
            // The offset (or the window) chooses the day; the profile chooses the hour, so the
            // hour mix follows the profile whatever the offsets' shape.
            let hour = pick_weighted(h, s.unit());
            candidate =
                day * DAY_US + hour as i64 * 3_600_000_000 + (s.unit() * 3_600_000_000.0) as i64;
            if base.is_some_and(|b| candidate < b)
                || (base.is_none() && candidate < start)
                || (candidate > end && base.is_none_or(|b| b <= end))
            {
                continue;
            }
        }
        let dow = (day + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday; Monday = 0
        if weekly.is_none_or(|w| w[dow] >= 1.0 || s.unit() < w[dow]) {
            return candidate;
        }
    }
    match base {
        Some(b) => candidate.clamp(b, end.max(b)),
        None => candidate.clamp(start, end),
    }
}

const DAY_US: i64 = 86_400_000_000;

/// The index whose cumulative weight first exceeds `u` times the total.
fn pick_weighted(w: &[f64], u: f64) -> usize {
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for (i, x) in w.iter().enumerate() {
        acc += x;
        if u * total < acc {
            return i;
        }
    }
    w.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::dist::Dist;
    use pgshape_core::rng::Seed;

    #[test]
    fn a_json_object_has_the_drawn_length_and_reads_as_json() {
        let mut s = Seed::new("t").key("t", "c").stream(0);
        for len in [0, 5, 10, 11, 12, 15, 16, 30, 57, 120, 400, 3000] {
            let mut out = String::new();
            json_object(&mut out, &mut s, len);
            let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
            assert!(v.is_object(), "{out}");
            if len >= 11 {
                assert_eq!(out.len(), len, "{out}");
            } else {
                assert_eq!(out, "{}");
            }
        }
    }

    /// Blocks of every size are valid forests (each parent before its child, at least one
    /// root, every place filled) whose children per row follow the fan-out: the childless
    /// share and the roots come out of the stratified counts, not out of luck.
    #[test]
    fn tree_blocks_are_forests_with_the_fanouts_counts() {
        let fanout = Dist::Quantiles(vec![[0.0, 1.0], [0.5, 4.0], [1.0, 32.0]]);
        let compiled = Compiled::new(&fanout);
        let zero = 0.9;
        let key = Seed::new("tree").key("t", "c");
        for (g, len) in (1..40).chain([500, 1024]).enumerate() {
            let mut s = key.stream(g as u64);
            let mut t = TreeCursor::default();
            t.start(&mut s, 0, len, &compiled, zero);
            let mut children = vec![0u32; len];
            let mut roots = 0;
            for i in 0..len {
                match t.parent_of(i) {
                    Some(p) => {
                        assert!(p < i, "block {len}: row {i} under {p}");
                        children[p] += 1;
                    }
                    None => roots += 1,
                }
            }
            assert!(roots >= 1, "block {len}: no root");
            assert_eq!(t.left, 0, "block {len}: places left");
            assert_eq!(children, t.counts, "block {len}: counts kept");
            if len >= 500 {
                let childless = children.iter().filter(|&&c| c == 0).count() as f64;
                assert!((childless / len as f64 - zero).abs() < 0.002, "{childless}");
                // Roots: 1 - (1 - z) * mean fan-out, up to the rounding draws.
                let want = 1.0 - (1.0 - zero) * fanout.mean();
                let got = roots as f64 / len as f64;
                assert!((got - want).abs() < 0.02, "roots {got} vs {want}");
                let mut with: Vec<u32> = children.into_iter().filter(|&c| c > 0).collect();
                with.sort_unstable();
                let median = with[with.len() / 2] as f64;
                assert!((median - 4.0).abs() <= 1.0, "median {median}");
            }
        }
    }
}
