//! Mean-field theory against measurement, and the `theory` and `phase` commands.
//!
//! Tolerances of the measurement (width N, S seeds, layer l), 4 standard errors of the
//! mean over seeds:
//! - length: a layer's `q̂` is the mean of N squared Gaussians, relative std `√(2/N)`;
//!   each layer adds that and passes on the error before it times the slope `χ_q < 1`
//!   of the length map, so the relative variance is at most `(2/N) · min(l, 1/(1 − χ_q²))`;
//! - correlation: the sample correlation of N Gaussian pairs of correlation `c` has std
//!   `(1 − c²)/√N`; with the map's slope at most 1 over the layers compared, the
//!   variance at layer l is at most `Σ_{k ≤ l} (1 − c_k²)² / N`.

use std::path::Path;
use std::process::{Command, Output};

use tapegrad::nn::Activation;
use tapegrad::study::propagation::{Probe, measure};
use tapegrad::study::theory::MeanField;

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).output().expect("run tapegrad")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

fn rejects(args: &[&str], message: &str) {
    let out = tapegrad(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} exited with {:?}: {stderr}", out.status.code());
    assert!(stderr.contains(message), "{args:?}: expected `{message}` in:\n{stderr}");
}

#[test]
fn measured_length_and_correlation_follow_the_theory() {
    let (n, seeds) = (400usize, 10usize);
    let probe = Probe { layers: 15, width: n, q0: 1.0, c0: 0.5 };
    let seed_list: Vec<u64> = (0..seeds as u64).collect();
    let se = |var: f64| (var / seeds as f64).sqrt();
    for (activation, sw2, sb2) in
        [(Activation::Tanh, 1.5, 0.05), (Activation::Tanh, 3.0, 0.05), (Activation::Relu, 1.8, 0.1)]
    {
        let field = MeanField::new(activation, sw2, sb2);
        let chi_q = field.fixed_point().chi_q;
        let m = measure(&field, &probe, &seed_list, &|| {});
        let mut c_var = 0.0;
        for (l, r) in m.layers.iter().enumerate() {
            let layers = (l + 1) as f64;
            let q_var = 2.0 / n as f64 * layers.min(1.0 / (1.0 - chi_q * chi_q));
            let q_tol = 4.0 * r.q_theory * se(q_var);
            assert!(
                (r.q_measured - r.q_theory).abs() <= q_tol,
                "{activation} σ_w² {sw2} layer {}: q {} vs theory {} (tolerance {q_tol})",
                l + 1,
                r.q_measured,
                r.q_theory
            );
            c_var += (1.0 - r.c_theory * r.c_theory).powi(2) / n as f64;
            let c_tol = 4.0 * se(c_var);
            assert!(
                (r.c_measured - r.c_theory).abs() <= c_tol,
                "{activation} σ_w² {sw2} layer {}: c {} vs theory {} (tolerance {c_tol})",
                l + 1,
                r.c_measured,
                r.c_theory
            );
        }
    }
    // Ordered tanh (ξ_c ≈ 5.9): the correlations approach 1 at the rate the theory gives,
    // within a factor of 2 of the same fit on the theory's own trajectory.
    let field = MeanField::new(Activation::Tanh, 1.2, 0.05);
    let m = measure(&field, &Probe { layers: 25, ..probe }, &seed_list, &|| {});
    let (measured, exact) = (m.xi_c_measured.unwrap(), m.xi_c_theory_fit.unwrap());
    assert!(measured > exact / 2.0 && measured < exact * 2.0, "ξ_c {measured} vs {exact}");
}

