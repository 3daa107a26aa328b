//! Loading a data set from CSV: features in the first columns, the target in the last
//! (a 0/1 label, a class index or a value: which task it fits is decided by
//! [`crate::nn::TaskKind::infer`] or by the user), an optional header line.
//!
//! Every problem is an error that names the file, and where it applies the line and the
//! column (both from 1): a field that is not a number, a NaN or infinite value, a row
//! with another number of fields than the first, a file with no data rows. Nothing here
//! panics, whatever the bytes.
//!
//! The format is plain: fields separated by commas, surrounding spaces ignored, no
//! quoting. Blank lines are skipped, `\r\n` line ends and a UTF-8 byte-order mark are
//! accepted. The first non-blank line is a header when any of its fields is not a number.
//!
//! ```
//! use tapegrad::csv::parse_csv;
//! let data = parse_csv(b"x1,x2,label\n0.5,1.5,0\n-1,2,1\n", "inline.csv").unwrap();
//! assert_eq!(data.x.shape(), (2, 2));
//! assert_eq!(data.y.data(), [0.0, 1.0]);
//! let err = parse_csv(b"1,2,0\n3,oops,1\n", "bad.csv").unwrap_err();
//! assert_eq!(err.to_string(), "bad.csv: line 2, column 2: `oops` is not a number");
//! ```

use std::fmt;
use std::path::Path;

use crate::data::Dataset;
use crate::tensor::Tensor;

/// Why a CSV file could not be loaded, with where.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvError {
    /// The file, as given.
    pub file: String,
    /// The line (from 1), when the problem is on one line.
    pub line: Option<usize>,
    /// The column (from 1), when the problem is in one field.
    pub column: Option<usize>,
    /// What is wrong.
    pub kind: CsvErrorKind,
}

/// What is wrong with a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub enum CsvErrorKind {
    /// The file could not be read.
    Io(String),
    /// The line is not valid UTF-8.
    NotUtf8,
    /// A field does not parse as a number.
    NotANumber(String),
    /// A field is NaN or infinite.
    NotFinite(String),
    /// A row has another number of fields than the header (or the first row).
    Ragged {
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A row has fewer than two fields (one feature and the label).
    TooFewColumns(usize),
    /// There is no data row.
    Empty,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, ": line {l}, column {c}")?,
            (Some(l), None) => write!(f, ": line {l}")?,
            _ => {}
        }
        match &self.kind {
            CsvErrorKind::Io(e) => write!(f, ": cannot read: {e}"),
            CsvErrorKind::NotUtf8 => write!(f, ": not valid UTF-8 text"),
            CsvErrorKind::NotANumber(s) => write!(f, ": `{s}` is not a number"),
            CsvErrorKind::NotFinite(s) => write!(f, ": `{s}` is not a finite number"),
            CsvErrorKind::Ragged { expected, found } => {
                write!(f, ": {found} field(s), expected {expected} like the first row")
            }
            CsvErrorKind::TooFewColumns(n) => {
                write!(f, ": {n} field(s); need at least one feature and a target last")
            }
            CsvErrorKind::Empty => write!(f, ": no data rows"),
        }
    }
}

impl std::error::Error for CsvError {}

/// Reads and parses the CSV file at `path`; see [`parse_csv`].
pub fn load_csv(path: impl AsRef<Path>) -> Result<Dataset, CsvError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CsvError {
        file: name.clone(),
        line: None,
        column: None,
        kind: CsvErrorKind::Io(e.to_string()),
    })?;
    parse_csv(&bytes, &name)
}

