//! Sweeps: grids of runs described in a TOML file, each cell a run with a stable id,
//! run in parallel, appended to a results file as they finish, resumable, and split into
//! shards for many machines (a Slurm job array, for one).
//!
//! A sweep file names a `kind` (`signal`, `jacobian` or `train`), `[fixed]` settings and `[axes]`,
//! each axis a list or a range `{ from, to, steps }`:
//!
//! ```
//! use tapegrad::sweep::Sweep;
//! let text = "kind = \"signal\"\n[fixed]\ndepth = 5\nwidth = 8\n[axes]\nsw2 = { from = 1, to = 2, steps = 3 }\nseed = [0, 1]\n";
//! let sweep = Sweep::parse(text, "demo.toml").unwrap();
//! assert_eq!(sweep.cells.len(), 6);
//! assert!(Sweep::parse("kind = \"signal\"\n[axes]\nsw3 = [1]\n", "bad.toml").is_err());
//! ```

mod jacobian;
mod signal;
mod spec;
mod store;
mod train;

use std::collections::BTreeMap;
use std::fmt;

pub use jacobian::{JacobianResult, jacobian};
pub use signal::{SignalResult, signal};
pub use spec::{Kind, MAX_CELLS, SweepError};
pub use store::{Merge, Record, Results, merge, record_line, run_into};
pub use train::{TrainResult, train};

/// One setting's value, typed by the kind's schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A whole number.
    Int(u64),
    /// A real number.
    Float(f64),
    /// A name or spec string.
    Str(String),
}

impl fmt::Display for Value {
    /// The canonical form: integers plainly, floats as Rust's shortest round-trip form
    /// (`2.0`, `0.05`, `1e-7`), strings JSON-quoted. The same on every platform.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v:?}"),
            Value::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

impl Value {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(v) => (*v).into(),
            Value::Float(v) => (*v).into(),
            Value::Str(s) => s.clone().into(),
        }
    }
}

/// One grid cell: every setting of its kind (defaults filled in) and its id.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The id: [`cell_id`] of the canonical settings.
    pub id: String,
    /// The kind of run.
    pub kind: Kind,
    /// Every setting by name.
    pub settings: BTreeMap<String, Value>,
}

impl Cell {
    /// Builds a cell and its id from complete settings.
    pub fn new(kind: Kind, settings: BTreeMap<String, Value>) -> Cell {
        let id = cell_id(&canonical(kind, &settings));
        Cell { id, kind, settings }
    }

    /// A float setting (integers widen).
    ///
    /// # Panics
    /// If the setting is missing or a string: the schema guarantees both.
    pub fn float(&self, key: &str) -> f64 {
        match self.settings.get(key) {
            Some(Value::Float(v)) => *v,
            Some(Value::Int(v)) => *v as f64,
            other => panic!("sweep cell: setting `{key}` is {other:?}, not a number"),
        }
    }

    /// An integer setting.
    ///
    /// # Panics
    /// If the setting is missing or not an integer.
    pub fn int(&self, key: &str) -> u64 {
        match self.settings.get(key) {
            Some(Value::Int(v)) => *v,
            other => panic!("sweep cell: setting `{key}` is {other:?}, not an integer"),
        }
    }

    /// A string setting.
    ///
    /// # Panics
    /// If the setting is missing or not a string.
    pub fn str(&self, key: &str) -> &str {
        match self.settings.get(key) {
            Some(Value::Str(s)) => s,
            other => panic!("sweep cell: setting `{key}` is {other:?}, not a string"),
        }
    }

    /// The settings as a JSON object.
    pub fn settings_json(&self) -> serde_json::Value {
        self.settings.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>().into()
    }

    /// Runs the cell and returns its results as JSON.
    pub fn run(&self) -> serde_json::Value {
        match self.kind {
            Kind::Signal => signal(self).to_json(),
            Kind::Jacobian => jacobian(self).to_json(),
            Kind::Train => train(self).to_json(),
        }
    }
}

/// The canonical settings string: `kind=K;key=value;...` with keys sorted.
pub fn canonical(kind: Kind, settings: &BTreeMap<String, Value>) -> String {
    let mut s = format!("kind={kind}");
    for (k, v) in settings {
        s.push_str(&format!(";{k}={v}"));
    }
    s
}

/// A cell's id: the 64-bit FNV-1a hash of its canonical settings string, in 16 hex
/// digits. Unlike std's `DefaultHasher` (seeded per process), the same on every run and
/// platform.
pub fn cell_id(canonical: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A parsed sweep: its kind and every cell of the grid, in grid order (the last axis,
/// by name, varies fastest).
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The kind of every cell.
    pub kind: Kind,
    /// The axes by name, with their values.
    pub axes: BTreeMap<String, Vec<Value>>,
    /// Every cell.
    pub cells: Vec<Cell>,
}

impl Sweep {
    /// Parses a sweep file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Sweep, SweepError> {
        spec::parse(text, file)
    }

    /// The cells of shard `k` of `n` (0-based): the cells whose position in the grid is
    /// `k` modulo `n`, so every cell is in exactly one shard and shards are balanced.
    ///
    /// # Panics
    /// If `k >= n`.
    pub fn shard(&self, k: usize, n: usize) -> Vec<&Cell> {
        assert!(k < n, "Sweep::shard: shard {k} of {n}");
        self.cells.iter().skip(k).step_by(n).collect()
    }
}
