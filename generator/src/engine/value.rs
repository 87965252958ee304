//! Cell values of a generated group and their COPY encodings.
//!
//! A group is stored column by column; a column the caller did not ask for (cursors walking a
//! parent generate only what children read) allocates nothing. A value is 16 bytes: bytes live
//! in the group's arena, and sentence text is a reference into its column's corpus, so even a
//! conversation of 150,000 messages costs a few megabytes.

use std::sync::Arc;

use pgshape_core::copy;
use pgshape_core::spec::SqlType;

use super::key::KeyRender;
use super::nulls::NullCache;
use super::text::Corpus;

/// One cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Microseconds since the Unix epoch.
    Ts(i64),
    /// Bytes of the group's arena.
    Text {
        start: u32,
        len: u32,
    },
    /// A sentence cut from the column's corpus (see `text::Corpus::append`).
    Corpus {
        start: u32,
        len: u32,
    },
    /// 16 bytes of the group's arena.
    Uuid {
        start: u32,
    },
    /// A one-dimensional array in the group's arena, as its binary COPY value (header and
    /// elements, without the field length).
    Array {
        start: u32,
        len: u32,
    },
}

/// The rows of one group, or of one segment of a large group (see
/// `group::GroupGen`): rows `base..base + rows` of the group's `group_rows`.
#[derive(Default, Clone)]
pub struct GroupBuf {
    pub group: u64,
    /// The table row index of the buffer's first row.
    pub first_row: u64,
    pub rows: usize,
    /// Where the buffer starts in its group, and the group's size.
    pub base: usize,
    pub group_rows: usize,
    columns: Vec<Vec<Value>>,
    arena: Vec<u8>,
    corpora: Vec<Option<Arc<Corpus>>>,
    /// Rows cut by a distinct pick or reference that ran out of values.
    dropped: Vec<bool>,
    /// How many of `dropped` are set.
    dropped_count: usize,
    /// The NULL rows of the current block of each nullable column (kept across groups: a
    /// thread fills consecutive rows).
    pub null_cache: NullCache,
}

