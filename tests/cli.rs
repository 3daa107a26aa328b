//! Runs the `tapegrad` binary as a user would. Bad arguments and bad files exit with
//! code 2 and a message that names the problem; `train` learns circles from a CSV file
//! written by `tapegrad dataset`, and a saved model loaded back with `--epochs 0` scores
//! exactly the same.

use std::path::Path;
use std::process::{Command, Output};

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).output().expect("run tapegrad")
}

/// Runs `args`, checks exit code 2 and that standard error contains `message`.
fn rejects(args: &[&str], message: &str) {
    let out = tapegrad(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} exited with {:?}: {stderr}", out.status.code());
    assert!(stderr.contains(message), "{args:?}: expected `{message}` in:\n{stderr}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A small valid data set.
const GOOD: &str = "x1,x2,label\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n0.2,0.1,0\n0.9,0.8,1\n";

#[test]
fn bad_arguments_exit_with_code_2_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", GOOD);
    let out = dir.path().join("out").display().to_string();
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", &data, "--out", &out];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str], message: &str| {
        let args = train(extra);
        rejects(&args.iter().map(String::as_str).collect::<Vec<_>>(), message)
    };
    run(&["--init", "hee"], "unknown initializer `hee`");
    run(&["--lr", "0"], "`0` must be a finite number greater than 0");
    run(&["--epochs", "0"], "--epochs 0 trains nothing");
    run(&["--optimizer", "sgd"], "invalid value 'sgd'");
    run(&["--batch-size", "0"], "must be at least 1");
    run(&["--test-fraction", "1"], "`1` must be at least 0 and less than 1");
    run(&["--activation", "swish"], "unknown activation `swish`");
    run(&["--hidden", "12,x"], "`x` is not a whole number");
    run(&["--hidden", "100000000000"], "--hidden 100000000000: the 2 × 100000000000 weight is 200000000000; at most");
    run(&["--epochs", "100000000000000"], "--epochs (the costs kept) is 100000000000000; at most 100000000");
    rejects(&["train", "--data", "/nonexistent/data.csv", "--out", &out], "/nonexistent/data.csv: cannot read");
    rejects(&["compare", "--init", "he,nope", "--out", &out], "unknown initializer `nope`");
    rejects(&["dataset", "digits", "--seed", "3"], "digits is a fixed data set; --n, --noise, --seed");
    // A data set with an empty class, which `train` would reject.
    rejects(&["dataset", "moons", "--n", "0"], "--n 0: a data set needs at least 2 samples");
    rejects(&["dataset", "circles", "--n", "1"], "--n 1: a data set needs at least 2 samples");
    let two = tapegrad(&["dataset", "moons", "--n", "2"]);
    assert!(two.status.success());
    assert_eq!(String::from_utf8_lossy(&two.stdout).lines().count(), 3, "a header and one point of each class");

    let bad = write(dir.path(), "bad.csv", "x1,x2,label\n1,2,0\n1,two,1\n");
    rejects(&["train", "--data", &bad, "--out", &out], "bad.csv: line 3, column 2: `two` is not a number");
    let ragged = write(dir.path(), "ragged.csv", "1,2,0\n1,2,1\n3,1\n");
    rejects(&["train", "--data", &ragged, "--out", &out], "ragged.csv: line 3: 2 field(s), expected 3");
    // The task follows from the targets, or is stated; targets that do not fit it say why.
    let label = write(dir.path(), "label.csv", "1,2,0\n1,2,2\n");
    rejects(
        &["train", "--data", &label, "--out", &out],
        "label.csv: class 1 of 0..3 has no sample in the training data",
    );
    let half = write(dir.path(), "half.csv", "1,2,0\n1,2,2.5\n3,4,1\n");
    rejects(&["train", "--data", &half, "--task", "binary", "--out", &out], "row 1: label 2.5 is not 0 or 1");
    rejects(
        &["train", "--data", &half, "--task", "multiclass", "--out", &out],
        "row 1: label 2.5 is not a class index",
    );
    rejects(&["train", "--data", &half, "--task", "ranking", "--out", &out], "unknown task `ranking`");
    let one = write(dir.path(), "one.csv", "1,2,1\n3,4,1\n");
    rejects(&["train", "--data", &one, "--out", &out], "every training label is 1; need samples of both classes");
    let many = write(dir.path(), "many.csv", "1,2,0\n3,4,5000\n");
    rejects(&["train", "--data", &many, "--task", "multiclass", "--out", &out], "5001 classes; at most 1000");
    rejects(&["train", "--data", &data, "--layers", "dense:8,swish", "--out", &out], "unknown layer `swish`");
    rejects(&["train", "--data", &data, "--layers", "dense:8,dropout:1.5", "--out", &out], "not in [0, 1)");
    rejects(&["train", "--data", &data, "--layers", "residual(dense:4", "--out", &out], "a `(` is not closed");
    rejects(&["train", "--data", &data, "--layers", "dense:0", "--out", &out], "whole number in 1..=");
    rejects(&["train", "--out", &out], "--data");
    let empty = write(dir.path(), "empty.csv", "");
    rejects(&["train", "--data", &empty, "--out", &out], "empty.csv: no data rows");

    // A regular file where the output folder should be.
    let file = write(dir.path(), "file", "x");
    rejects(&["train", "--data", &data, "--out", &file], "cannot write to output folder");
    let nowhere = dir.path().join("no/such/folder/m.safetensors").display().to_string();
    rejects(&["train", "--data", &data, "--out", &out, "--save", &nowhere], "does not exist");
    let junk = write(dir.path(), "junk.safetensors", "not a model");
    rejects(
        &["train", "--data", &data, "--out", &out, "--load", &junk, "--epochs", "0"],
        "not a valid safetensors file",
    );
}

