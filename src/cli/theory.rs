//! `tapegrad theory`: the mean-field fixed points and depth scales of a deep random
//! network (q*, c*, χ_1, χ_c, ξ_c, χ_q, ξ_q), the order-to-chaos σ_w² with `--critical`,
//! and with `--layers` the predicted and measured length and correlation per layer.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};
use tapegrad::nn::Activation;
use tapegrad::plots::{self, Scale, Series};
use tapegrad::study::propagation::{Measurement, Probe, measure};
use tapegrad::study::quadrature::MAX_NODES;
use tapegrad::study::theory::{FixedPoint, MeanField};

use super::{CliResult, Failure, MAX_ELEMENTS, MAX_RUNS, check_size, figure_error, page, progress, seed_range};
use super::{parse_activation, parse_count, parse_non_negative, parse_positive, writable_dir};

#[derive(Args)]
pub(crate) struct TheoryArgs {
    /// Activation of every layer: relu, tanh, leaky_relu[:A], sigmoid or identity.
    #[arg(long, default_value = "tanh", value_parser = parse_activation)]
    activation: Activation,
    /// σ_w²: weights N(0, SW2/fan_in). Required unless --critical finds it.
    #[arg(long, value_parser = parse_positive)]
    sw2: Option<f64>,
    /// σ_b²: biases N(0, SB2).
    #[arg(long, default_value = "0.05", value_parser = parse_non_negative)]
    sb2: f64,
    /// Find the σ_w² on the order-to-chaos line (χ_1 = 1) at this σ_b², and use it.
    #[arg(long, conflicts_with = "sw2")]
    critical: bool,
    /// Also draw random networks of this many layers and measure q and c per layer.
    #[arg(long, value_parser = parse_count)]
    layers: Option<usize>,
    /// Units per layer of the random networks (and input features).
    #[arg(long, default_value = "500", value_parser = parse_count)]
    width: usize,
    /// Number of random networks (seeds seed, seed+1, ...).
    #[arg(long, default_value = "10", value_parser = parse_count)]
    seeds: usize,
    /// First seed of the networks and their inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Correlation of the two inputs, in [-1, 1].
    #[arg(long, default_value = "0.5", value_parser = parse_correlation)]
    c0: f64,
    /// Mean square of each input's entries.
    #[arg(long, default_value = "1", value_parser = parse_positive)]
    q0: f64,
    /// Gauss–Hermite nodes of the quadrature (tanh and sigmoid).
    #[arg(long, default_value_t = MAX_NODES, value_parser = parse_nodes)]
    nodes: usize,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Folder for the figures and index.html.
    #[arg(long, default_value = "out/theory")]
    out: PathBuf,
}

