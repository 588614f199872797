//! Small helpers every subsystem uses to read a kernel file into a reused buffer and to
//! turn its fields into numbers, with errors that name the file and the line.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use super::error::HostError;

/// Reads the whole of `path` into `buf` (cleared first, its allocation reused). Files
/// under /proc report a size of 0, so this reads until end of file rather than trusting
/// the metadata. Bytes that are not UTF-8 (a mount point or interface named in another
/// encoding) become U+FFFD instead of failing the whole file.
pub(crate) fn read_to(path: &Path, buf: &mut String) -> Result<(), HostError> {
    let mut bytes = std::mem::take(buf).into_bytes();
    bytes.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| HostError::read(path, e))?;
    *buf = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Ok(())
}

/// Reads a one-line sysfs attribute into `buf`, trimmed. `Ok(false)` when the file does
/// not exist.
pub(crate) fn read_attr(path: &Path, buf: &mut String) -> Result<bool, HostError> {
    match read_to(path, buf) {
        Ok(()) => {
            let trimmed = buf.trim_end().len();
            buf.truncate(trimmed);
            Ok(true)
        }
        Err(HostError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Parses `field` of line `line` (1-based) of `path` as a number; `what` names the field
/// in the error.
pub(crate) fn num<T: FromStr>(
    path: &Path,
    line: usize,
    what: &str,
    field: &str,
) -> Result<T, HostError> {
    field
        .parse()
        .map_err(|_| HostError::parse(path, line, format!("{what}: {field:?} is not a number")))
}

/// The `i`-th whitespace-separated field, or a parse error naming the field.
pub(crate) fn field<'t>(
    fields: &[&'t str],
    i: usize,
    path: &Path,
    line: usize,
    what: &str,
) -> Result<&'t str, HostError> {
    fields.get(i).copied().ok_or_else(|| {
        HostError::parse(
            path,
            line,
            format!(
                "{what}: expected at least {} fields, found {}",
                i + 1,
                fields.len()
            ),
        )
    })
}