impl GroupBuf {
    /// Clears and sizes the buffer for a whole group of `rows` rows; columns outside `mask`
    /// stay empty (NULL).
    pub fn reset(
        &mut self,
        group: u64,
        first_row: u64,
        rows: usize,
        corpora: &[Option<Arc<Corpus>>],
        mask: Option<&[bool]>,
    ) {
        self.group = group;
        self.first_row = first_row;
        self.rows = rows;
        self.base = 0;
        self.group_rows = rows;
        self.columns.resize_with(corpora.len(), Vec::new);
        for (c, col) in self.columns.iter_mut().enumerate() {
            col.clear();
            if mask.is_none_or(|m| m[c]) {
                col.resize(rows, Value::Null);
            }
        }
        // The buffer may have held another table's rows (a thread reuses it across chunks).
        let same = self.corpora.len() == corpora.len()
            && self.corpora.iter().zip(corpora).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            });
        if !same {
            self.corpora = corpora.to_vec();
        }
        self.arena.clear();
        self.dropped.clear();
        self.dropped.resize(rows, false);
        self.dropped_count = 0;
    }

    /// Cuts row `row` (a distinct pick or reference ran out of values).
    pub fn drop_row(&mut self, row: usize) {
        if !self.dropped[row] {
            self.dropped[row] = true;
            self.dropped_count += 1;
        }
    }

    /// Whether row `row` was cut.
    pub fn is_dropped(&self, row: usize) -> bool {
        self.dropped[row]
    }

    /// Whether the buffer holds the last rows of its group (always so for a whole group).
    pub fn ends_group(&self) -> bool {
        self.base + self.rows == self.group_rows
    }

    /// Columns of the buffer.
    pub fn cols(&self) -> usize {
        self.columns.len()
    }

    /// The value at (row, col); NULL for a column that was not generated.
    #[inline]
    pub fn get(&self, row: usize, col: usize) -> Value {
        self.columns[col].get(row).copied().unwrap_or(Value::Null)
    }

    #[inline]
    pub fn set(&mut self, row: usize, col: usize, v: Value) {
        self.columns[col][row] = v;
    }

    /// Appends bytes to the arena and returns their text value.
    pub fn push_text(&mut self, s: &[u8]) -> Value {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(s);
        Value::Text {
            start,
            len: s.len() as u32,
        }
    }

    /// Appends a UUID to the arena and returns its value.
    pub fn push_uuid(&mut self, u: &[u8; 16]) -> Value {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(u);
        Value::Uuid { start }
    }

    /// Appends a binary array value to the arena and returns it.
    pub fn push_array(&mut self, payload: &[u8]) -> Value {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(payload);
        Value::Array {
            start,
            len: payload.len() as u32,
        }
    }

    /// The arena, for generators that write text in place.
    pub fn arena_mut(&mut self) -> &mut Vec<u8> {
        &mut self.arena
    }

    /// The byte length of a text value of column `col`.
    pub fn text_len(&self, v: Value) -> usize {
        match v {
            Value::Text { len, .. } | Value::Corpus { len, .. } | Value::Array { len, .. } => {
                len as usize
            }
            _ => 0,
        }
    }

    /// Appends the bytes of a text, corpus or UUID value of column `col` to `out`.
    pub fn append_bytes(&self, col: usize, v: Value, out: &mut Vec<u8>) {
        match v {
            Value::Text { start, len } | Value::Array { start, len } => {
                out.extend_from_slice(&self.arena[start as usize..(start + len) as usize])
            }
            Value::Corpus { start, len } => self.corpora[col]
                .as_ref()
                .expect("corpus value of a corpus column")
                .append(out, start, len),
            Value::Uuid { start } => {
                out.extend_from_slice(&self.arena[start as usize..start as usize + 16])
            }
            _ => {}
        }
    }

    /// Copies value `v` of column `col` of this buffer into `dst`, re-homing arena bytes.
    #[inline]
    pub fn copy_into(&self, col: usize, v: Value, dst: &mut GroupBuf) -> Value {
        match v {
            Value::Text { .. }
            | Value::Corpus { .. }
            | Value::Uuid { .. }
            | Value::Array { .. } => self.copy_bytes_into(col, v, dst),
            v => v,
        }
    }

    /// [`Self::copy_into`] of a value with bytes.
    fn copy_bytes_into(&self, col: usize, v: Value, dst: &mut GroupBuf) -> Value {
        match v {
            Value::Text { .. } | Value::Corpus { .. } => {
                let start = dst.arena.len() as u32;
                self.append_bytes(col, v, &mut dst.arena);
                Value::Text {
                    start,
                    len: dst.arena.len() as u32 - start,
                }
            }
            Value::Uuid { start } => {
                let mut u = [0u8; 16];
                u.copy_from_slice(&self.arena[start as usize..start as usize + 16]);
                dst.push_uuid(&u)
            }
            Value::Array { .. } => {
                let start = dst.arena.len() as u32;
                self.append_bytes(col, v, &mut dst.arena);
                Value::Array {
                    start,
                    len: dst.arena.len() as u32 - start,
                }
            }
            v => v,
        }
    }

    /// Rows that were not dropped.
    pub fn live_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|&r| !self.dropped[r])
    }

    /// The values of column `col` in the rows that were not dropped (none for a column that
    /// was not generated).
    pub fn live_values(&self, col: usize) -> impl Iterator<Item = Value> + '_ {
        let values = &self.columns[col];
        let dropped = &self.dropped[..values.len().min(self.dropped.len())];
        values
            .iter()
            .zip(dropped)
            .filter(move |(_, d)| self.dropped_count == 0 || !**d)
            .map(|(v, _)| *v)
    }

    /// How many rows were not dropped.
    pub fn live_count(&self) -> usize {
        self.rows - self.dropped_count
    }

    /// The `i`-th row that was not dropped (`i < live_count()`): `i` itself when none was,
    /// so a pick into a whole group costs no scan and no allocation.
    pub fn nth_live(&self, i: usize) -> usize {
        if self.dropped_count == 0 {
            i
        } else {
            self.live_rows().nth(i).expect("i < live_count()")
        }
    }
}

/// One row copied out of a group (a parent row held while its children are generated). Only
/// scalar values are kept: children read keys and timestamps of their parent, never its text.
#[derive(Default, Clone)]
pub struct RowCopy {
    pub values: Vec<Value>,
    /// The row's index in its table.
    pub index: u64,
}

impl RowCopy {
    /// Copies row `row` of `buf` (text, corpus and UUID values become NULL).
    pub fn fill(&mut self, buf: &GroupBuf, row: usize) {
        self.values.clear();
        self.index = buf.first_row + row as u64;
        self.values
            .extend((0..buf.cols()).map(|c| match buf.get(row, c) {
                Value::Text { .. }
                | Value::Corpus { .. }
                | Value::Uuid { .. }
                | Value::Array { .. } => Value::Null,
                v => v,
            }));
    }
}

/// How a column is encoded: its type, and the rendering of the key numbers it carries.
#[derive(Clone, Debug)]
pub struct Encoding {
    pub sql_type: SqlType,
    pub render: Option<Arc<KeyRender>>,
    /// The common cases, resolved once per table rather than per cell.
    fast: Fast,
}