/// Sizes that could not be allocated are usage errors, not an aborted process.
#[test]
fn sizes_too_large_to_allocate_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let limit = "at most 100000000 is allowed";
    rejects(&["depth", "--batch", "100000000000000", "--out", &out], "--layers × --batch × --width (the activations)");
    rejects(&["depth", "--layers", "1000", "--width", "1000", "--out", &out], "(the weights) is 1000000000; at most");
    rejects(&["dataset", "moons", "--n", "100000000000000000"], limit);
    rejects(&["graph", "--samples", "100000000000000"], limit);
    rejects(&["compare", "--seeds", "100000000000000000", "--out", &out], "--init × --seeds (the runs) is");
    rejects(&["compare", "--epochs", "100000000000", "--out", &out], limit);
}

#[test]
fn loading_parameters_of_another_shape_lists_the_differences() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "good.csv", GOOD);
    let out = dir.path().join("out").display().to_string();
    let model = dir.path().join("m.safetensors").display().to_string();
    let ok = tapegrad(&["train", "--data", &data, "--out", &out, "--epochs", "2", "--hidden", "4", "--save", &model]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    rejects(
        &["train", "--data", &data, "--out", &out, "--epochs", "0", "--hidden", "5,3", "--load", &model],
        "the saved parameters do not match the model:\n  \
         - `dense0.weight` is 2x4 in the file but 2x5 in the model\n  \
         - `dense0.bias` is 1x4 in the file but 1x5 in the model\n  \
         - `dense1.weight` is 4x1 in the file but 5x3 in the model\n  \
         - `dense1.bias` is 1x1 in the file but 1x3 in the model\n  \
         - `dense2.weight` (3x1) is missing from the file",
    );
}