fn parse_correlation(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (-1.0..=1.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!("`{s}` must be a correlation, in [-1, 1]")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Parses a number of Gauss–Hermite nodes, 1 to [`MAX_NODES`].
pub(crate) fn parse_nodes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_NODES).contains(&n) => Ok(n),
        Ok(_) => Err(format!("`{s}` nodes: 1 to {MAX_NODES} are supported")),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

pub(crate) fn run(a: TheoryArgs) -> CliResult {
    if let Some(layers) = a.layers {
        check_size("--layers × --width × --width (the weights)", &[layers, a.width, a.width], MAX_ELEMENTS)?;
        check_size("--seeds (the networks)", &[a.seeds], MAX_RUNS)?;
    }
    let seeds = seed_range(a.seed, a.seeds)?;
    let out = writable_dir(&a.out)?;
    let mut field = MeanField::with_nodes(a.activation, a.sw2.unwrap_or(1.0), a.sb2, a.nodes);
    let critical = if a.critical {
        let sw2 = field.critical_sw2().ok_or_else(|| {
            Failure::Usage(format!("{}: χ_1 stays below 1 for every σ_w² up to 1e6 at σ_b² = {}", a.activation, a.sb2))
        })?;
        field = field.at(sw2, a.sb2);
        Some(sw2)
    } else {
        let Some(sw2) = a.sw2 else {
            return Err(Failure::Usage("give --sw2 (σ_w², greater than 0) or --critical".to_string()));
        };
        field = field.at(sw2, a.sb2);
        None
    };
    let point = field.fixed_point();
    let measured = a.layers.map(|layers| {
        let probe = Probe { layers, width: a.width, q0: a.q0, c0: a.c0 };
        let bar = progress::bar(seeds.len() as u64, "random networks", a.json);
        let m = measure(&field, &probe, &seeds, &|| bar.inc(1));
        bar.finish_and_clear();
        m
    });

    if a.json {
        println!("{}", to_json(&a, &field, &point, critical, measured.as_ref()));
    } else {
        print_report(&a, &field, &point, critical, measured.as_ref());
    }
    let figures = match &measured {
        Some(m) => write_figures(&out, &field, m).map_err(figure_error(&out))?,
        None => Vec::new(),
    };
    let title = "tapegrad theory: mean-field signal propagation";
    let seeds_line = match &measured {
        Some(_) => format!("Seeds {} to {}.", seeds[0], seeds[seeds.len() - 1]),
        None => "No random networks (add --layers L).".to_string(),
    };
    let mut report = page::start(title, &seeds_line);
    report.heading("Results").paragraph(describe(&field));
    report.table(&["quantity", "value"], &summary_rows(&point, critical));
    if let Some(m) = &measured {
        report.paragraph(probe_line(&a, m));
        report.table(&LAYER_HEADER, &layer_rows(m));
    }
    let index = page::finish(&out, report, std::slice::from_ref(&figures))?;
    if !a.json {
        println!("\nindex.html and figures written to {}", index.parent().unwrap_or(&out).display());
    }
    Ok(())
}

fn describe(field: &MeanField) -> String {
    let quadrature = match field.activation {
        Activation::Tanh | Activation::Sigmoid => "Gauss–Hermite quadrature",
        _ => "closed forms (arc-cosine kernel)",
    };
    format!("{}, σ_w² = {}, σ_b² = {} ({quadrature})", field.activation, field.sw2, field.sb2)
}

/// Ordered, critical or chaotic, from χ_1.
fn phase(chi_1: f64) -> &'static str {
    if (chi_1 - 1.0).abs() < 1e-9 {
        "critical"
    } else if chi_1 < 1.0 {
        "ordered"
    } else {
        "chaotic"
    }
}

/// A number to 6 decimals; infinity and NaN spelled out.
fn num(x: f64) -> String {
    if x.is_nan() {
        "undefined".to_string()
    } else if x.is_infinite() {
        "∞".to_string()
    } else {
        format!("{x:.6}")
    }
}

fn summary_rows(p: &FixedPoint, critical: Option<f64>) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    if let Some(sw2) = critical {
        rows.push(vec!["critical σ_w² (χ_1 = 1)".to_string(), format!("{sw2:.10}")]);
    }
    let q = if p.q_star.is_finite() { num(p.q_star) } else { "∞ (q grows without bound)".to_string() };
    rows.push(vec!["q* (length fixed point)".to_string(), q]);
    rows.push(vec!["c* (correlation fixed point)".to_string(), num(p.c_star)]);
    rows.push(vec!["χ_1".to_string(), format!("{} ({})", num(p.chi_1), phase(p.chi_1))]);
    rows.push(vec!["χ_c (slope of the c-map at c*)".to_string(), num(p.chi_c)]);
    rows.push(vec!["ξ_c = −1/ln χ_c (correlation depth)".to_string(), num(p.xi_c)]);
    rows.push(vec!["χ_q (slope of the q-map at q*)".to_string(), num(p.chi_q)]);
    rows.push(vec!["ξ_q = −1/ln χ_q (length depth)".to_string(), num(p.xi_q)]);
    rows
}

const LAYER_HEADER: [&str; 5] = ["layer", "q theory", "q measured (± std)", "c theory", "c measured (± std)"];

fn layer_rows(m: &Measurement) -> Vec<Vec<String>> {
    m.layers
        .iter()
        .enumerate()
        .map(|(l, r)| {
            vec![
                (l + 1).to_string(),
                format!("{:.5}", r.q_theory),
                format!("{:.5} ± {:.5}", r.q_measured, r.q_spread),
                format!("{:.5}", r.c_theory),
                format!("{:.5} ± {:.5}", r.c_measured, r.c_spread),
            ]
        })
        .collect()
}