#[test]
fn theory_prints_the_fixed_point_and_finds_the_critical_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t").display().to_string();
    let v =
        json(&tapegrad(&["theory", "--activation", "tanh", "--sw2", "1.5", "--sb2", "0.05", "--json", "--out", &out]));
    let p = MeanField::with_nodes(Activation::Tanh, 1.5, 0.05, 150).fixed_point();
    for (key, want) in [("q_star", p.q_star), ("c_star", p.c_star), ("chi_1", p.chi_1), ("chi_c", p.chi_c)] {
        assert_eq!(v[key].as_f64(), Some(want), "{key}");
    }
    assert_eq!(v["xi_c"].as_f64(), Some(p.xi_c));
    assert_eq!(v["phase"], "ordered");
    assert!(Path::new(&out).join("index.html").exists());

    let v = json(&tapegrad(&["theory", "--critical", "--sb2", "0.05", "--json", "--out", &out]));
    let critical = v["critical_sw2"].as_f64().unwrap();
    assert!((critical - 1.76).abs() < 0.005, "{critical}");
    assert!((v["chi_1"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert!(v["xi_c"].is_null(), "ξ_c is infinite at the critical point, null in JSON");

    let args = ["theory", "--sw2", "1.2", "--layers", "6", "--width", "50", "--seeds", "3", "--json", "--out", &out];
    let v = json(&tapegrad(&args));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 6);
    for key in ["q_theory", "q_measured", "c_theory", "c_measured"] {
        assert!(layers.iter().all(|l| l[key].as_f64().is_some_and(f64::is_finite)), "{key}");
    }
    assert!(v.get("xi_c_measured").is_some());
    for file in ["theory_q.svg", "theory_c.svg", "index.html"] {
        assert!(Path::new(&out).join(file).exists(), "{file}");
    }
}

#[test]
fn phase_writes_the_grid_and_the_critical_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p").display().to_string();
    let v = json(&tapegrad(&["phase", "--sw2", "1:4:7", "--sb2", "0:0.2:3", "--json", "--out", &out]));
    let xi = v["xi_c"].as_array().unwrap();
    assert_eq!(xi.len(), 3);
    assert!(xi.iter().all(|row| row.as_array().unwrap().len() == 7));
    let critical: Vec<f64> = v["critical_sw2"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect();
    assert!((critical[0] - 1.0).abs() < 1e-9, "σ_b² = 0 ends the line at σ_w² = 1: {critical:?}");
    assert!(critical.windows(2).all(|w| w[0] < w[1]), "the line rises with σ_b²: {critical:?}");
    let svg = std::fs::read_to_string(Path::new(&out).join("phase.svg")).unwrap();
    assert!(svg.contains("χ_1 = 1"));
    assert!(Path::new(&out).join("index.html").exists());
}

#[test]
fn bad_theory_and_phase_arguments_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o").display().to_string();
    let o = out.as_str();
    rejects(&["theory", "--sw2", "0", "--out", o], "`0` must be a finite number greater than 0");
    rejects(&["theory", "--sw2=-1", "--out", o], "must be a finite number greater than 0");
    rejects(&["theory", "--sw2", "1", "--sb2=-0.1", "--out", o], "`-0.1` must be a finite number ≥ 0");
    rejects(&["theory", "--out", o], "give --sw2 (σ_w², greater than 0) or --critical");
    rejects(&["theory", "--sw2", "1", "--c0", "2", "--out", o], "`2` must be a correlation, in [-1, 1]");
    rejects(&["theory", "--sw2", "1", "--nodes", "0", "--out", o], "1 to 150 are supported");
    rejects(&["theory", "--sw2", "1", "--layers", "0", "--out", o], "must be at least 1");
    rejects(&["theory", "--sw2", "1", "--layers", "1000", "--width", "100000", "--out", o], "(the weights) is");
    rejects(&["theory", "--sw2", "1", "--critical", "--out", o], "cannot be used with");
    rejects(&["phase", "--sw2", "1:2:0", "--out", o], "is empty: N must be at least 1");
    rejects(&["phase", "--sw2", "0:2:5", "--out", o], "σ_w² must be greater than 0");
    rejects(&["phase", "--sb2=-1:2:5", "--out", o], "σ_b² must be at least 0");
    rejects(&["phase", "--sw2", "3:2:5", "--out", o], "B must be greater than A");
    rejects(&["phase", "--sw2", "1:2:50000", "--sb2", "0:1:50000", "--out", o], "(the grid points) is");
    rejects(&["depth", "--sw2", "0", "--out", o], "must be a finite number greater than 0");
    rejects(&["depth", "--sw2", "1.5", "--init", "he", "--out", o], "cannot be used with");
    rejects(&["depth", "--bias-init", "nope", "--out", o], "unknown initializer `nope`");
}