#[test]
fn dataset_digits_writes_the_shipped_digits_as_csv() {
    let out = tapegrad(&["dataset", "digits"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut expected = Vec::new();
    tapegrad::data::digits().write_csv(&mut expected).unwrap();
    assert_eq!(out.stdout, expected);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with(",x63,x64,label"));
    assert_eq!(lines.next().unwrap().split(',').count(), 65);
    assert_eq!(text.lines().count(), 1 + 1797);
}

/// A reader that closes the pipe early (`tapegrad dataset digits | head -1`) ends the
/// command quietly, as it ends `cat`: no panic about a broken pipe, nothing on stderr.
#[test]
fn a_reader_closing_the_pipe_early_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["dataset", "digits"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tapegrad");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("x1,"), "{first}");
    // The reader is dropped here: the rest of the 270 kB no longer fits in the pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr after the pipe closed: {stderr}");
    assert_ne!(out.status.code(), Some(101), "panicked");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

/// Circles with noise 0.1 and the inner radius at 0.5 (at the default 0.8 the classes
/// overlap so much that no classifier passes ~85 %).
#[test]
fn train_learns_circles_from_csv_with_adam_and_a_saved_model_scores_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let csv = tapegrad(&["dataset", "circles", "--n", "400", "--noise", "0.1", "--seed", "1", "--factor", "0.5"]);
    assert!(csv.status.success());
    let data = dir.path().join("circles.csv");
    std::fs::write(&data, &csv.stdout).unwrap();
    let (data, out) = (data.display().to_string(), dir.path().join("out").display().to_string());
    let model = dir.path().join("circles.safetensors").display().to_string();

    let common = ["train", "--data", &data, "--out", &out, "--json", "--seed", "1"];
    let mut args = common.to_vec();
    args.extend(["--optimizer", "adam", "--lr", "0.01", "--epochs", "300", "--save", &model]);
    let trained = json(&tapegrad(&args));
    let test = trained["test_accuracy"].as_f64().unwrap();
    assert!(test >= 0.95, "test accuracy {test}");
    assert_eq!(trained["n_test"], 80);
    assert_eq!(trained["costs"].as_array().unwrap().len(), 300);
    assert!(Path::new(&out).join("decision_boundary.svg").exists());
    assert!(Path::new(&out).join("cost_curve.svg").exists());

    let mut args = common.to_vec();
    args.extend(["--epochs", "0", "--load", &model]);
    let loaded = json(&tapegrad(&args));
    for key in ["train_accuracy", "test_accuracy", "train_cost", "test_cost"] {
        assert_eq!(loaded[key], trained[key], "{key}");
    }

    // Mini-batches of 32 with momentum learn it too.
    let mut args = common.to_vec();
    args.extend(["--optimizer", "momentum", "--lr", "0.05", "--epochs", "60", "--batch-size", "32"]);
    let mini = json(&tapegrad(&args));
    let test = mini["test_accuracy"].as_f64().unwrap();
    assert!(test >= 0.95, "momentum, batches of 32: test accuracy {test}");
}

/// The decision boundary is drawn whenever the first layer is dense (the standardisation
/// is folded into it, whatever follows), and not when it is not.
#[test]
fn train_draws_the_decision_boundary_of_a_model_whose_first_layer_is_dense() {
    let dir = tempfile::tempdir().unwrap();
    let csv = tapegrad(&["dataset", "moons", "--n", "100", "--seed", "2"]);
    assert!(csv.status.success());
    let data = dir.path().join("moons.csv");
    std::fs::write(&data, &csv.stdout).unwrap();
    let data = data.display().to_string();
    for (layers, drawn) in [("dense:8,batchnorm,relu,residual(dense:8,relu)", true), ("batchnorm,dense:8,relu", false)]
    {
        let out = dir.path().join(if drawn { "drawn" } else { "not" }).display().to_string();
        let run = tapegrad(&["train", "--data", &data, "--layers", layers, "--epochs", "5", "--out", &out, "--json"]);
        json(&run);
        assert_eq!(Path::new(&out).join("decision_boundary.svg").exists(), drawn, "{layers}");
    }
}