/// A column's common binary encoding, written without going through [`encode_value`]'s
/// dispatch on value and type (the same bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fast {
    /// `bigint` numbers (not rendered as text or UUIDs).
    Int8,
    /// `timestamptz` and `timestamp`.
    Time,
    /// `text` and `varchar` bytes.
    Text,
    Other,
}

impl Encoding {
    /// The encoding of a column of type `sql_type` whose key numbers are written by `render`.
    pub fn new(sql_type: SqlType, render: Option<Arc<KeyRender>>) -> Encoding {
        let fast = match sql_type {
            SqlType::Bigint if render.is_none() => Fast::Int8,
            SqlType::Timestamptz | SqlType::Timestamp => Fast::Time,
            SqlType::Text | SqlType::Varchar => Fast::Text,
            _ => Fast::Other,
        };
        Encoding {
            sql_type,
            render,
            fast,
        }
    }

    /// The encodings of a table's columns.
    pub fn of(columns: &[super::model::ColumnModel]) -> Vec<Encoding> {
        columns
            .iter()
            .map(|c| Encoding::new(c.sql_type, c.render.clone()))
            .collect()
    }
}

/// A binary COPY field of 8 bytes (its length, then `v` big-endian), in one append.
#[inline]
fn field8(out: &mut Vec<u8>, v: i64) {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&8i32.to_be_bytes());
    b[4..].copy_from_slice(&v.to_be_bytes());
    out.extend_from_slice(&b);
}

/// Appends row `row` of `buf` in binary COPY format.
pub fn encode_binary(out: &mut Vec<u8>, buf: &GroupBuf, row: usize, cols: &[Encoding]) {
    out.extend_from_slice(&(cols.len() as i16).to_be_bytes()); // copy::row, inlined
    for (c, e) in cols.iter().enumerate() {
        match buf.get(row, c) {
            Value::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Value::Int(v) => match e.render.as_deref() {
                Some(r) => encode_key(out, r, v),
                None if e.fast == Fast::Int8 => field8(out, v),
                None => encode_value(out, buf, c, Value::Int(v), e.sql_type),
            },
            Value::Ts(us) if e.fast == Fast::Time => field8(out, us - copy::PG_EPOCH_OFFSET_MICROS),
            v @ (Value::Text { len, .. } | Value::Corpus { len, .. }) if e.fast == Fast::Text => {
                out.extend_from_slice(&(len as i32).to_be_bytes());
                buf.append_bytes(c, v, out);
            }
            v => encode_value(out, buf, c, v, e.sql_type),
        }
    }
}

/// Appends key number `v` rendered as text or a UUID (a `sequence` with a format, or a column
/// carrying one) as a binary COPY field.
fn encode_key(out: &mut Vec<u8>, r: &KeyRender, v: i64) {
    if r.is_text() {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        r.write_text(v, out);
        let len = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    } else {
        out.extend_from_slice(&16i32.to_be_bytes());
        out.extend_from_slice(&r.uuid_bytes(v));
    }
}

/// Appends one value of column `c` (of type `t`, or an array of `t`) as a binary COPY field.
pub fn encode_value(out: &mut Vec<u8>, buf: &GroupBuf, c: usize, v: Value, t: SqlType) {
    match v {
        Value::Null => copy::null(out),
        Value::Int(v) => match t {
            SqlType::Bigint => copy::int8(out, v),
            SqlType::Integer => copy::int4(out, v as i32),
            SqlType::Smallint => copy::int2(out, v as i16),
            SqlType::Double => copy::float8(out, v as f64),
            SqlType::Real => copy::float4(out, v as f32),
            SqlType::Numeric => {
                copy::numeric(out, &v.to_string()).expect("an integer is a decimal")
            }
            SqlType::Interval => copy::interval(out, v),
            _ => copy::int8(out, v),
        },
        Value::Float(v) => match t {
            SqlType::Real => copy::float4(out, v as f32),
            SqlType::Numeric => {
                // Display never uses an exponent: the shortest decimal that reads back as v.
                copy::numeric(out, &numeric_text(v)).expect("a finite float is a decimal")
            }
            _ => copy::float8(out, v),
        },
        Value::Bool(v) => copy::boolean(out, v),
        Value::Ts(us) => match t {
            SqlType::Date => copy::date(out, us.div_euclid(86_400_000_000) as i32),
            _ => copy::timestamp(out, us),
        },
        v @ (Value::Text { .. } | Value::Corpus { .. } | Value::Array { .. }) => {
            let len = buf.text_len(v);
            match t {
                SqlType::Jsonb if !matches!(v, Value::Array { .. }) => {
                    out.extend_from_slice(&(len as i32 + 1).to_be_bytes());
                    out.push(1);
                }
                SqlType::Inet if !matches!(v, Value::Array { .. }) => {
                    // `copy::inet`'s layout, the address straight from the arena.
                    out.extend_from_slice(&(len as i32 + 4).to_be_bytes());
                    let v6 = len == 16;
                    out.extend_from_slice(&[
                        if v6 { 3 } else { 2 },
                        if v6 { 128 } else { 32 },
                        0,
                        len as u8,
                    ]);
                }
                _ => out.extend_from_slice(&(len as i32).to_be_bytes()),
            }
            buf.append_bytes(c, v, out);
        }
        v @ Value::Uuid { .. } => {
            out.extend_from_slice(&16i32.to_be_bytes());
            buf.append_bytes(c, v, out);
        }
    }
}

