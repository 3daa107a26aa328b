//! Reading the IDX format, the format of MNIST and Fashion-MNIST: images (`idx3`, unsigned
//! bytes) into a tensor of one row per image, labels (`idx1`, unsigned bytes) into class
//! indices. Files may be gzipped (as they are distributed) or not; the gzip magic bytes
//! tell which.
//!
//! An IDX file is a 4-byte magic number — two zero bytes, the data type (`0x08` for
//! unsigned bytes) and the number of dimensions — then each dimension as a big-endian
//! `u32`, then the values, row-major. Every problem is an error that names the file: a
//! wrong magic number, another data type or number of dimensions, data shorter or longer
//! than the dimensions say, dimensions over [`MAX_ELEMENTS`] values (or whose product
//! overflows), a gzip stream that does not decompress, images and labels of different
//! counts. Nothing here panics, whatever the bytes.
//!
//! ```
//! use tapegrad::idx::{parse_images, parse_labels};
//! // Two 2 × 3 images, then their labels.
//! let mut images = vec![0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
//! images.extend([0, 1, 2, 3, 4, 5, 255, 254, 253, 252, 251, 250]);
//! let x = parse_images(&images, "images.idx").unwrap();
//! assert_eq!(x.shape(), (2, 6));
//! assert_eq!(x.row(1), [255.0, 254.0, 253.0, 252.0, 251.0, 250.0]);
//! let labels = parse_labels(&[0, 0, 0x08, 1, 0, 0, 0, 2, 7, 3], "labels.idx").unwrap();
//! assert_eq!(labels, [7, 3]);
//!
//! let err = parse_images(&images[..20], "images.idx").unwrap_err();
//! assert_eq!(err.to_string(), "images.idx: truncated: 4 bytes of data, the header says 2 × 2 × 3 = 12");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::data::{Dataset, MAX_ELEMENTS};
use crate::tensor::Tensor;

/// Why an IDX file could not be read, and which.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxError {
    /// The file, as given.
    pub file: String,
    /// What is wrong.
    pub kind: IdxErrorKind,
}

/// What is wrong with an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxErrorKind {
    /// The file could not be read.
    Io(String),
    /// The file starts as gzip but does not decompress, or inflates past the largest
    /// IDX file read.
    Gzip(String),
    /// The file is shorter than its magic number and dimensions.
    NoHeader(usize),
    /// The first two bytes are not zero: not an IDX file.
    BadMagic(u32),
    /// The values are not unsigned bytes (`0x08`); holds the type byte.
    WrongType(u8),
    /// Another number of dimensions than the kind of file needs.
    WrongRank {
        /// Dimensions needed: 3 for images, 1 for labels.
        expected: u8,
        /// Dimensions in the file.
        found: u8,
    },
    /// A dimension is zero: the file holds no data.
    Empty(Vec<usize>),
    /// The dimensions multiply to more than [`MAX_ELEMENTS`] values, or overflow.
    TooLarge(Vec<usize>),
    /// Fewer bytes of data than the dimensions say.
    Truncated {
        /// Bytes the dimensions say.
        expected: usize,
        /// Bytes there are.
        found: usize,
        /// The dimensions.
        dims: Vec<usize>,
    },
    /// More bytes than the dimensions say.
    TrailingData {
        /// Bytes the dimensions say.
        expected: usize,
        /// Bytes there are.
        found: usize,
    },
    /// The images and labels files hold different counts.
    CountMismatch {
        /// The images file.
        images_file: String,
        /// Images in it.
        images: usize,
        /// Labels in this (the labels) file.
        labels: usize,
    },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let product = |dims: &[usize]| dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ");
        write!(f, "{}: ", self.file)?;
        match &self.kind {
            IdxErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            IdxErrorKind::Gzip(e) => write!(f, "gzip stream: {e}"),
            IdxErrorKind::NoHeader(n) => write!(f, "{n} byte(s); too short for an IDX header"),
            IdxErrorKind::BadMagic(m) => {
                write!(f, "magic number 0x{m:08X} is not IDX (which starts with two zero bytes, as 0x00000803)")
            }
            IdxErrorKind::WrongType(t) => {
                let name = match t {
                    0x09 => "signed bytes",
                    0x0B => "16-bit integers",
                    0x0C => "32-bit integers",
                    0x0D => "32-bit floats",
                    0x0E => "64-bit floats",
                    _ => "an unknown type",
                };
                write!(f, "data type 0x{t:02X} ({name}); only unsigned bytes (0x08) are read")
            }
            IdxErrorKind::WrongRank { expected: 3, found } => {
                write!(f, "{found} dimension(s); images need 3 (count, rows, columns)")
            }
            IdxErrorKind::WrongRank { expected, found } => {
                write!(f, "{found} dimension(s); labels need {expected} (the count)")
            }
            IdxErrorKind::Empty(dims) => write!(f, "dimensions {} hold no data", product(dims)),
            IdxErrorKind::TooLarge(dims) => {
                write!(f, "dimensions {} are more than {MAX_ELEMENTS} values", product(dims))
            }
            IdxErrorKind::Truncated { expected, found, dims } => {
                write!(f, "truncated: {found} bytes of data, the header says {} = {expected}", product(dims))
            }
            IdxErrorKind::TrailingData { expected, found } => {
                write!(f, "{found} bytes of data, {} more than the header says ({expected})", found - expected)
            }
            IdxErrorKind::CountMismatch { images_file, images, labels } => {
                write!(f, "{labels} labels for the {images} images of {images_file}")
            }
        }
    }
}

impl std::error::Error for IdxError {}

