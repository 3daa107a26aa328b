//! Throws arbitrary and near-valid input at every parser that reads from outside — the
//! initializer-spec parser, the CSV loader, the parameter loader and the IDX reader —
//! and proves it never panics: each input gives a value or an error, and values are sound
//! (a loaded CSV has finite features and 0/1 labels of both classes; parameters parse
//! back to what was saved; IDX images are bytes in a tensor of the header's shape). 1000
//! cases per property.

use std::collections::BTreeMap;

use std::io::Write;

use proptest::prelude::*;
use tapegrad::Tensor;
use tapegrad::csv::parse_csv;
use tapegrad::idx::{parse_images, parse_labels};
use tapegrad::init::Init;
use tapegrad::io::{params_from_bytes, params_to_bytes};
use tapegrad::nn::{BinaryLoss, Task, TaskKind};
use tapegrad::params::ParamStore;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(1000)
}

/// A valid-looking spec: a name (real or not), maybe `:` and a number-like value.
fn spec() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "zeros",
        "constant",
        "normal",
        "uniform",
        "truncated_normal",
        "he",
        "he_uniform",
        "xavier",
        "glorot_uniform",
        "lecun",
        "orthogonal",
        "HE",
        " normal ",
        "",
        "kaiming",
    ]);
    let values = prop::sample::select(vec![
        "", ":", ":1", ":-1", ":0", ":1e308", ":1e309", ":nan", ":inf", ":-0", ":abc", "::2", ": 2 ", ":1:2",
    ]);
    (names, values).prop_map(|(n, v)| format!("{n}{v}"))
}

/// CSV-ish text: rows of fields drawn from numbers, labels, junk and separators.
fn near_csv() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "0", "1", "0.5", "-2.25", "1e3", "1.0", "0.0", "-0", "nan", "inf", "-inf", "x1", "label", "", " 3 ", "\"1\"",
        "1e400", "0x10", "1,", "é", "\t",
    ]);
    let row = prop::collection::vec(field, 0..5).prop_map(|f| f.join(","));
    let end = prop::sample::select(vec!["\n", "\r\n", "\n\n", ""]);
    prop::collection::vec((row, end), 0..8).prop_map(|rows| rows.into_iter().map(|(r, e)| r + e).collect())
}

fn check_dataset(bytes: &[u8]) {
    if let Ok(d) = parse_csv(bytes, "p.csv") {
        assert!(!d.is_empty());
        assert_eq!(d.x.rows(), d.y.rows());
        assert!(d.x.cols() >= 1);
        assert!(d.x.is_finite());
        assert!(d.y.is_finite());
        // Whatever the targets, deciding their task and checking them against it is a
        // verdict, never a panic; a binary verdict means 0/1 labels of both classes.
        let kind = TaskKind::infer(&d.y);
        if let Ok(Task::Binary(_)) = kind.task_for(&d.y, BinaryLoss::Stable) {
            assert!(d.y.data().contains(&0.0) && d.y.data().contains(&1.0));
        }
        for kind in [TaskKind::Binary, TaskKind::MultiClass, TaskKind::Regression] {
            let _ = kind.task_for(&d.y, BinaryLoss::Stable);
        }
    }
}

fn store() -> ParamStore {
    let mut p = ParamStore::new();
    p.insert("dense0.weight", Tensor::from_vec(2, 3, vec![0.5, -1.0, 2.0, 1e-300, f64::MAX, -0.0]));
    p.insert("dense0.bias", Tensor::from_vec(1, 3, vec![0.0, 0.25, -4.0]));
    p
}

/// Reads `bytes` as IDX images and as labels; whatever is read is sound.
fn check_idx(bytes: &[u8]) {
    if let Ok(x) = parse_images(bytes, "p.idx") {
        assert!(x.rows() > 0 && x.cols() > 0);
        assert!(x.data().iter().all(|&v| v.fract() == 0.0 && (0.0..=255.0).contains(&v)));
    }
    if let Ok(labels) = parse_labels(bytes, "p.idx") {
        assert!(!labels.is_empty() && labels.iter().all(|&c| c <= 255));
    }
}

/// A valid IDX file of 1 or 3 dimensions (1 to 3 each) and random bytes.
fn idx_file() -> impl Strategy<Value = Vec<u8>> {
    let dims = prop_oneof![prop::collection::vec(1..4u32, 1), prop::collection::vec(1..4u32, 3)];
    (dims, any::<u64>()).prop_map(|(dims, seed)| {
        let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        let n = dims.iter().product::<u32>() as u64;
        bytes.extend((0..n).map(|i| (seed.rotate_left(i as u32 * 7) & 0xFF) as u8));
        bytes
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idx_reader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), gz_magic in any::<bool>()) {
        let bytes = if gz_magic { [&[0x1F, 0x8B][..], &bytes].concat() } else { bytes };
        check_idx(&bytes);
    }

    /// A valid file, maybe gzipped, with some bytes overwritten (in the compressed form
    /// when gzipped), the length cut or bytes appended.
    #[test]
    fn idx_reader_never_panics_on_a_damaged_file(
        file in idx_file(),
        zipped in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        mode in 0..3u8,
    ) {
        let intact = file.clone();
        let mut bytes = if zipped { gzip(&file) } else { file };
        for (at, b) in edits.iter() {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        match mode {
            0 => bytes.truncate(cut.index(bytes.len() + 1)),
            1 => bytes.extend(std::iter::repeat_n(0u8, cut.index(16))),
            _ => {}
        }
        check_idx(&bytes);
        if edits.is_empty() && mode == 2 {
            let read = if intact[3] == 3 {
                parse_images(&bytes, "p.idx").map(|x| x.len())
            } else {
                parse_labels(&bytes, "p.idx").map(|l| l.len())
            };
            prop_assert_eq!(read, Ok(intact.len() - 4 - 4 * usize::from(intact[3])), "an intact file reads whole");
        }
    }

    #[test]
    fn init_spec_parser_never_panics_on_any_string(s in any::<String>()) {
        if let Ok(init) = s.parse::<Init>() {
            prop_assert_eq!(init.to_string().parse::<Init>().unwrap(), init);
        }
    }

    #[test]
    fn init_spec_parser_round_trips_near_valid_specs(s in spec()) {
        if let Ok(init) = s.parse::<Init>() {
            prop_assert_eq!(init.to_string().parse::<Init>().unwrap(), init);
        }
    }

    #[test]
    fn csv_loader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_dataset(&bytes);
    }

    #[test]
    fn csv_loader_never_panics_on_near_valid_text(text in near_csv()) {
        check_dataset(text.as_bytes());
    }

    #[test]
    fn param_loader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = params_from_bytes(&bytes);
    }

    /// A valid file with some bytes overwritten, the length cut or bytes appended.
    #[test]
    fn param_loader_never_panics_on_a_damaged_file(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        mode in 0..3u8,
    ) {
        let mut bytes = params_to_bytes(&store(), &BTreeMap::new()).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        match mode {
            0 => bytes.truncate(cut.index(bytes.len() + 1)),
            1 => bytes.extend(std::iter::repeat_n(0u8, cut.index(16))),
            _ => {}
        }
        if let Ok(saved) = params_from_bytes(&bytes) {
            for (_, t) in saved.params.iter() {
                prop_assert_eq!(t.len(), t.rows() * t.cols());
            }
        }
    }
}

#[test]
fn an_intact_file_loads_back_exactly() {
    let bytes = params_to_bytes(&store(), &BTreeMap::new()).unwrap();
    let saved = params_from_bytes(&bytes).unwrap();
    for (name, t) in store().iter() {
        let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&saved.params[name]), bits(t));
    }
}