/// A finite float as plain decimal text (no exponent).
fn numeric_text(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    format!("{v}")
}

/// Appends row `row` of `buf` as a CSV line (NULL is an empty unquoted field).
pub fn encode_csv(
    out: &mut Vec<u8>,
    buf: &GroupBuf,
    row: usize,
    cols: &[Encoding],
    scratch: &mut Vec<u8>,
) {
    use std::io::Write;
    for (c, e) in cols.iter().enumerate() {
        let t = &e.sql_type;
        if c > 0 {
            out.push(b',');
        }
        let v = buf.get(row, c);
        if v == Value::Null {
            continue;
        }
        scratch.clear();
        match (v, *t) {
            // Keys rendered as text or UUIDs.
            (Value::Int(v), t) if e.render.is_some() => {
                let r = e.render.as_deref().expect("checked");
                if r.is_text() {
                    r.write_text(v, scratch);
                } else {
                    value_text(scratch, &r.uuid_bytes(v), t);
                }
            }
            // The common cases straight to text.
            (Value::Int(v), t) if t.is_integer() => {
                let _ = write!(out, "{v}");
                continue;
            }
            (Value::Text { .. } | Value::Corpus { .. }, t) if t.is_text() => {
                buf.append_bytes(c, v, scratch);
            }
            (Value::Array { .. }, t) => {
                let mut bytes = Vec::new();
                buf.append_bytes(c, v, &mut bytes);
                array_text(scratch, &bytes, t);
            }
            // The others through their binary form (one definition of each type's value).
            (v, t) => {
                let mut bin = Vec::new();
                encode_value(&mut bin, buf, c, v, t);
                value_text(scratch, &bin[4..], t);
            }
        }
        copy::csv_field(out, scratch);
    }
    out.push(b'\n');
}

