//! Generators that read nothing but their own stream (numbers, categories, text, booleans,
//! uuids, bytes, documentation-range addresses, json objects, timestamps without `after`):
//! a column's value, or one element of an array column.

use pgshape_core::copy;
use pgshape_core::dist::Compiled;
use pgshape_core::rng::Stream;
use pgshape_core::spec::{SqlType, TextStyle};

use super::time::{timestamp, Room};
use super::{Col, ColState};
use crate::engine::model::{ColumnModel, Gen, Model};
use crate::engine::text;
use crate::engine::value::{self, GroupBuf, Value};

const US_PER_SEC: f64 = 1_000_000.0;

/// A value of a generator that reads nothing but its own stream (see
/// `model::element_gen`): a column's value, or one element of an array column.
/// `row` is the table row a unique text's suffix is made from.
pub(super) fn own_value(
    col: &ColumnModel,
    s: &mut Stream,
    model: &Model,
    out: &mut GroupBuf,
    text_buf: &mut String,
    room: &mut Room,
    row: Option<u64>,
) -> Value {
    match &col.gen {
        Gen::Number { dist, decimals } => number(dist.quantile(s.unit()), col.sql_type, *decimals),
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
        } => corpus_text(corpus, length, s, out),
        Gen::Text {
            length,
            style,
            unique,
            corpus: None,
        } => {
            let suffix = if *unique { row } else { None };
            own_text(length, *style, suffix, s, out, text_buf)
        }
        Gen::Boolean { p } => Value::Bool(s.unit() < *p),
        Gen::Uuid => uuid(s, out),
        Gen::Bytes { length } => {
            let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
            bytes(s, out, len)
        }
        Gen::Inet { ipv6 } => inet(s, out, *ipv6),
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

/// Sentence text of a length drawn from `length`, cut from the column's corpus (or written
/// out when longer than any cut).
pub(super) fn corpus_text(
    corpus: &text::Corpus,
    length: &Compiled,
    s: &mut Stream,
    out: &mut GroupBuf,
) -> Value {
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

/// Text of a length drawn from `length` in `style` (a unique text ends with `suffix`, made
/// from its row).
fn own_text(
    length: &Compiled,
    style: TextStyle,
    suffix: Option<u64>,
    s: &mut Stream,
    out: &mut GroupBuf,
    text_buf: &mut String,
) -> Value {
    let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
    text_buf.clear();
    text::write(text_buf, s, len, style, suffix);
    if style == TextStyle::Email {
        debug_assert!(text_buf.ends_with("@example.invalid"));
    }
    out.push_text(text_buf.as_bytes())
}

/// A number drawn at `q`, as its column type holds it: integers rounded, intervals in
/// microseconds, decimals rounded to `decimals` places.
fn number(q: f64, sql_type: SqlType, decimals: Option<u32>) -> Value {
    if sql_type.is_integer() {
        Value::Int(libm::round(q) as i64)
    } else if sql_type == SqlType::Interval {
        Value::Int(libm::round(q * US_PER_SEC) as i64)
    } else if let Some(d) = decimals {
        let f = libm::pow(10.0, d as f64);
        Value::Float(libm::round(q * f) / f)
    } else {
        Value::Float(q)
    }
}

/// A version-4 UUID from two draws.
fn uuid(s: &mut Stream, out: &mut GroupBuf) -> Value {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&s.next_u64().to_le_bytes());
    b[8..].copy_from_slice(&s.next_u64().to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    out.push_uuid(&b)
}

/// `len` random bytes in the arena.
fn bytes(s: &mut Stream, out: &mut GroupBuf, len: usize) -> Value {
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

/// A documentation address: IPv6 with probability `ipv6`.
fn inet(s: &mut Stream, out: &mut GroupBuf, ipv6: f64) -> Value {
    let v6 = s.unit() < ipv6;
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

/// An array column: per value its element count, then that many elements from the column's
/// generator (drawn in the arena, encoded as one binary array, the elements' bytes given back).
pub(super) fn array(c: &Col<'_>, length: &Compiled, out: &mut GroupBuf, st: &mut ColState) {
    let col = c.col;
    let s = &mut st.s;
    let mut elems = Vec::new();
    let mut payload = Vec::new();
    for r in 0..out.rows {
        if c.nulls && s.unit() < col.null_fraction {
            continue;
        }
        let len = libm::round(length.quantile(s.unit())).max(0.0) as usize;
        let mark = out.arena_mut().len();
        elems.clear();
        for _ in 0..len {
            elems.push(own_value(
                col,
                s,
                c.model,
                out,
                &mut st.text_buf,
                &mut st.room,
                None,
            ));
        }
        payload.clear();
        copy::array_header(&mut payload, col.sql_type.oid(), len);
        for v in &elems {
            value::encode_value(&mut payload, out, c.ci, *v, col.sql_type);
        }
        out.arena_mut().truncate(mark);
        let v = out.push_array(&payload);
        out.set(r, c.ci, v);
    }
}
