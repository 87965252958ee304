//! Cell values of a generated group and their COPY encodings.

use pgshape_core::copy;
use pgshape_core::spec::SqlType;

/// One cell. Text lives in the group's arena; the value holds its byte range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Microseconds since the Unix epoch.
    Ts(i64),
    Text {
        start: u32,
        len: u32,
    },
    Uuid([u8; 16]),
}

/// The rows of one group, column-major generation into row-major storage.
#[derive(Default, Clone)]
pub struct GroupBuf {
    pub group: u64,
    pub first_row: u64,
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<Value>,
    pub arena: String,
    /// Rows cut by a distinct pick or reference that ran out of values.
    pub dropped: Vec<bool>,
}

impl GroupBuf {
    /// Clears and sizes the buffer for `rows` rows of `cols` columns.
    pub fn reset(&mut self, group: u64, first_row: u64, rows: usize, cols: usize) {
        self.group = group;
        self.first_row = first_row;
        self.rows = rows;
        self.cols = cols;
        self.values.clear();
        // Exact, not doubling: one huge group must not pin twice its size for the whole run.
        self.values.reserve_exact(rows * cols);
        self.values.resize(rows * cols, Value::Null);
        self.arena.clear();
        self.dropped.clear();
        self.dropped.resize(rows, false);
    }

    #[inline]
    pub fn get(&self, row: usize, col: usize) -> Value {
        self.values[row * self.cols + col]
    }

    #[inline]
    pub fn set(&mut self, row: usize, col: usize, v: Value) {
        self.values[row * self.cols + col] = v;
    }

    /// The text of a `Value::Text` of this buffer.
    #[inline]
    pub fn text(&self, v: Value) -> &str {
        match v {
            Value::Text { start, len } => &self.arena[start as usize..(start + len) as usize],
            _ => "",
        }
    }

    /// Appends text to the arena and returns its value.
    pub fn push_text(&mut self, s: &str) -> Value {
        let start = self.arena.len() as u32;
        self.arena.push_str(s);
        Value::Text {
            start,
            len: s.len() as u32,
        }
    }

    /// Rows that were not dropped.
    pub fn live_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|&r| !self.dropped[r])
    }
}

/// One row copied out of a group (a parent row held while its children are generated).
#[derive(Default, Clone)]
pub struct RowCopy {
    pub values: Vec<Value>,
    pub arena: String,
    /// The row's index in its table.
    pub index: u64,
}

impl RowCopy {
    /// Copies row `row` of `buf`.
    pub fn fill(&mut self, buf: &GroupBuf, row: usize) {
        self.values.clear();
        self.arena.clear();
        self.index = buf.first_row + row as u64;
        for c in 0..buf.cols {
            let v = buf.get(row, c);
            let v = match v {
                Value::Text { .. } => {
                    let start = self.arena.len() as u32;
                    self.arena.push_str(buf.text(v));
                    Value::Text {
                        start,
                        len: self.arena.len() as u32 - start,
                    }
                }
                v => v,
            };
            self.values.push(v);
        }
    }

    /// The text of a `Value::Text` of this row.
    pub fn text(&self, v: Value) -> &str {
        match v {
            Value::Text { start, len } => &self.arena[start as usize..(start + len) as usize],
            _ => "",
        }
    }
}

/// Appends row `row` of `buf` in binary COPY format.
pub fn encode_binary(out: &mut Vec<u8>, buf: &GroupBuf, row: usize, types: &[SqlType]) {
    copy::row(out, types.len() as u16);
    for (c, t) in types.iter().enumerate() {
        match buf.get(row, c) {
            Value::Null => copy::null(out),
            Value::Int(v) => match t {
                SqlType::Bigint => copy::int8(out, v),
                SqlType::Integer => copy::int4(out, v as i32),
                SqlType::Smallint => copy::int2(out, v as i16),
                SqlType::Double => copy::float8(out, v as f64),
                SqlType::Real => copy::float4(out, v as f32),
                _ => copy::int8(out, v),
            },
            Value::Float(v) => match t {
                SqlType::Real => copy::float4(out, v as f32),
                _ => copy::float8(out, v),
            },
            Value::Bool(v) => copy::boolean(out, v),
            Value::Ts(us) => match t {
                SqlType::Date => copy::date(out, us.div_euclid(86_400_000_000) as i32),
                _ => copy::timestamp(out, us),
            },
            v @ Value::Text { .. } => copy::bytes(out, buf.text(v).as_bytes()),
            Value::Uuid(u) => copy::uuid(out, &u),
        }
    }
}

/// Appends row `row` of `buf` as a CSV line (NULL is an empty unquoted field).
pub fn encode_csv(out: &mut Vec<u8>, buf: &GroupBuf, row: usize, types: &[SqlType]) {
    use std::io::Write;
    for (c, t) in types.iter().enumerate() {
        if c > 0 {
            out.push(b',');
        }
        match buf.get(row, c) {
            Value::Null => {}
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Float(v) => {
                let _ = write!(out, "{v:?}");
            }
            Value::Bool(v) => out.push(if v { b't' } else { b'f' }),
            Value::Ts(us) => {
                let dt = chrono::DateTime::from_timestamp_micros(us).unwrap_or_default();
                let _ = match t {
                    SqlType::Date => write!(out, "{}", dt.format("%Y-%m-%d")),
                    SqlType::Timestamp => write!(out, "{}", dt.format("%Y-%m-%d %H:%M:%S%.6f")),
                    _ => write!(out, "{}", dt.format("%Y-%m-%d %H:%M:%S%.6f+00")),
                };
            }
            v @ Value::Text { .. } => copy::csv_field(out, buf.text(v)),
            Value::Uuid(u) => {
                let h = hex::encode(u);
                let _ = write!(
                    out,
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                );
            }
        }
    }
    out.push(b'\n');
}
