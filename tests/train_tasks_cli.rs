//! Proves `tapegrad train` beyond binary CSV files: the digits reach 95 % test accuracy
//! with a 64 → 128 → 10 network on a stratified split (and train with a batch norm and
//! with a residual block), a regression CSV trains to R² ≥ 0.95, and a three-class CSV
//! reports its confusion matrix; the task is inferred from the targets and reported.

use std::process::{Command, Output};

use serde_json::Value;

fn train_json(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let mut all = vec!["train", "--json", "--out", &out];
    all.extend_from_slice(args);
    let Output { status, stdout, stderr } =
        Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(&all).output().expect("run tapegrad");
    assert!(status.success(), "{all:?}: {}", String::from_utf8_lossy(&stderr));
    serde_json::from_slice(&stdout).expect("JSON on standard output")
}

#[test]
fn the_digits_reach_95_percent_and_train_with_batch_norm_and_residual_blocks() {
    let base = ["--dataset", "digits", "--optimizer", "adam", "--test-fraction", "0.2", "--epochs", "300"];
    let plain = train_json(&[&base[..], &["--hidden", "128"]].concat());
    assert_eq!(plain["task"], "multiclass");
    assert_eq!(plain["outputs"], 10);
    assert_eq!(plain["n_test"], 359);
    let acc = plain["test_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.95, "test accuracy {acc}");
    let confusion = plain["test_confusion"].as_array().unwrap();
    // Stratified: each class's share of the 359 test samples is its share of the data.
    let per_class: Vec<u64> =
        confusion.iter().map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum()).collect();
    assert_eq!(per_class.iter().sum::<u64>(), 359);
    assert!(per_class.iter().all(|&n| (34..=37).contains(&n)), "{per_class:?}");
    for layers in ["dense:128,batchnorm,relu", "dense:64,relu,residual(dense:64,relu,dense:64)"] {
        let run = train_json(&[&base[..], &["--layers", layers]].concat());
        let acc = run["test_accuracy"].as_f64().unwrap();
        assert!(acc >= 0.9, "{layers}: test accuracy {acc}");
    }
}

#[test]
fn a_regression_csv_trains_to_r2_above_095() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wave.csv");
    let mut text = String::from("x1,x2,y\n");
    for i in 0..300 {
        let (a, b) = ((i as f64 * 0.37).sin() * 2.0, (i as f64 * 0.61).cos() * 2.0);
        text += &format!("{a},{b},{}\n", a.sin() + 0.5 * b * b);
    }
    std::fs::write(&path, text).unwrap();
    let run = train_json(&[
        "--data",
        path.to_str().unwrap(),
        "--hidden",
        "32,32",
        "--activation",
        "tanh",
        "--init",
        "xavier_normal",
        "--optimizer",
        "adam",
        "--epochs",
        "1500",
    ]);
    assert_eq!(run["task"], "regression");
    let r2 = run["test_r2"].as_f64().unwrap();
    assert!(r2 >= 0.95, "test R² {r2}, RMSE {}", run["test_rmse"]);
    assert!(run["test_accuracy"].is_null() || run["test_accuracy"].as_f64().is_none());
}

#[test]
fn a_three_class_csv_reports_its_confusion_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.csv");
    let mut text = String::new();
    for i in 0..90 {
        let c = i % 3;
        let (x, y) = ([0.0, 4.0, -4.0][c] + (i as f64 * 0.7).sin(), [4.0, -2.0, -2.0][c] + (i as f64 * 1.3).cos());
        text += &format!("{x},{y},{c}\n");
    }
    std::fs::write(&path, text).unwrap();
    let run = train_json(&["--data", path.to_str().unwrap(), "--optimizer", "adam", "--epochs", "300"]);
    assert_eq!(run["task"], "multiclass");
    let confusion: Vec<Vec<u64>> = serde_json::from_value(run["test_confusion"].clone()).unwrap();
    assert_eq!(confusion.len(), 3);
    assert_eq!(confusion.iter().flatten().sum::<u64>(), run["n_test"].as_u64().unwrap());
    let diagonal: u64 = (0..3).map(|c| confusion[c][c]).sum();
    let acc = run["test_accuracy"].as_f64().unwrap();
    assert_eq!(acc, diagonal as f64 / run["n_test"].as_f64().unwrap());
    assert_eq!(run["test_per_class_accuracy"].as_array().unwrap().len(), 3);
}

