//! Saving and loading parameters in the [safetensors] format, so trained weights open in
//! PyTorch or NumPy as they are.
//!
//! Each parameter is stored under its [`ParamStore`] name (`dense0.weight`, ...) as
//! `F64` with shape `[rows, cols]`, little-endian; a round trip is bit-exact. Optional
//! string metadata (the format's `__metadata__`) travels with the tensors. Writes are
//! atomic: the file is written to a temporary file in the same folder and renamed over
//! the target, so an interrupted run never leaves a half-written file in place of a good
//! one. Reading never panics, whatever the bytes.
//!
//! ```
//! use std::collections::BTreeMap;
//! use tapegrad::{Tensor, io, params::ParamStore};
//! let mut params = ParamStore::new();
//! params.insert("dense0.weight", Tensor::from_vec(1, 2, vec![0.5, -1.25]));
//! let bytes = io::params_to_bytes(&params, &BTreeMap::new()).unwrap();
//! let saved = io::params_from_bytes(&bytes).unwrap();
//! assert_eq!(saved.params, params);
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::params::ParamStore;
use crate::tensor::Tensor;

/// Why parameters could not be saved or loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
    /// The bytes are not a valid safetensors file.
    Format(String),
    /// A tensor is not `F64` of shape `[rows, cols]`.
    Unsupported {
        /// The tensor's name.
        name: String,
        /// What it is instead.
        found: String,
    },
    /// The file's parameters are not the model's: every difference, one per entry.
    Mismatch(Vec<String>),
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::Io { path, message } => write!(f, "{path}: {message}"),
            ParamsError::Format(e) => write!(f, "not a valid safetensors file: {e}"),
            ParamsError::Unsupported { name, found } => {
                write!(f, "tensor `{name}` is {found}; expected F64 with shape [rows, cols]")
            }
            ParamsError::Mismatch(diffs) => {
                write!(f, "the saved parameters do not match the model:")?;
                diffs.iter().try_for_each(|d| write!(f, "\n  - {d}"))
            }
        }
    }
}

impl std::error::Error for ParamsError {}

/// Parameters read from a file, with its metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedParams {
    /// The tensors, in the file's order (by name, as safetensors writes them).
    pub params: ParamStore,
    /// The string metadata stored with them.
    pub metadata: BTreeMap<String, String>,
}

impl SavedParams {
    /// Copies the saved values into `model`, which must hold exactly the same names with
    /// the same shapes; otherwise nothing is changed and the error lists every
    /// difference.
    pub fn restore_into(&self, model: &mut ParamStore) -> Result<(), ParamsError> {
        let shape = |t: &Tensor| format!("{}x{}", t.rows(), t.cols());
        let mut diffs = Vec::new();
        for (name, t) in model.tensors() {
            match self.params.tensor(name) {
                None => diffs.push(format!("`{name}` ({}) is missing from the file", shape(t))),
                Some(s) if s.shape() != t.shape() => {
                    diffs.push(format!("`{name}` is {} in the file but {} in the model", shape(s), shape(t)));
                }
                Some(_) => {}
            }
        }
        for (name, t) in self.params.tensors() {
            if model.tensor(name).is_none() {
                diffs.push(format!("`{name}` ({}) is in the file but not in the model", shape(t)));
            }
        }
        if !diffs.is_empty() {
            return Err(ParamsError::Mismatch(diffs));
        }
        for (name, t) in model.tensors_mut() {
            t.data_mut().copy_from_slice(self.params.tensor(name).expect("checked above").data());
        }
        Ok(())
    }
}

/// A tensor as safetensors sees it: `F64`, `[rows, cols]`, little-endian bytes.
struct View {
    shape: [usize; 2],
    bytes: Vec<u8>,
}

impl safetensors::View for &View {
    fn dtype(&self) -> Dtype {
        Dtype::F64
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The safetensors bytes of `params` with `metadata`.
pub fn params_to_bytes(params: &ParamStore, metadata: &BTreeMap<String, String>) -> Result<Vec<u8>, ParamsError> {
    let views: Vec<(&str, View)> = params
        .tensors()
        .map(|(name, t)| {
            let bytes = t.data().iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, View { shape: [t.rows(), t.cols()], bytes })
        })
        .collect();
    let metadata: Option<HashMap<String, String>> =
        (!metadata.is_empty()).then(|| metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    safetensors::serialize(views.iter().map(|(n, v)| (*n, v)), metadata).map_err(|e| ParamsError::Format(e.to_string()))
}

/// Parses safetensors bytes holding `F64` tensors of shape `[rows, cols]`.
pub fn params_from_bytes(bytes: &[u8]) -> Result<SavedParams, ParamsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| ParamsError::Format(e.to_string()))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| ParamsError::Format(e.to_string()))?;
    let mut tensors: Vec<(&str, TensorView<'_>)> = file.iter().collect();
    tensors.sort_by_key(|(name, _)| *name);
    let mut params = ParamStore::new();
    for (name, view) in tensors {
        let unsupported = || ParamsError::Unsupported {
            name: name.to_string(),
            found: format!("{:?} with shape {:?}", view.dtype(), view.shape()),
        };
        let &[rows, cols] = view.shape() else { return Err(unsupported()) };
        if view.dtype() != Dtype::F64
            || rows.checked_mul(cols).and_then(|n| n.checked_mul(8)) != Some(view.data().len())
        {
            return Err(unsupported());
        }
        let values = view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
        params.insert(name, Tensor::from_vec(rows, cols, values));
    }
    let metadata = meta.metadata().clone().unwrap_or_default().into_iter().collect();
    Ok(SavedParams { params, metadata })
}

