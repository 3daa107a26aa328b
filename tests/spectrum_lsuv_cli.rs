//! `tapegrad jacobian` and `train --init lsuv` from the command line: a linear
//! orthogonal network's singular values are all 1, the JSON carries every documented
//! field, the page and histogram are written, bad arguments exit with code 2, and LSUV
//! brings the digits network's hidden layers, those inside residual blocks included, to
//! unit variance or says why it did not.

use std::process::{Command, Output};

use serde_json::Value;

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).output().expect("run tapegrad")
}

fn json_of(args: &[&str], out: &str) -> Value {
    let mut all = args.to_vec();
    all.extend(["--json", "--out", out]);
    let Output { status, stdout, stderr } = tapegrad(&all);
    assert!(status.success(), "{all:?}: {}", String::from_utf8_lossy(&stderr));
    serde_json::from_slice(&stdout).expect("JSON on standard output")
}

#[test]
fn a_linear_orthogonal_network_has_every_singular_value_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let args = ["jacobian", "--activation", "identity", "--init", "orthogonal", "--layers", "12", "--width", "48"];
    let v = json_of(&[&args[..], &["--seeds", "3"]].concat(), &out);
    assert_eq!((v["predicted_eig_mean"].as_f64(), v["predicted_eig_var"].as_f64()), (Some(1.0), Some(0.0)));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        let s = run["singular_values"].as_array().unwrap();
        assert_eq!(s.len(), 48);
        assert!(s.iter().all(|x| (x.as_f64().unwrap() - 1.0).abs() < 1e-10), "{run}");
        assert!((run["eig_mean"].as_f64().unwrap() - 1.0).abs() < 1e-10);
        assert!(run["eig_var"].as_f64().unwrap() < 1e-18);
    }
    assert!(dir.path().join("index.html").is_file());
    let svg = std::fs::read_to_string(dir.path().join("jacobian_singular_values.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("singular value"));
}

#[test]
fn tanh_gets_a_prediction_and_a_constant_init_says_it_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let args = ["jacobian", "--activation", "tanh", "--init", "xavier", "--layers", "3", "--width", "8"];
    let v = json_of(&args, &out);
    let (mean, var) = (v["predicted_eig_mean"].as_f64().unwrap(), v["predicted_eig_var"].as_f64().unwrap());
    // Below 1 (each layer's σ_w² E[φ'²] is), and the variance at least the weights' L m₁².
    assert!(mean > 0.1 && mean < 1.0 && var > 3.0 * mean * mean, "{mean} {var}");
    let args = ["jacobian", "--activation", "tanh", "--init", "constant:0.1", "--layers", "3", "--width", "8"];
    assert!(json_of(&args, &out)["predicted_eig_var"].is_null());
    let text = tapegrad(&[&args[..], &["--out", &out]].concat());
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("none for this initializer"));
}

#[test]
fn bad_jacobian_arguments_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    for (args, message) in [
        (vec!["--layers", "0"], "at least 1"),
        (vec!["--width", "0"], "at least 1"),
        (vec!["--width", "100000"], "--width is 100000"),
        (vec!["--layers", "100000000", "--width", "4000"], "the weights"),
        (vec!["--activation", "softplus"], "unknown activation"),
        (vec!["--init", "lsuv"], "only `train` and `depth` have"),
    ] {
        let mut all = vec!["jacobian", "--out", &out];
        all.extend(&args);
        let o = tapegrad(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn lsuv_on_the_digits_reports_every_hidden_layer() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let layers = "dense:64,tanh,dense:32,relu,dense:32,relu";
    let v = json_of(&["train", "--dataset", "digits", "--init", "lsuv", "--layers", layers, "--epochs", "2"], &out);
    let report = v["lsuv"].as_array().unwrap();
    let names: Vec<&str> = report.iter().map(|l| l["weight"].as_str().unwrap()).collect();
    assert_eq!(names, ["dense0.weight", "dense2.weight", "dense4.weight"]);
    for l in report {
        let (variance, iterations) = (l["variance"].as_f64().unwrap(), l["iterations"].as_u64().unwrap());
        if l["converged"].as_bool().unwrap() {
            assert!((variance - 1.0).abs() <= 0.1, "{l}");
        } else {
            assert_eq!(iterations, 10, "{l}");
        }
    }
    // Without LSUV there is no report.
    let plain = json_of(&["train", "--dataset", "digits", "--layers", layers, "--epochs", "1"], &out);
    assert!(plain["lsuv"].is_null());
}

#[test]
fn lsuv_where_there_is_no_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    for args in [vec!["jacobian", "--init", "lsuv"], vec!["compare", "--init", "lsuv"]] {
        let mut all = args.clone();
        all.extend(["--out", &out]);
        let o = tapegrad(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("`lsuv` rescales layers on a batch of data"), "{args:?}: {err}");
    }
}

#[test]
fn lsuv_reaches_the_dense_layers_inside_residual_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let layers = "dense:32,batchnorm,relu,residual(dense:32,relu,dense:32)";
    let v = json_of(&["train", "--dataset", "digits", "--init", "lsuv", "--layers", layers, "--epochs", "1"], &out);
    let report = v["lsuv"].as_array().unwrap();
    let names: Vec<&str> = report.iter().map(|l| l["weight"].as_str().unwrap()).collect();
    assert_eq!(names, ["dense0.weight", "residual3.dense0.weight", "residual3.dense2.weight"]);
    assert!(report.iter().all(|l| l["converged"].as_bool().unwrap()), "{report:?}");
}

#[test]
fn depth_fits_lsuv_on_a_second_batch_and_on_the_training_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let args = ["depth", "--init", "he,lsuv", "--layers", "8", "--width", "200", "--batch", "64", "--train", "3"];
    let v = json_of(&args, &out);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["lsuv"].is_null(), "he: no LSUV report");
    assert_eq!(runs[1]["init"], "lsuv");
    let report = runs[1]["lsuv"].as_array().unwrap();
    assert_eq!(report.len(), 8, "one entry per layer");
    for l in report {
        assert_eq!(l["converged"], true, "{l}");
        assert!((l["variance"].as_f64().unwrap() - 1.0).abs() <= 0.1, "{l}");
    }
    // Fitted on another batch than the one measured: the measured outputs' RMS is near,
    // not pinned to, √(1/2) = 0.71 (ReLU of a unit-variance pre-activation); at width 200
    // and 64 rows the batch-to-batch spread stays within 0.60 to 0.80 (study::depth's test).
    let rms: Vec<f64> = runs[1]["layers"].as_array().unwrap().iter().map(|l| l["rms"].as_f64().unwrap()).collect();
    assert!(rms.iter().all(|r| (0.5..0.95).contains(r)), "{rms:?}");
    // In training, LSUV is fitted on the training inputs: the 8 hidden layers and the head.
    let trained = v["training"].as_array().unwrap();
    assert!(trained[0]["lsuv"].is_null());
    assert_eq!(trained[1]["lsuv"].as_array().unwrap().len(), 9);
}
