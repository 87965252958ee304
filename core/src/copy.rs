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

/// `numeric` from a plain decimal text (`-123.45`, `0.001`, `7`; no exponent), in the binary
/// send format: i16 digit count, i16 weight (of the first base-10000 digit), u16 sign
/// (0 or 0x4000), u16 display scale (the decimals given), then the base-10000 digits without
/// leading or trailing zero digits. `None` when the text is not such a decimal.
pub fn numeric(buf: &mut Vec<u8>, decimal: &str) -> Option<()> {
    let payload = numeric_payload(decimal)?;
    buf.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    buf.extend_from_slice(&payload);
    Some(())
}

fn numeric_payload(decimal: &str) -> Option<Vec<u8>> {
    let (negative, unsigned) = match decimal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, decimal),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digit = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digit(int) || !digit(frac) || frac.len() > 0x3fff {
        return None;
    }
    // Integer digits padded on the left, fraction digits on the right, to groups of four.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int.bytes())
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', frac_pad))
        .map(|b| b - b'0')
        .collect();
    let mut groups: Vec<i16> = all
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |a, d| a * 10 + *d as i16))
        .collect();
    let mut weight = ((int.len() + int_pad) / 4) as i32 - 1;
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    let mut out = Vec::with_capacity(8 + 2 * groups.len());
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&(i16::try_from(weight).ok()?).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(frac.len() as u16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// The decimal text of a binary `numeric` payload (the inverse of [`numeric`], for CSV and
/// tests); `None` when it is malformed or NaN.
pub fn numeric_text(payload: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*payload.get(i)?, *payload.get(i + 1)?]))
    };
    let n = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    if sign != 0 && sign != 0x4000 {
        return None;
    }
    let digits: Vec<u16> = (0..n).map(|i| word(8 + 2 * i)).collect::<Option<_>>()?;
    let digit_at = |w: i32| -> u16 {
        let i = weight - w;
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };
    let mut int = String::new();
    for w in (0..=weight.max(0)).rev() {
        int.push_str(&format!("{:04}", digit_at(w)));
    }
    let int = int.trim_start_matches('0');
    let mut frac = String::new();
    let mut w = -1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", digit_at(w)));
        w -= 1;
    }
    frac.truncate(dscale);
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    s.push_str(if int.is_empty() { "0" } else { int });
    if dscale > 0 {
        s.push('.');
        s.push_str(&frac);
    }
    Some(s)
}

/// `interval`: microseconds, then days and months (both 0 here).
pub fn interval(buf: &mut Vec<u8>, micros: i64) {
    buf.extend_from_slice(&16i32.to_be_bytes());
    buf.extend_from_slice(&micros.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
}

/// `inet` of a host address (4 or 16 bytes): family (2 = IPv4, 3 = IPv6 in PostgreSQL's
/// numbering), prefix bits (32 or 128), is-cidr 0, address length, address.
pub fn inet(buf: &mut Vec<u8>, addr: &[u8]) {
    let v6 = addr.len() == 16;
    buf.extend_from_slice(&((4 + addr.len()) as i32).to_be_bytes());
    buf.extend_from_slice(&[
        if v6 { 3 } else { 2 },
        if v6 { 128 } else { 32 },
        0,
        addr.len() as u8,
    ]);
    buf.extend_from_slice(addr);
}

/// The header of a one-dimensional array of `len` non-NULL elements of type `element_oid`
/// (an empty array has no dimension); the elements follow, each as a field (length + value).
pub fn array_header(buf: &mut Vec<u8>, element_oid: u32, len: usize) {
    buf.extend_from_slice(&(if len == 0 { 0i32 } else { 1 }).to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&element_oid.to_be_bytes());
    if len > 0 {
        buf.extend_from_slice(&(len as i32).to_be_bytes());
        buf.extend_from_slice(&1i32.to_be_bytes());
    }
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

    fn numeric_bytes(d: &str) -> Vec<u8> {
        let mut b = Vec::new();
        numeric(&mut b, d).unwrap();
        b
    }

    fn words(w: &[i16]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_be_bytes()).collect()
    }

    #[test]
    fn numeric_known_bytes() {
        // 123.45: one integer digit group (weight 0), fraction group 4500, scale 2.
        let mut want = 12i32.to_be_bytes().to_vec();
        want.extend(words(&[2, 0, 0, 2, 123, 4500]));
        assert_eq!(numeric_bytes("123.45"), want);
        // -1234567.8: groups 123|4567|.8000, weight 1, negative.
        let mut want = 14i32.to_be_bytes().to_vec();
        want.extend(words(&[3, 1, 0x4000, 1, 123, 4567, 8000]));
        assert_eq!(numeric_bytes("-1234567.8"), want);
        // 0.00001234: leading zero groups dropped, weight -2.
        let mut want = 10i32.to_be_bytes().to_vec();
        want.extend(words(&[1, -2, 0, 8, 1234]));
        assert_eq!(numeric_bytes("0.00001234"), want);
        // 10000: trailing zero group dropped, weight 1.
        let mut want = 10i32.to_be_bytes().to_vec();
        want.extend(words(&[1, 1, 0, 0, 1]));
        assert_eq!(numeric_bytes("10000"), want);
        // Zero (and negative zero) has no digits, keeps its scale.
        let mut want = 8i32.to_be_bytes().to_vec();
        want.extend(words(&[0, 0, 0, 2]));
        assert_eq!(numeric_bytes("0.00"), want);
        assert_eq!(numeric_bytes("-0.00"), want);
        for bad in ["", "1e5", "1.2.3", "abc", "-", ".5"] {
            assert!(numeric(&mut Vec::new(), bad).is_none(), "{bad}");
        }
        for d in [
            "123.45",
            "-1234567.8",
            "0.00001234",
            "10000",
            "0.00",
            "7",
            "-0.5",
        ] {
            assert_eq!(numeric_text(&numeric_bytes(d)[4..]).unwrap(), d);
        }
    }

    #[test]
    fn interval_inet_and_array_known_bytes() {
        let mut b = Vec::new();
        interval(&mut b, 90_000_000);
        let mut want = 16i32.to_be_bytes().to_vec();
        want.extend(90_000_000i64.to_be_bytes());
        want.extend([0u8; 8]);
        assert_eq!(b, want);
        let mut b = Vec::new();
        inet(&mut b, &[192, 0, 2, 7]);
        assert_eq!(b, [0, 0, 0, 8, 2, 32, 0, 4, 192, 0, 2, 7]);
        let mut b = Vec::new();
        let mut v6 = [0u8; 16];
        v6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        inet(&mut b, &v6);
        assert_eq!(&b[..8], &[0, 0, 0, 20, 3, 128, 0, 16]);
        let mut b = Vec::new();
        array_header(&mut b, 23, 2);
        int4(&mut b, 5);
        int4(&mut b, -1);
        let mut want = words(&[0, 1, 0, 0, 0, 23, 0, 2, 0, 1]);
        want.extend([0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 4, 255, 255, 255, 255]);
        assert_eq!(b, want);
        let mut b = Vec::new();
        array_header(&mut b, 25, 0);
        assert_eq!(b, words(&[0, 0, 0, 0, 0, 25]));
        let mut b = Vec::new();
        jsonb(&mut b, "{}");
        assert_eq!(b, [0, 0, 0, 3, 1, b'{', b'}']);
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
