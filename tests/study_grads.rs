//! Proves that `tapegrad grads` tells the truth: the JSON it writes lets the loss and
//! every gradient be recomputed with plain loops written here, independently of the
//! tape, to 1e-9; zero initialization gives exactly zero weight gradients and He
//! initialization non-zero ones in every layer; bad arguments exit with code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).output().expect("the binary runs")
}

fn json_of(args: &[&str], name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("grads-{name}.json"));
    let mut all = args.to_vec();
    let p = path.to_str().unwrap();
    all.extend(["--json", p]);
    let out = tapegrad(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// A dense layer as the JSON describes it: `w` is `inputs x outputs`, row-major.
struct Layer {
    inputs: usize,
    outputs: usize,
    w: Vec<f64>,
    b: Vec<f64>,
    relu: bool,
}

/// The loss and the gradient of every parameter (weight, bias per layer), by hand.
fn recompute(doc: &Value) -> (f64, Vec<Vec<f64>>) {
    let sizes: Vec<usize> =
        doc["model"]["layers"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let acts: Vec<&str> = doc["model"]["activations"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let params = doc["parameters"].as_array().unwrap();
    let layers: Vec<Layer> = (0..sizes.len() - 1)
        .map(|l| Layer {
            inputs: sizes[l],
            outputs: sizes[l + 1],
            w: floats(&params[2 * l]["values"]),
            b: floats(&params[2 * l + 1]["values"]),
            relu: match acts[l] {
                "relu" => true,
                "identity" => false,
                other => panic!("unexpected activation {other}"),
            },
        })
        .collect();
    let x: Vec<Vec<f64>> = doc["x"].as_array().unwrap().iter().map(floats).collect();
    let y = floats(&doc["y"]);
    let n = x.len() as f64;
    let loss_kind = doc["model"]["loss"]["name"].as_str().unwrap();
    let eps = doc["model"]["loss"]["eps"].as_f64();
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());

    let mut grads: Vec<Vec<f64>> = layers.iter().flat_map(|l| [vec![0.0; l.w.len()], vec![0.0; l.b.len()]]).collect();
    let mut total = 0.0;
    for (xi, &yi) in x.iter().zip(&y) {
        // Forward, keeping each layer's input and pre-activation.
        let mut inputs = Vec::new();
        let mut pre = Vec::new();
        let mut a = xi.clone();
        for l in &layers {
            let z: Vec<f64> = (0..l.outputs)
                .map(|j| l.b[j] + (0..l.inputs).map(|k| a[k] * l.w[k * l.outputs + j]).sum::<f64>())
                .collect();
            inputs.push(a);
            a = z.iter().map(|&v| if l.relu { v.max(0.0) } else { v }).collect();
            pre.push(z);
        }
        let z = a[0];
        // Loss and its derivative with respect to the logit.
        let dz = match loss_kind {
            "bce_with_logits" => {
                total += z.max(0.0) - z * yi + (1.0 + (-z.abs()).exp()).ln();
                (sigmoid(z) - yi) / n
            }
            "binary_cross_entropy" => {
                let (p, e) = (sigmoid(z), eps.unwrap());
                total += -(yi * (p + e).ln() + (1.0 - yi) * (1.0 - p + e).ln());
                -(yi / (p + e) - (1.0 - yi) / (1.0 - p + e)) / n * p * (1.0 - p)
            }
            other => panic!("unexpected loss {other}"),
        };
        // Backward, layer by layer.
        let mut delta = vec![dz];
        for (i, l) in layers.iter().enumerate().rev() {
            for k in 0..l.inputs {
                for j in 0..l.outputs {
                    grads[2 * i][k * l.outputs + j] += inputs[i][k] * delta[j];
                }
            }
            for j in 0..l.outputs {
                grads[2 * i + 1][j] += delta[j];
            }
            if i > 0 {
                let below = &layers[i - 1];
                delta = (0..l.inputs)
                    .map(|k| {
                        let back: f64 = (0..l.outputs).map(|j| l.w[k * l.outputs + j] * delta[j]).sum();
                        let slope = if below.relu && pre[i - 1][k] <= 0.0 { 0.0 } else { 1.0 };
                        back * slope
                    })
                    .collect();
            }
        }
    }
    (total / n, grads)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

fn check(args: &[&str], name: &str) -> Value {
    let doc = json_of(args, name);
    let (loss, grads) = recompute(&doc);
    let reported = doc["loss"].as_f64().unwrap();
    assert!(close(reported, loss), "{name}: loss {reported} vs recomputed {loss}");
    let tape_grads = doc["gradients"].as_array().unwrap();
    assert_eq!(tape_grads.len(), grads.len());
    for (g, mine) in tape_grads.iter().zip(&grads) {
        let theirs = floats(&g["values"]);
        let shape: Vec<usize> = g["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(shape[0] * shape[1], theirs.len(), "{name}: {} shape", g["name"]);
        assert_eq!(theirs.len(), mine.len(), "{name}: {}", g["name"]);
        for (i, (t, m)) in theirs.iter().zip(mine).enumerate() {
            assert!(close(*t, *m), "{name}: {}[{i}] = {t}, recomputed {m}", g["name"]);
        }
    }
    doc
}

#[test]
fn json_gradients_match_an_independent_computation() {
    let doc = check(&["grads", "--init", "he"], "he");
    assert_eq!(doc["model"]["layers"], serde_json::json!([2, 12, 6, 1]));
    assert_eq!(doc["x"].as_array().unwrap().len(), 400);
    // The seed's test set rides along, for training elsewhere from the same data: 100
    // points, balanced, and not the first 100 training points.
    let test_x = doc["test"]["x"].as_array().unwrap();
    assert_eq!(test_x.len(), 100);
    assert_eq!(floats(&doc["test"]["y"]).iter().sum::<f64>(), 50.0);
    assert_ne!(test_x[0], doc["x"][0]);
    assert!(floats(&doc["gradients"][0]["values"]).iter().any(|&g| g != 0.0), "a real check, not zeros against zeros");
    check(&["grads", "--init", "normal:10", "--seed", "3"], "normal10");
    check(&["grads", "--init", "xavier_uniform", "--loss", "clipped", "--output-init", "he"], "clipped");
    let zeros = check(&["grads", "--init", "zeros"], "zeros");
    assert!((zeros["loss"].as_f64().unwrap() - std::f64::consts::LN_2).abs() < 1e-14, "every p is 0.5");
}

#[test]
fn zero_init_prints_exact_zeros_and_explains_them() {
    let out = tapegrad(&["grads", "--init", "zeros"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (name, count) in [("dense0.weight", 24), ("dense1.weight", 72), ("dense2.weight", 6)] {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {text}"));
        assert!(line.ends_with(&format!("{count}/{count}")), "{line}");
    }
    let why = text.lines().filter(|l| l.starts_with("why: ")).collect::<Vec<_>>();
    assert_eq!(why.len(), 1, "one line of explanation");
    assert!(why[0].contains("every weight gradient is exactly 0") && why[0].contains("relu'(0) = 0"), "{}", why[0]);
}

#[test]
fn he_init_gives_every_layer_a_gradient() {
    let out = tapegrad(&["grads", "--init", "he"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["dense0.weight", "dense1.weight", "dense2.weight"] {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        let norm: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(norm > 0.0, "{line}");
    }
}

#[test]
fn bad_arguments_exit_with_code_2() {
    for args in [
        &["grads", "--init", "hee"][..],
        &["grads"],
        &["grads", "--init", "he", "--loss", "nope"],
        &["grads", "--init", "he", "--json", "/nonexistent-dir/x.json"],
        &["depth", "--layers", "0"],
        &["depth", "--activation", "swish"],
        &["depth", "--layers", "100000", "--width", "1000"],
        &["graph", "--samples", "0"],
        &["compare", "--epochs", "0"],
    ] {
        let out = tapegrad(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{args:?}");
    }
}