/// MNIST-format files: images as IDX (gzipped) and labels as IDX, written here from the
/// digits (each 8 × 8 image, pixels 0..16 scaled to bytes), train a multi-class model;
/// images and labels of different counts are an error with exit code 2.
#[test]
fn idx_files_train_with_labels() {
    use std::io::Write;
    let idx = |dims: &[u32], data: &[u8]| {
        let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        bytes.extend_from_slice(data);
        bytes
    };
    let digits = tapegrad::data::digits();
    let n = 600;
    let pixels: Vec<u8> = digits.x.data()[..n * 64].iter().map(|&v| (v * 15.0) as u8).collect();
    let labels: Vec<u8> = digits.y.data()[..n].iter().map(|&v| v as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images-idx3-ubyte.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx(&[n as u32, 8, 8], &pixels)).unwrap();
    std::fs::write(&images, gz.finish().unwrap()).unwrap();
    let label_file = dir.path().join("labels-idx1-ubyte");
    std::fs::write(&label_file, idx(&[n as u32], &labels)).unwrap();
    let (images, label_file) = (images.to_str().unwrap(), label_file.to_str().unwrap());
    let run = train_json(&[
        "--data",
        images,
        "--labels",
        label_file,
        "--hidden",
        "64",
        "--optimizer",
        "adam",
        "--epochs",
        "200",
    ]);
    assert_eq!(run["task"], "multiclass");
    assert_eq!(run["samples"], n);
    assert!(run["test_accuracy"].as_f64().unwrap() > 0.85, "{}", run["test_accuracy"]);

    let short = dir.path().join("short-labels");
    std::fs::write(&short, idx(&[10], &labels[..10])).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["train", "--data", images, "--labels", short.to_str().unwrap(), "--out", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A saved model carries its task: loaded without `--task`, a regression model saved
/// from 0/1 targets (which alone would read as binary) is evaluated as regression.
#[test]
fn a_loaded_model_keeps_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    let rows: String = (0..40).map(|i| format!("{},{}\n", i as f64 / 10.0, i % 2)).collect();
    std::fs::write(&data, rows).unwrap();
    let (data, model) = (data.to_str().unwrap(), dir.path().join("m.safetensors"));
    let model = model.to_str().unwrap();
    let saved = train_json(&["--data", data, "--task", "regression", "--epochs", "20", "--save", model]);
    assert_eq!(saved["task"], "regression");
    let loaded = train_json(&["--data", data, "--load", model, "--epochs", "0"]);
    assert_eq!(loaded["task"], "regression");
    assert_eq!(loaded["train_rmse"], saved["train_rmse"]);
}

/// `--compare-with` draws an earlier run's cost history (its `--json` output) in the
/// same figure; a file that is not such output is a usage error naming the file.
#[test]
fn an_earlier_runs_costs_are_drawn_beside_this_runs() {
    let dir = tempfile::tempdir().unwrap();
    let base = ["--dataset", "digits", "--hidden", "8", "--epochs", "5"];
    let earlier = train_json(&[&base[..], &["--init", "xavier_normal"]].concat());
    assert_eq!(earlier["costs"].as_array().map(Vec::len), Some(5));
    let file = dir.path().join("earlier.json");
    std::fs::write(&file, earlier.to_string()).unwrap();
    let out = dir.path().join("out");
    let run = |with: &std::path::Path| {
        let args = ["train", "--out", out.to_str().unwrap(), "--compare-with", with.to_str().unwrap()];
        Command::new(env!("CARGO_BIN_EXE_tapegrad")).args([&args[..], &base[..]].concat()).output().unwrap()
    };
    let ok = run(&file);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let svg = std::fs::read_to_string(out.join("cost_curve.svg")).unwrap();
    assert!(svg.contains("gd init xavier_normal") && svg.contains("gd init he"), "both runs are labelled");

    let not_json = dir.path().join("costs.txt");
    std::fs::write(&not_json, "2.3 2.2").unwrap();
    for bad in [not_json.clone(), dir.path().join("missing.json")] {
        let failed = run(&bad);
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert_eq!(failed.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("--compare-with {}", bad.display())), "{stderr}");
    }
}
