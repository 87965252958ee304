//! Cell values of a generated group and their COPY encodings.
//!
//! A group is stored column by column; a column the caller did not ask for (cursors walking a
//! parent generate only what children read) allocates nothing. A value is 16 bytes: bytes live
//! in the group's arena, and sentence text is a reference into its column's corpus, so even a
//! conversation of 150,000 messages costs a few megabytes.

use std::sync::Arc;

use pgshape_core::copy;
use pgshape_core::spec::SqlType;

use crate::key::KeyRender;
use crate::text::Corpus;

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
    /// A sentence cut from the column's corpus (see [`Corpus::append`]).
    Corpus {
        start: u32,
        len: u32,
    },
    /// 16 bytes of the group's arena.
    Uuid {
        start: u32,
    },
}

/// The rows of one group, or of one segment of a large group (see
/// [`crate::engine::GroupGen`]): rows `base..base + rows` of the group's `group_rows`.
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
    pub dropped: Vec<bool>,
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
        if self.corpora.len() != corpora.len() {
            self.corpora = corpora.to_vec();
        }
        self.arena.clear();
        self.dropped.clear();
        self.dropped.resize(rows, false);
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

    /// The arena, for generators that write text in place.
    pub fn arena_mut(&mut self) -> &mut Vec<u8> {
        &mut self.arena
    }

    /// The byte length of a text value of column `col`.
    pub fn text_len(&self, v: Value) -> usize {
        match v {
            Value::Text { len, .. } | Value::Corpus { len, .. } => len as usize,
            _ => 0,
        }
    }

    /// Appends the bytes of a text, corpus or UUID value of column `col` to `out`.
    pub fn append_bytes(&self, col: usize, v: Value, out: &mut Vec<u8>) {
        match v {
            Value::Text { start, len } => {
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
    pub fn copy_into(&self, col: usize, v: Value, dst: &mut GroupBuf) -> Value {
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
            v => v,
        }
    }

    /// Rows that were not dropped.
    pub fn live_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|&r| !self.dropped[r])
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
                Value::Text { .. } | Value::Corpus { .. } | Value::Uuid { .. } => Value::Null,
                v => v,
            }));
    }
}

/// How a column is encoded: its type, and the rendering of the key numbers it carries.
#[derive(Clone, Debug)]
pub struct Encoding {
    pub sql_type: SqlType,
    pub render: Option<Arc<KeyRender>>,
}

impl Encoding {
    /// The encodings of a table's columns.
    pub fn of(columns: &[crate::model::ColumnModel]) -> Vec<Encoding> {
        columns
            .iter()
            .map(|c| Encoding {
                sql_type: c.sql_type,
                render: c.render.clone(),
            })
            .collect()
    }
}

/// Appends row `row` of `buf` in binary COPY format.
pub fn encode_binary(out: &mut Vec<u8>, buf: &GroupBuf, row: usize, cols: &[Encoding]) {
    copy::row(out, cols.len() as u16);
    for (c, e) in cols.iter().enumerate() {
        let t = &e.sql_type;
        match buf.get(row, c) {
            Value::Null => copy::null(out),
            Value::Int(v) if e.render.is_some() => {
                let r = e.render.as_deref().expect("checked");
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
            v @ (Value::Text { .. } | Value::Corpus { .. }) => {
                out.extend_from_slice(&(buf.text_len(v) as i32).to_be_bytes());
                buf.append_bytes(c, v, out);
            }
            v @ Value::Uuid { .. } => {
                out.extend_from_slice(&16i32.to_be_bytes());
                buf.append_bytes(c, v, out);
            }
        }
    }
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
        match buf.get(row, c) {
            Value::Null => {}
            Value::Int(v) if e.render.is_some() => {
                let r = e.render.as_deref().expect("checked");
                if r.is_text() {
                    scratch.clear();
                    r.write_text(v, scratch);
                    copy::csv_field(out, scratch);
                } else {
                    write_uuid(out, &r.uuid_bytes(v));
                }
            }
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
            v @ (Value::Text { .. } | Value::Corpus { .. }) => {
                scratch.clear();
                buf.append_bytes(c, v, scratch);
                copy::csv_field(out, scratch);
            }
            v @ Value::Uuid { .. } => {
                scratch.clear();
                buf.append_bytes(c, v, scratch);
                write_uuid(out, &scratch[..]);
            }
        }
    }
    out.push(b'\n');
}

/// A UUID's 16 bytes in their text form.
fn write_uuid(out: &mut Vec<u8>, b: &[u8]) {
    use std::io::Write;
    let h = hex::encode(b);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }
}