fn fit_text(xi: Option<f64>) -> String {
    xi.map_or("not fitted (too few layers above the noise, or one seed)".to_string(), |x| format!("{x:.3}"))
}

fn probe_line(a: &TheoryArgs, m: &Measurement) -> String {
    format!(
        "{} random networks of {} layers × {} units, two inputs with q0 = {} and c0 = {}; ξ_c fitted from the measured \
         correlations: {} (the same fit on the theory's trajectory: {})",
        a.seeds,
        m.layers.len(),
        a.width,
        a.q0,
        a.c0,
        fit_text(m.xi_c_measured),
        fit_text(m.xi_c_theory_fit)
    )
}

fn print_report(a: &TheoryArgs, field: &MeanField, p: &FixedPoint, critical: Option<f64>, m: Option<&Measurement>) {
    println!("mean-field theory: {}", describe(field));
    let rows = summary_rows(p, critical);
    let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    for r in rows {
        println!("  {:<width$}  {}", r[0], r[1]);
    }
    if let Some(m) = m {
        println!("\n{}", probe_line(a, m));
        println!("{:>5}  {:>10}  {:>22}  {:>10}  {:>22}", "layer", "q theory", "q measured", "c theory", "c measured");
        for r in layer_rows(m) {
            println!("{:>5}  {:>10}  {:>22}  {:>10}  {:>22}", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

fn to_json(a: &TheoryArgs, field: &MeanField, p: &FixedPoint, critical: Option<f64>, m: Option<&Measurement>) -> Value {
    let mut v = json!({
        "activation": field.activation.to_string(), "sw2": field.sw2, "sb2": field.sb2, "nodes": a.nodes,
        "q_star": p.q_star, "c_star": p.c_star, "chi_1": p.chi_1, "chi_c": p.chi_c, "xi_c": p.xi_c,
        "chi_q": p.chi_q, "xi_q": p.xi_q, "phase": phase(p.chi_1),
    });
    if let Some(sw2) = critical {
        v["critical_sw2"] = json!(sw2);
    }
    if let Some(m) = m {
        let layers: Vec<Value> = m
            .layers
            .iter()
            .enumerate()
            .map(|(l, r)| {
                json!({
                    "layer": l + 1, "q_theory": r.q_theory, "q_measured": r.q_measured,
                    "q_measured_std": r.q_spread, "c_theory": r.c_theory, "c_measured": r.c_measured,
                    "c_measured_std": r.c_spread,
                })
            })
            .collect();
        v["width"] = json!(a.width);
        v["seeds"] = json!(a.seeds);
        v["seed"] = json!(a.seed);
        v["q0"] = json!(a.q0);
        v["c0"] = json!(a.c0);
        v["layers"] = json!(layers);
        v["xi_c_measured"] = json!(m.xi_c_measured);
        v["xi_c_theory_fit"] = json!(m.xi_c_theory_fit);
    }
    v
}

fn write_figures(out: &Path, field: &MeanField, m: &Measurement) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let per_layer = |f: &dyn Fn(usize) -> f64| (0..m.layers.len()).map(|l| ((l + 1) as f64, f(l))).collect();
    let what = describe(field);
    let q = out.join("theory_q.svg");
    plots::line_chart(
        &q,
        &format!("Length q per layer: theory and measurement ({what})"),
        "layer",
        "q",
        Scale::Linear,
        &[
            Series::new("q theory", per_layer(&|l| m.layers[l].q_theory), 0),
            Series::new("q measured (mean over seeds)", per_layer(&|l| m.layers[l].q_measured), 1),
        ],
    )?;
    let c = out.join("theory_c.svg");
    plots::line_chart(
        &c,
        &format!("Correlation c per layer: theory and measurement ({what})"),
        "layer",
        "c",
        Scale::Linear,
        &[
            Series::new("c theory", per_layer(&|l| m.layers[l].c_theory), 0),
            Series::new("c measured (mean over seeds)", per_layer(&|l| m.layers[l].c_measured), 1),
        ],
    )?;
    Ok(vec![q, c])
}
