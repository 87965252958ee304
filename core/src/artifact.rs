//! Reading and writing JSON artifacts: strict parsing with the JSON path of any error, atomic
//! writes (temp file in the same directory, fsync, rename), and sha256 lineage.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The largest JSON artifact read (a report of 2^20 chunks is about 150 MB): a larger file is
/// refused before a byte of it is read.
pub const MAX_JSON_BYTES: u64 = 256 << 20;

/// Reads a JSON artifact into `T`. Unknown keys are rejected by `T`'s own
/// `deny_unknown_fields`; any error names the file and the JSON path (`$.tables.users.rows`).
/// The file is parsed as it is read (a garbage file is refused at its first bad byte, in
/// constant memory) and may not exceed [`MAX_JSON_BYTES`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    read_json_max(path, MAX_JSON_BYTES)
}

/// [`read_json`] with a smaller size limit (specs and policies are written by hand).
pub fn read_json_max<T: DeserializeOwned>(path: &Path, max_bytes: u64) -> Result<T> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let too_big = |len: u64| Error::Invalid {
        path: path.to_path_buf(),
        message: format!("{len} bytes is more than the {max_bytes} this file may have"),
    };
    if len > max_bytes {
        return Err(too_big(len));
    }
    // `take` holds the limit even if the file grows while it is read.
    let reader = std::io::BufReader::with_capacity(1 << 16, file.take(max_bytes + 1));
    let mut de = serde_json::Deserializer::from_reader(reader);
    let value = serde_path_to_error::deserialize(&mut de).map_err(format_err(path, max_bytes))?;
    de.end().map_err(|e| trailing(path, &e))?;
    Ok(value)
}

/// Parses JSON bytes that came from `path` (used for messages only).
pub fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        serde_path_to_error::deserialize(&mut de).map_err(format_err(path, MAX_JSON_BYTES))?;
    de.end().map_err(|e| trailing(path, &e))?;
    Ok(value)
}

/// What follows the document (`{...} x`) is refused, as a truncation is.
fn trailing(path: &Path, e: &serde_json::Error) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        json_path: "$".into(),
        message: describe_serde_error(e),
    }
}

fn format_err(
    path: &Path,
    max_bytes: u64,
) -> impl Fn(serde_path_to_error::Error<serde_json::Error>) -> Error + '_ {
    move |e| {
        let json_path = json_path(e.path());
        let inner = e.into_inner();
        let message = if inner.is_io() {
            // Only `take`'s limit ends the read early: the file grew past it.
            format!("more than the {max_bytes} bytes this file may have, or unreadable: {inner}")
        } else {
            describe_serde_error(&inner)
        };
        Error::Format {
            path: path.to_path_buf(),
            json_path,
            message,
        }
    }
}

/// Renders a serde path as `$.a.b[3]`.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out.push_str(&format!(".{key}")),
            Segment::Enum { variant } => out.push_str(&format!(".{variant}")),
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// serde_json's message without its trailing "at line X column Y" (the JSON path is clearer),
/// which keeps the line and column for syntax errors only.
fn describe_serde_error(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        return e.to_string();
    }
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// Serialises `value` as pretty JSON and writes it atomically to `path`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Invalid {
        path: path.to_path_buf(),
        message: format!("cannot serialise: {e}"),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename. On error nothing
/// is left behind and an existing file at `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = AtomicFile::create(path)?;
    out.write_all(bytes).map_err(io_err(path))?;
    out.commit()
}

/// Like [`write_atomic`], but the file is readable by everyone (mode 0644 on Unix) from the
/// moment it appears: for reports meant to be shared. Other artifacts keep the temp file's
/// owner-only mode (0600).
pub fn write_atomic_readable(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = AtomicFile::create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        out.inner
            .get_ref()
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err(path))?;
    }
    out.write_all(bytes).map_err(io_err(path))?;
    out.commit()
}

/// A file that appears at its final path only when [`AtomicFile::commit`] is called; dropped
/// uncommitted, it vanishes.
pub struct AtomicFile {
    path: PathBuf,
    inner: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing a file that will be renamed to `path` on commit.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let prefix = format!(
            ".{}.",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("pgshape")
        );
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io_err(path))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            inner: BufWriter::with_capacity(1 << 20, tmp),
        })
    }

    /// Flushes, fsyncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self
            .inner
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(io_err(&path))?;
        tmp.as_file().sync_all().map_err(io_err(&path))?;
        tmp.persist(&path)
            .map_err(|e| e.error)
            .map_err(io_err(&path))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The sha256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        tables: std::collections::BTreeMap<String, Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        rows: u64,
    }

    #[test]
    fn unknown_key_error_names_file_and_json_path() {
        let err = parse_json::<Outer>(
            Path::new("spec.json"),
            br#"{"tables": {"t1": {"rows": 3, "rowz": 4}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("spec.json: at $.tables.t1"), "{err}");
        assert!(err.contains("unknown field `rowz`"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn readable_writes_are_0644_and_others_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (shared, private) = (dir.path().join("report.html"), dir.path().join("pack.json"));
        write_atomic_readable(&shared, b"<p/>").unwrap();
        write_atomic(&private, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&shared), 0o644);
        assert_eq!(mode(&private), 0o600);
        assert_eq!(std::fs::read(&shared).unwrap(), b"<p/>");
    }

    #[test]
    fn atomic_write_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(
            sha256_file(&path).unwrap(),
            sha256_hex(b"{\n  \"a\": 1\n}\n")
        );
    }
}