/// Parses CSV `bytes` into a data set; `file` names the source in errors.
pub fn parse_csv(bytes: &[u8], file: &str) -> Result<Dataset, CsvError> {
    let err =
        |line: Option<usize>, column: Option<usize>, kind| CsvError { file: file.to_string(), line, column, kind };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut width: Option<usize> = None;
    let mut fields: Vec<&str> = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| err(Some(line), None, CsvErrorKind::NotUtf8))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        fields.clear();
        fields.extend(text.split(',').map(str::trim));
        let first = width.is_none();
        match width {
            None if fields.len() < 2 => return Err(err(Some(line), None, CsvErrorKind::TooFewColumns(fields.len()))),
            None => width = Some(fields.len()),
            Some(w) if w != fields.len() => {
                return Err(err(Some(line), None, CsvErrorKind::Ragged { expected: w, found: fields.len() }));
            }
            Some(_) => {}
        }
        if first && fields.iter().any(|f| f.parse::<f64>().is_err()) {
            continue; // the header
        }
        let (label, features) = fields.split_last().expect("at least two fields");
        for (c, field) in features.iter().enumerate() {
            x.push(number(field).map_err(|kind| err(Some(line), Some(c + 1), kind))?);
        }
        let label_err = |kind| err(Some(line), Some(fields.len()), kind);
        y.push(number(label).map_err(label_err)?);
    }
    let (n, d) = (y.len(), width.unwrap_or(1) - 1);
    if n == 0 {
        return Err(err(None, None, CsvErrorKind::Empty));
    }
    Ok(Dataset { x: Tensor::from_vec(n, d, x), y: Tensor::from_vec(n, 1, y) })
}

/// A finite number, or why not.
fn number(field: &str) -> Result<f64, CsvErrorKind> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(CsvErrorKind::NotFinite(field.to_string())),
        Err(_) => Err(CsvErrorKind::NotANumber(field.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse_csv(text.as_bytes(), "d.csv").unwrap_err().to_string()
    }

    #[test]
    fn reads_with_and_without_a_header() {
        let a = parse_csv(b"a,b,label\r\n1,2,0\r\n\r\n3, 4 ,1\r\n", "d.csv").unwrap();
        let b = parse_csv(b"\xEF\xBB\xBF1,2,0\n3,4,1", "d.csv").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.x, Tensor::from_vec(2, 2, vec![1.0, 2.0, 3.0, 4.0]));
        assert_eq!(a.y.data(), [0.0, 1.0]);
        let wide = parse_csv(b"1,2,3,4,1.0\n5,6,7,8,0.0\n", "d.csv").unwrap();
        assert_eq!(wide.x.shape(), (2, 4));
    }

    #[test]
    fn round_trips_a_written_data_set() {
        let d = crate::data::make_moons(
            20,
            crate::data::Noise { std: 0.3, shuffle: true },
            &mut crate::init::seeded_rng(1, 0),
        );
        let mut buf = Vec::new();
        d.write_csv(&mut buf).unwrap();
        assert_eq!(parse_csv(&buf, "moons.csv").unwrap(), d);
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        assert_eq!(error("x,y,label\n1,2,0\n1,abc,1\n"), "d.csv: line 3, column 2: `abc` is not a number");
        assert_eq!(error("1,2,0\n1,2\n"), "d.csv: line 2: 2 field(s), expected 3 like the first row");
        assert_eq!(error("x,y,label\n1,2,0\n1,2,3,1\n"), "d.csv: line 3: 4 field(s), expected 3 like the first row");
        assert_eq!(error("1,2,0\n1,NaN,1\n"), "d.csv: line 2, column 2: `NaN` is not a finite number");
        assert_eq!(error("1,2,0\ninf,2,1\n"), "d.csv: line 2, column 1: `inf` is not a finite number");
        assert_eq!(error("1,2,0\n1,2,nan\n"), "d.csv: line 2, column 3: `nan` is not a finite number");
        assert_eq!(error(""), "d.csv: no data rows");
        assert_eq!(error("x,y,label\n\n"), "d.csv: no data rows");
        assert_eq!(error("1\n2\n"), "d.csv: line 1: 1 field(s); need at least one feature and a target last");
        assert_eq!(error("1,2,0\n\u{0}"), "d.csv: line 2: 1 field(s), expected 3 like the first row");
        let bytes = parse_csv(b"1,2,0\n\xff,2,1\n", "d.csv").unwrap_err().to_string();
        assert_eq!(bytes, "d.csv: line 2: not valid UTF-8 text");
    }

    #[test]
    fn the_target_column_is_read_as_it_is() {
        let d = parse_csv(b"1,2,0\n1,2,2\n3,4,0.5\n", "d.csv").unwrap();
        assert_eq!(d.y.data(), [0.0, 2.0, 0.5]);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let e = load_csv("/nonexistent/data.csv").unwrap_err().to_string();
        assert!(e.starts_with("/nonexistent/data.csv: cannot read:"), "{e}");
    }
}