/// PostgreSQL's text form of a binary value of type `t` (what COPY's CSV format reads).
fn value_text(out: &mut Vec<u8>, bin: &[u8], t: SqlType) {
    use std::io::Write;
    let i64_at = |b: &[u8]| i64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
    let _ = match t {
        SqlType::Bigint => write!(out, "{}", i64_at(bin)),
        SqlType::Integer => write!(out, "{}", i32::from_be_bytes(bin[..4].try_into().unwrap())),
        SqlType::Smallint => write!(out, "{}", i16::from_be_bytes(bin[..2].try_into().unwrap())),
        SqlType::Double => write!(out, "{:?}", f64::from_bits(i64_at(bin) as u64)),
        SqlType::Real => write!(
            out,
            "{:?}",
            f32::from_bits(u32::from_be_bytes(bin[..4].try_into().unwrap()))
        ),
        SqlType::Boolean => write!(out, "{}", if bin[0] != 0 { 't' } else { 'f' }),
        SqlType::Timestamptz | SqlType::Timestamp => {
            let us = i64_at(bin) + copy::PG_EPOCH_OFFSET_MICROS;
            let dt = chrono::DateTime::from_timestamp_micros(us).unwrap_or_default();
            if t == SqlType::Timestamp {
                write!(out, "{}", dt.format("%Y-%m-%d %H:%M:%S%.6f"))
            } else {
                write!(out, "{}", dt.format("%Y-%m-%d %H:%M:%S%.6f+00"))
            }
        }
        SqlType::Date => {
            let days =
                i32::from_be_bytes(bin[..4].try_into().unwrap()) + copy::PG_EPOCH_OFFSET_DAYS;
            let dt = chrono::DateTime::from_timestamp(days as i64 * 86_400, 0).unwrap_or_default();
            write!(out, "{}", dt.format("%Y-%m-%d"))
        }
        SqlType::Uuid => {
            let h = hex::encode(&bin[..16]);
            write!(
                out,
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        SqlType::Numeric => write!(out, "{}", copy::numeric_text(bin).unwrap_or_default()),
        SqlType::Interval => write!(out, "{} microseconds", i64_at(bin)),
        SqlType::Bytea => write!(out, "\\x{}", hex::encode(bin)),
        SqlType::Inet => {
            let addr = &bin[4..];
            if addr.len() == 16 {
                let a: [u8; 16] = addr.try_into().unwrap();
                write!(out, "{}", std::net::Ipv6Addr::from(a))
            } else {
                write!(out, "{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3])
            }
        }
        SqlType::Jsonb => out.write_all(&bin[1..]),
        SqlType::Text | SqlType::Varchar => out.write_all(bin),
    };
}

/// The text form `{a,"b c"}` of a binary one-dimensional array of `t`.
fn array_text(out: &mut Vec<u8>, bin: &[u8], t: SqlType) {
    let i32_at = |i: usize| i32::from_be_bytes(bin[i..i + 4].try_into().unwrap());
    let ndim = i32_at(0);
    let n = if ndim == 0 { 0 } else { i32_at(12) as usize };
    let mut at = if ndim == 0 { 12 } else { 20 };
    out.push(b'{');
    let mut elem = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        let len = i32_at(at) as usize;
        elem.clear();
        value_text(&mut elem, &bin[at + 4..at + 4 + len], t);
        at += 4 + len;
        out.push(b'"');
        for &b in &elem {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    /// A thread reuses one buffer for the chunks of every table: a reset for another table
    /// with as many columns takes that table's corpora.
    #[test]
    fn a_reset_for_another_table_takes_its_corpora() {
        let mut s = pgshape_core::rng::Seed::new("t").key("t", "c").stream(0);
        let corpus = Some(Arc::new(Corpus::new(&mut s)));
        let mut buf = GroupBuf::default();
        buf.reset(0, 0, 4, &[None, corpus.clone()], None);
        assert!(buf.corpora[1].is_some());
        buf.reset(0, 0, 4, &[corpus.clone(), None], None);
        assert!(buf.corpora[0].is_some() && buf.corpora[1].is_none());
        let other = Some(Arc::new(Corpus::new(&mut s)));
        buf.reset(0, 0, 4, &[None, other.clone()], None);
        assert!(Arc::ptr_eq(
            buf.corpora[1].as_ref().unwrap(),
            other.as_ref().unwrap()
        ));
    }
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn new_types_in_csv() {
        let mut buf = GroupBuf::default();
        buf.reset(0, 0, 1, &[None, None, None, None, None, None], None);
        buf.set(0, 0, Value::Float(-12.5));
        let a = buf.push_text(&[198, 51, 100, 9]);
        buf.set(0, 1, a);
        let b = buf.push_text(&[0xde, 0xad]);
        buf.set(0, 2, b);
        buf.set(0, 3, Value::Int(90_000_000));
        let mut payload = Vec::new();
        copy::array_header(&mut payload, 25, 2);
        copy::bytes(&mut payload, b"a,b");
        copy::bytes(&mut payload, b"q\"");
        let arr = buf.push_array(&payload);
        buf.set(0, 4, arr);
        let j = buf.push_text(br#"{"k1": true}"#);
        buf.set(0, 5, j);
        let types = [
            SqlType::Numeric,
            SqlType::Inet,
            SqlType::Bytea,
            SqlType::Interval,
            SqlType::Text,
            SqlType::Jsonb,
        ]
        .map(|sql_type| Encoding::new(sql_type, None));
        let mut out = Vec::new();
        encode_csv(&mut out, &buf, 0, &types, &mut Vec::new());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-12.5,198.51.100.9,\\xdead,90000000 microseconds,\"{\"\"a,b\"\",\"\"q\\\"\"\"\"}\",\"{\"\"k1\"\": true}\"\n"
        );
        // The binary row: numeric, inet with its header, bytea raw, interval, array, jsonb v1.
        let mut bin = Vec::new();
        encode_binary(&mut bin, &buf, 0, &types);
        let mut want = 6i16.to_be_bytes().to_vec();
        copy::numeric(&mut want, "-12.5").unwrap();
        copy::inet(&mut want, &[198, 51, 100, 9]);
        copy::bytes(&mut want, &[0xde, 0xad]);
        copy::interval(&mut want, 90_000_000);
        copy::bytes(&mut want, &payload);
        copy::jsonb(&mut want, r#"{"k1": true}"#);
        assert_eq!(bin, want);
    }
}