/// Writes `params` (with `metadata`) to `path` atomically: to a temporary file in the same
/// folder, flushed to disk, then renamed over `path`.
pub fn save_params(
    path: impl AsRef<Path>,
    params: &ParamStore,
    metadata: &BTreeMap<String, String>,
) -> Result<(), ParamsError> {
    let path = path.as_ref();
    let io = |e: std::io::Error| ParamsError::Io { path: path.display().to_string(), message: e.to_string() };
    let bytes = params_to_bytes(params, metadata)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".tapegrad-save-").tempfile_in(folder).map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Reads the parameters saved at `path`.
pub fn load_params(path: impl AsRef<Path>) -> Result<SavedParams, ParamsError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| ParamsError::Io { path: path.display().to_string(), message: e.to_string() })?;
    params_from_bytes(&bytes).map_err(|e| match e {
        ParamsError::Format(m) => ParamsError::Format(format!("{}: {m}", path.display())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ParamStore {
        let mut p = ParamStore::new();
        p.insert("dense0.weight", Tensor::from_vec(2, 3, vec![0.1, -2.5e-300, f64::MIN_POSITIVE, 1e300, -0.0, 3.0]));
        p.insert("dense0.bias", Tensor::from_vec(1, 3, vec![0.0, 1.0 / 3.0, -7.0]));
        p
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let meta = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let saved = params_from_bytes(&params_to_bytes(&store(), &meta).unwrap()).unwrap();
        assert_eq!(saved.metadata, meta);
        for (name, t) in store().iter() {
            let back = &saved.params[name];
            assert_eq!(back.shape(), t.shape());
            let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(back), bits(t), "{name}");
        }
    }

    /// The byte layout of the format's specification: an 8-byte little-endian header
    /// length N, N bytes of JSON (`{"name": {"dtype": "F64", "shape": [r, c],
    /// "data_offsets": [begin, end]}, ...}`, padded with spaces), then the data,
    /// little-endian, each tensor at its offsets.
    #[test]
    fn bytes_follow_the_format_spec() {
        let bytes = params_to_bytes(&store(), &BTreeMap::new()).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let data = &bytes[8 + n..];
        assert_eq!(data.len(), 9 * 8);
        for (name, t) in store().iter() {
            let entry = &header[name];
            assert_eq!(entry["dtype"], "F64");
            assert_eq!(entry["shape"], serde_json::json!([t.rows(), t.cols()]));
            let (b, e) = (
                entry["data_offsets"][0].as_u64().unwrap() as usize,
                entry["data_offsets"][1].as_u64().unwrap() as usize,
            );
            let values: Vec<f64> = data[b..e].chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
            assert_eq!(
                values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn restore_lists_every_difference_and_changes_nothing() {
        let saved = params_from_bytes(&params_to_bytes(&store(), &BTreeMap::new()).unwrap()).unwrap();
        let mut model = ParamStore::new();
        model.insert("dense0.weight", Tensor::zeros(3, 2));
        model.insert("dense1.weight", Tensor::zeros(3, 1));
        let before = model.clone();
        let err = saved.restore_into(&mut model).unwrap_err().to_string();
        assert_eq!(
            err,
            "the saved parameters do not match the model:\n  \
             - `dense0.weight` is 2x3 in the file but 3x2 in the model\n  \
             - `dense1.weight` (3x1) is missing from the file\n  \
             - `dense0.bias` (1x3) is in the file but not in the model"
        );
        assert_eq!(model, before);
        let mut good = store().clone();
        good.iter_mut().for_each(|(_, t)| t.data_mut().fill(9.0));
        saved.restore_into(&mut good).unwrap();
        assert_eq!(good, store());
    }

    #[test]
    fn other_dtypes_and_shapes_are_refused() {
        let file = |dtype, shape: Vec<usize>, data: &[u8]| {
            safetensors::serialize([("w", TensorView::new(dtype, shape, data).unwrap())], None).unwrap()
        };
        let e = params_from_bytes(&file(Dtype::F32, vec![1, 2], &[0; 8])).unwrap_err().to_string();
        assert_eq!(e, "tensor `w` is F32 with shape [1, 2]; expected F64 with shape [rows, cols]");
        let e = params_from_bytes(&file(Dtype::F64, vec![3], &[0; 24])).unwrap_err().to_string();
        assert_eq!(e, "tensor `w` is F64 with shape [3]; expected F64 with shape [rows, cols]");
        assert!(params_from_bytes(b"").is_err());
        assert!(params_from_bytes(b"\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    }

    #[test]
    fn save_is_atomic_and_load_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        save_params(&path, &store(), &BTreeMap::new()).unwrap();
        std::fs::write(dir.path().join("other"), b"x").unwrap();
        save_params(&path, &store(), &BTreeMap::new()).unwrap(); // replaces the file
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind: {names:?}");
        assert_eq!(load_params(&path).unwrap().params["dense0.bias"], store()["dense0.bias"]);
        let e = save_params(dir.path().join("no/such/folder/m.safetensors"), &store(), &BTreeMap::new());
        assert!(matches!(e, Err(ParamsError::Io { .. })));
        assert!(load_params(dir.path().join("missing")).unwrap_err().to_string().contains("missing"));
    }
}
