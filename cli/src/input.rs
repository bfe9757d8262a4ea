//! Reading input files with a bound: a file (or `/dev/zero`, a pipe) is
//! read only up to [`MAX_INPUT_BYTES`] and refused beyond it, before it is
//! buffered whole.

use std::io::Read;
use std::path::Path;

/// The most any input file may hold: the model parsers' own limit (64 MiB).
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The bytes of `path`, or why not ("cannot read …", "… is larger than …").
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{}: expected at most {} MiB, found more",
            path.display(),
            MAX_INPUT_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_bounded_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_bounded(path)?).map_err(|e| {
        format!(
            "{}: expected UTF-8 text, found an invalid byte at offset {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
