//! PostgreSQL COPY encodings: the binary format (`COPY ... (FORMAT binary)`) and CSV.
//!
//! Binary layout (see the PostgreSQL docs, "COPY file formats"): the 11-byte signature
//! `PGCOPY\n\xff\r\n\0`, an i32 flags field and an i32 header-extension length (both 0), then per
//! row an i16 field count and per field an i32 byte length (-1 for NULL) followed by the value in
//! the type's binary send format, and finally the i16 trailer -1. All integers are big-endian.

/// The binary COPY signature.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Days between 1970-01-01 and 2000-01-01.
pub const PG_EPOCH_OFFSET_DAYS: i32 = 10_957;

/// Appends the file header.
pub fn header(buf: &mut Vec<u8>) {
    buf.extend_from_slice(SIGNATURE);
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
}

/// Appends the file trailer.
pub fn trailer(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(-1i16).to_be_bytes());
}

/// Starts a row of `fields` values.
pub fn row(buf: &mut Vec<u8>, fields: u16) {
    buf.extend_from_slice(&(fields as i16).to_be_bytes());
}

/// A NULL value.
pub fn null(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(-1i32).to_be_bytes());
}

/// `int8`.
pub fn int8(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

/// `int4`.
pub fn int4(buf: &mut Vec<u8>, v: i32) {
    buf.extend_from_slice(&4i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

/// `int2`.
pub fn int2(buf: &mut Vec<u8>, v: i16) {
    buf.extend_from_slice(&2i32.to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

/// `float8`.
pub fn float8(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// `float4`.
pub fn float4(buf: &mut Vec<u8>, v: f32) {
    buf.extend_from_slice(&4i32.to_be_bytes());
    buf.extend_from_slice(&v.to_bits().to_be_bytes());
}

/// `bool`.
pub fn boolean(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(&1i32.to_be_bytes());
    buf.push(v as u8);
}

/// `text`, `varchar`, enum labels, `bytea`: the raw bytes.
pub fn bytes(buf: &mut Vec<u8>, v: &[u8]) {
    buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
    buf.extend_from_slice(v);
}

/// `jsonb`: a version byte (1) then the JSON text.
pub fn jsonb(buf: &mut Vec<u8>, json: &str) {
    buf.extend_from_slice(&((json.len() + 1) as i32).to_be_bytes());
    buf.push(1);
    buf.extend_from_slice(json.as_bytes());
}

/// `timestamptz` / `timestamp`, from microseconds since the Unix epoch.
pub fn timestamp(buf: &mut Vec<u8>, unix_micros: i64) {
    int8(buf, unix_micros - PG_EPOCH_OFFSET_MICROS);
}

/// `date`, from days since the Unix epoch.
pub fn date(buf: &mut Vec<u8>, unix_days: i32) {
    int4(buf, unix_days - PG_EPOCH_OFFSET_DAYS);
}

/// `uuid`: 16 bytes.
pub fn uuid(buf: &mut Vec<u8>, v: &[u8; 16]) {
    bytes(buf, v);
}

/// Appends `s` as a CSV field (quoted when it holds a delimiter, quote, CR or LF; an empty
/// string is quoted so that it differs from NULL, which is written as nothing).
pub fn csv_field(buf: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        buf.extend_from_slice(b"\"\"");
    } else if s.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for &b in s {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_row_layout() {
        let mut b = Vec::new();
        header(&mut b);
        row(&mut b, 3);
        int8(&mut b, 7);
        null(&mut b);
        bytes(&mut b, b"hi");
        trailer(&mut b);
        let mut expect = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        expect.extend_from_slice(&[0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        expect.extend_from_slice(&[255, 255, 255, 255, 0, 0, 0, 2, b'h', b'i', 255, 255]);
        assert_eq!(b, expect);
    }

    #[test]
    fn timestamps_use_the_postgres_epoch() {
        let mut b = Vec::new();
        timestamp(&mut b, PG_EPOCH_OFFSET_MICROS);
        assert_eq!(&b[4..], &0i64.to_be_bytes());
    }

    #[test]
    fn csv_quoting() {
        let mut b = Vec::new();
        csv_field(&mut b, b"a,\"b\"");
        b.push(b',');
        csv_field(&mut b, b"");
        assert_eq!(b, b"\"a,\"\"b\"\"\",\"\"");
    }
}
