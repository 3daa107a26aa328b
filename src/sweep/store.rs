//! The results file: one JSON record per line, appended as cells finish, read back to
//! resume, and merged across shards.
//!
//! Each record is written by one `write` of the whole line to a file opened with
//! `O_APPEND`, so concurrent writers never interleave within a line and a crash (even
//! `kill -9`) leaves at most one torn last line, which [`Results::open`] cuts off.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use super::Cell;

/// One finished cell, as stored: its id, settings and results, how long it took and
/// which tapegrad made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The cell's id.
    pub id: String,
    /// The whole record.
    pub json: serde_json::Value,
    /// The line it was read from, kept so that merging copies records bit for bit
    /// rather than re-printing parsed numbers.
    pub line: String,
}

impl Record {
    /// Parses one line of a results file; `None` for a line that is not a record.
    pub fn parse(line: &str) -> Option<Record> {
        let json: serde_json::Value = serde_json::from_str(line).ok()?;
        let id = json.get("id")?.as_str()?.to_string();
        Some(Record { id, json, line: line.to_string() })
    }

    /// The record without its timing (`seconds`): what must be identical however the
    /// sweep was run.
    pub fn without_timing(&self) -> serde_json::Value {
        let mut v = self.json.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("seconds");
        }
        v
    }
}

/// The record line (without newline) of `cell` with `results`, run in `seconds`.
pub fn record_line(cell: &Cell, results: serde_json::Value, seconds: f64) -> String {
    serde_json::json!({
        "id": cell.id,
        "kind": cell.kind.to_string(),
        "settings": cell.settings_json(),
        "results": results,
        "seconds": seconds,
        "version": env!("CARGO_PKG_VERSION"),
    })
    .to_string()
}

/// A results file open for appending, and the records it already holds.
pub struct Results {
    file: Mutex<File>,
    /// The ids of the records already in the file.
    pub done: HashSet<String>,
}

impl Results {
    /// Opens (or creates) `path`, reads its records and cuts off a torn last line (one
    /// without its newline, left by a crash mid-write).
    pub fn open(path: &Path) -> io::Result<Results> {
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if whole < text.len() {
            file.set_len(whole as u64)?;
        }
        let done = String::from_utf8_lossy(&text[..whole]).lines().filter_map(Record::parse).map(|r| r.id).collect();
        Ok(Results { file: Mutex::new(file), done })
    }

    /// Appends one record line in a single `write` call, then flushes.
    pub fn append(&self, line: &str) -> io::Result<()> {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(buf.as_bytes())?;
        file.flush()
    }
}

/// Runs `cells` on all cores (rayon's pool), appending each cell's record to `results`
/// as soon as it finishes, and calling `done` after each: all that `tapegrad sweep run`
/// adds to the runs themselves. Stops at the first record that cannot be written.
pub fn run_into(cells: &[&Cell], results: &Results, done: impl Fn() + Sync) -> io::Result<()> {
    cells.par_iter().try_for_each(|cell| {
        let start = Instant::now();
        let r = cell.run();
        results.append(&record_line(cell, r, start.elapsed().as_secs_f64()))?;
        done();
        Ok(())
    })
}

/// Every record of several results files, by id.
#[derive(Debug, Default)]
pub struct Merge {
    /// One record per id, sorted by id.
    pub records: BTreeMap<String, Record>,
    /// Ids seen more than once with the same record (timing aside): harmless.
    pub duplicates: Vec<String>,
    /// Ids seen more than once with different records: a sign that the shards ran
    /// different code or settings; the first one read is kept.
    pub conflicts: Vec<String>,
    /// Lines that are not records (a torn last line).
    pub skipped: usize,
}

/// Reads and combines the records of `files`.
pub fn merge(files: &[&Path]) -> io::Result<Merge> {
    let mut m = Merge::default();
    for path in files {
        let text = std::fs::read_to_string(path)?;
        for line in text.lines() {
            let Some(r) = Record::parse(line) else {
                m.skipped += 1;
                continue;
            };
            match m.records.get(&r.id) {
                Some(old) if old.without_timing() == r.without_timing() => m.duplicates.push(r.id),
                Some(_) => m.conflicts.push(r.id),
                None => _ = m.records.insert(r.id.clone(), r),
            }
        }
    }
    Ok(m)
}
