//! Proves the depth-sweep claim at the real depth and width: through 50 ReLU layers of
//! width 100, over 10 seeds, the median ratio of the last layer's activation RMS to the
//! first's stays within [1/3, 3] under He initialization, falls below 1e-30 under
//! normal:0.01 and rises above 1e30 under normal:1, with every number finite. (The batch
//! is 32 rows instead of the CLI's 256 to keep the test fast; docs/study.md has the
//! 256-row numbers.) Also that `--json` prints every layer of every initializer and seed.

use std::process::Command;

use tapegrad::init::Init;
use tapegrad::nn::Activation;
use tapegrad::study::depth::{DepthConfig, sweep};
use tapegrad::study::median;

#[test]
fn he_keeps_the_signal_small_normals_lose_it_large_normals_blow_it_up() {
    let config = DepthConfig { layers: 50, width: 100, activation: Activation::Relu, batch: 32, bias: Init::Zeros };
    let inits = [Init::HeNormal, Init::Normal(0.01), Init::Normal(1.0)];
    let seeds: Vec<u64> = (0..10).collect();
    let runs = sweep(&inits, &seeds, &config, &|| {});
    assert_eq!(runs.len(), 30);
    let ratio = |init: Init| {
        let mine: Vec<f64> = runs.iter().filter(|r| r.init == init).map(|r| r.rms_ratio()).collect();
        assert_eq!(mine.len(), 10);
        assert!(mine.iter().all(|r| r.is_finite() && *r > 0.0), "{init}: {mine:?}");
        median(&mine)
    };
    let he = ratio(Init::HeNormal);
    assert!((1.0 / 3.0..=3.0).contains(&he), "he: {he}");
    let small = ratio(Init::Normal(0.01));
    assert!(small < 1e-30, "normal:0.01: {small}");
    let large = ratio(Init::Normal(1.0));
    assert!(large > 1e30, "normal:1: {large}");
    assert!(runs.iter().all(|r| r.anomaly.is_none()), "f64 holds 1e42 and 1e-57 without overflow");
}

#[test]
fn json_lists_every_layer_of_every_run() {
    let dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/depth-json");
    let out = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["depth", "--layers", "6", "--width", "8", "--batch", "16", "--init", "he,normal:1", "--seeds", "3"])
        .args(["--json", "--out", dir])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let runs = doc["runs"].as_array().unwrap();
    let keys: Vec<(String, u64)> =
        runs.iter().map(|r| (r["init"].as_str().unwrap().to_string(), r["seed"].as_u64().unwrap())).collect();
    let want: Vec<(String, u64)> =
        ["he", "normal:1"].iter().flat_map(|i| (0..3).map(move |s| (i.to_string(), s))).collect();
    assert_eq!(keys, want);
    for r in runs {
        let layers = r["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 6);
        let (first, last) = (layers[0]["rms"].as_f64().unwrap(), layers[5]["rms"].as_f64().unwrap());
        let ratio = r["rms_ratio"].as_f64().unwrap();
        assert!((ratio / (last / first) - 1.0).abs() < 1e-12, "{ratio} vs {}", last / first);
        assert!(layers.iter().all(|l| l["grad_norm"].as_f64().unwrap() > 0.0));
    }
}