/// Parses an IDX images file (`idx3`, unsigned bytes), gzipped or not, into an
/// `(n, rows · cols)` tensor: one image per row, its pixels row by row, the byte values
/// (0 to 255) as they are. `file` names the source in errors.
pub fn parse_images(bytes: &[u8], file: &str) -> Result<Tensor, IdxError> {
    let (dims, data) = parse(bytes, 3, file)?;
    let values = data.iter().map(|&b| f64::from(b)).collect();
    Ok(Tensor::from_vec(dims[0], dims[1] * dims[2], values))
}

/// Parses an IDX labels file (`idx1`, unsigned bytes), gzipped or not, into class
/// indices. `file` names the source in errors.
pub fn parse_labels(bytes: &[u8], file: &str) -> Result<Vec<usize>, IdxError> {
    let (_, data) = parse(bytes, 1, file)?;
    Ok(data.iter().map(|&b| usize::from(b)).collect())
}

/// Reads an images file and its labels file (as MNIST's `train-images-idx3-ubyte.gz`
/// and `train-labels-idx1-ubyte.gz`) into a data set: `x` as [`parse_images`] gives
/// it, `y` the class indices as an `n x 1` tensor. An error when either file is bad or
/// their counts differ.
///
/// ```no_run
/// use tapegrad::data::Standardizer;
/// use tapegrad::idx::load_idx;
/// use tapegrad::prelude::*;
///
/// let data = load_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?;
/// let (train, test) = data.split_stratified(0.1, &mut seeded_rng(0, 3));
/// let scale = Standardizer::fit(&train.x);
/// let x = scale.apply(&train.x); // (54000, 784) for MNIST
/// let labels: Vec<usize> = train.y.data().iter().map(|&c| c as usize).collect();
/// # Ok::<(), tapegrad::idx::IdxError>(())
/// ```
pub fn load_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset, IdxError> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let (images_name, labels_name) = (images.display().to_string(), labels.display().to_string());
    let x = parse_images(&read(images, &images_name)?, &images_name)?;
    let y = parse_labels(&read(labels, &labels_name)?, &labels_name)?;
    if x.rows() != y.len() {
        let kind = IdxErrorKind::CountMismatch { images_file: images_name, images: x.rows(), labels: y.len() };
        return Err(IdxError { file: labels_name, kind });
    }
    Ok(Dataset { x, y: Tensor::from_vec(y.len(), 1, y.into_iter().map(|c| c as f64).collect()) })
}

fn read(path: &Path, name: &str) -> Result<Vec<u8>, IdxError> {
    std::fs::read(path).map_err(|e| IdxError { file: name.to_string(), kind: IdxErrorKind::Io(e.to_string()) })
}

/// The dimensions and the data bytes of an IDX file of unsigned bytes with `rank`
/// dimensions.
fn parse<'a>(bytes: &'a [u8], rank: u8, file: &str) -> Result<(Vec<usize>, Cow<'a, [u8]>), IdxError> {
    let err = |kind| IdxError { file: file.to_string(), kind };
    let header = 4 + 4 * usize::from(rank);
    let bytes = gunzip(bytes, header + MAX_ELEMENTS).map_err(err)?;
    if bytes.len() < 4 {
        return Err(err(IdxErrorKind::NoHeader(bytes.len())));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    match bytes[..4] {
        [0, 0, 0x08, r] if r == rank => {}
        [0, 0, 0x08, found] => return Err(err(IdxErrorKind::WrongRank { expected: rank, found })),
        [0, 0, t, _] => return Err(err(IdxErrorKind::WrongType(t))),
        _ => return Err(err(IdxErrorKind::BadMagic(magic))),
    }
    if bytes.len() < header {
        return Err(err(IdxErrorKind::NoHeader(bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    if dims.contains(&0) {
        return Err(err(IdxErrorKind::Empty(dims)));
    }
    let expected = match dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n <= MAX_ELEMENTS => n,
        _ => return Err(err(IdxErrorKind::TooLarge(dims))),
    };
    let found = bytes.len() - header;
    if found < expected {
        return Err(err(IdxErrorKind::Truncated { expected, found, dims }));
    }
    if found > expected {
        return Err(err(IdxErrorKind::TrailingData { expected, found }));
    }
    let data = match bytes {
        Cow::Borrowed(b) => Cow::Borrowed(&b[header..]),
        Cow::Owned(mut b) => {
            b.drain(..header);
            Cow::Owned(b)
        }
    };
    Ok((dims, data))
}

/// `bytes` decompressed when they start with the gzip magic bytes, else as they are.
/// Decompression stops one byte past `limit` (the largest file of its kind this module
/// reads), so a small file that inflates without end is an error, not exhausted memory.
fn gunzip(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, IdxErrorKind> {
    if !bytes.starts_with(&[0x1F, 0x8B]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| IdxErrorKind::Gzip(e.to_string()))?;
    if out.len() > limit {
        let why = format!("inflates to more than {limit} bytes, the most an IDX file of {MAX_ELEMENTS} values needs");
        return Err(IdxErrorKind::Gzip(why));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn inflating_past_the_limit_is_an_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[7; 11]).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(gunzip(&gz, 11).unwrap().as_ref(), [7; 11]);
        let err = gunzip(&gz, 10).unwrap_err();
        assert!(
            matches!(&err, IdxErrorKind::Gzip(why) if why.starts_with("inflates to more than 10 bytes")),
            "{err:?}"
        );
        assert!(matches!(gunzip(b"plain", 1), Ok(Cow::Borrowed(b"plain"))), "not gzip: as it is");
    }
}
