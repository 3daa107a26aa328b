//! `tapegrad phase`: the mean-field phase diagram over a (σ_w², σ_b²) grid — the
//! correlation depth ξ_c as a heatmap with the order-to-chaos line χ_1 = 1 drawn on it,
//! the picture of Schoenholz et al. (2017).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use tapegrad::nn::Activation;
use tapegrad::plots::{self, Axis, Heatmap, Scale};
use tapegrad::study::theory::{DEFAULT_NODES, MeanField, critical_line, phase_grid};

use super::theory::parse_nodes;
use super::{CliResult, Failure, MAX_RUNS, check_size, figure_error, page, parse_activation, writable_dir};

#[derive(Args)]
pub(crate) struct PhaseArgs {
    /// Activation of every layer: relu, tanh, leaky_relu[:A], sigmoid or identity.
    #[arg(long, default_value = "tanh", value_parser = parse_activation)]
    activation: Activation,
    /// σ_w² values, A:B:N (N evenly spaced points from A to B); every one greater than 0.
    #[arg(long, default_value = "1:4:50", value_parser = parse_grid)]
    sw2: Grid,
    /// σ_b² values, A:B:N; every one at least 0.
    #[arg(long, default_value = "0:0.3:50", value_parser = parse_grid)]
    sb2: Grid,
    /// Gauss–Hermite nodes of the quadrature (tanh and sigmoid).
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = parse_nodes)]
    nodes: usize,
    /// Print the grid as JSON.
    #[arg(long)]
    json: bool,
    /// Folder for the figure and index.html.
    #[arg(long, default_value = "out/phase")]
    out: PathBuf,
}

/// `A:B:N`: `N` evenly spaced values from `A` to `B`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grid {
    values: Vec<f64>,
}

/// Most values along one axis of a grid.
const MAX_GRID: usize = 100_000;

fn parse_grid(s: &str) -> Result<Grid, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [a, b, n] = parts[..] else { return Err(format!("`{s}` is not a grid A:B:N (from A to B in N points)")) };
    let number = |t: &str| match t.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("grid `{s}`: `{t}` is not a finite number")),
    };
    let (a, b) = (number(a)?, number(b)?);
    let n = match n.trim().parse::<usize>() {
        Ok(0) => return Err(format!("grid `{s}` is empty: N must be at least 1")),
        Ok(n) if n > MAX_GRID => return Err(format!("grid `{s}`: at most {MAX_GRID} points per axis")),
        Ok(n) => n,
        Err(_) => return Err(format!("grid `{s}`: `{n}` is not a whole number")),
    };
    if n == 1 && a != b {
        return Err(format!("grid `{s}`: one point cannot run from {a} to {b} (use {a}:{a}:1)"));
    }
    if n > 1 && b <= a {
        return Err(format!("grid `{s}`: B must be greater than A"));
    }
    let step = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
    Ok(Grid { values: (0..n).map(|i| if i + 1 == n { b } else { a + step * i as f64 }).collect() })
}

pub(crate) fn run(a: PhaseArgs) -> CliResult {
    if a.sw2.values[0] <= 0.0 {
        return Err(Failure::Usage(format!("--sw2 starts at {}: σ_w² must be greater than 0", a.sw2.values[0])));
    }
    if a.sb2.values[0] < 0.0 {
        return Err(Failure::Usage(format!("--sb2 starts at {}: σ_b² must be at least 0", a.sb2.values[0])));
    }
    check_size("--sw2 × --sb2 (the grid points)", &[a.sw2.values.len(), a.sb2.values.len()], MAX_RUNS)?;
    let out = writable_dir(&a.out)?;
    let (sw2s, sb2s) = (&a.sw2.values, &a.sb2.values);
    let base = MeanField::with_nodes(a.activation, sw2s[0], sb2s[0], a.nodes);
    let start = Instant::now();
    let grid = phase_grid(&base, sw2s, sb2s);
    let critical = critical_line(&base, sb2s);
    let seconds = start.elapsed().as_secs_f64();
    let xi: Vec<f64> = grid.iter().map(|p| p.xi_c).collect();

    let line: Vec<(f64, f64)> = critical.iter().zip(sb2s).filter_map(|(c, &sb2)| c.map(|c| (c, sb2))).collect();
    let path = out.join("phase.svg");
    let title = format!("Correlation depth ξ_c of {} networks (mean-field theory)", a.activation);
    let heatmap = Heatmap {
        title: &title,
        x: Axis::numbers("σ_w²", sw2s),
        y: Axis::numbers("σ_b²", sb2s),
        value_label: "ξ_c",
        values: &xi,
        scale: Scale::Log,
        line: Some(("χ_1 = 1 (order to chaos)", &line)),
    };
    plots::heatmap(&path, &heatmap).map_err(|e| figure_error(&out)(e))?;

    let settings = format!(
        "{} over σ_w² {}..{} ({} points) × σ_b² {}..{} ({} points), {} Gauss–Hermite nodes; computed in {:.1} ms",
        a.activation,
        sw2s[0],
        sw2s[sw2s.len() - 1],
        sw2s.len(),
        sb2s[0],
        sb2s[sb2s.len() - 1],
        sb2s.len(),
        a.nodes,
        seconds * 1e3
    );
    let rows: Vec<Vec<String>> = sb2s
        .iter()
        .zip(&critical)
        .enumerate()
        .filter(|(j, _)| sb2s.len() <= 12 || j % sb2s.len().div_ceil(10) == 0 || j + 1 == sb2s.len())
        .map(|(_, (sb2, c))| vec![format!("{sb2:.4}"), c.map_or("none".to_string(), |c| format!("{c:.6}"))])
        .collect();
    if a.json {
        let xi_rows: Vec<Vec<f64>> = xi.chunks(sw2s.len()).map(<[f64]>::to_vec).collect();
        let chi_rows: Vec<Vec<f64>> = grid.chunks(sw2s.len()).map(|r| r.iter().map(|p| p.chi_1).collect()).collect();
        let v = json!({
            "activation": a.activation.to_string(), "nodes": a.nodes, "sw2": sw2s, "sb2": sb2s,
            "xi_c": xi_rows, "chi_1": chi_rows, "critical_sw2": critical, "seconds": seconds,
        });
        println!("{v}");
    } else {
        println!("phase diagram: {settings}");
        println!("the order-to-chaos line χ_1 = 1:");
        println!("{:>10}  {:>12}", "σ_b²", "critical σ_w²");
        for r in &rows {
            println!("{:>10}  {:>12}", r[0], r[1]);
        }
    }
    let mut report = page::start("tapegrad phase: the order-to-chaos phase diagram", "No randomness: theory only.");
    report.heading("Results").paragraph(settings).table(&["σ_b²", "critical σ_w²"], &rows);
    let index = page::finish(&out, report, &[vec![path.clone()]])?;
    if !a.json {
        println!("\nphase.svg and {} written to {}", index.display(), out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_parse_and_bad_ones_say_why() {
        assert_eq!(parse_grid("1:2:3").unwrap().values, vec![1.0, 1.5, 2.0]);
        assert_eq!(parse_grid("0.5:0.5:1").unwrap().values, vec![0.5]);
        assert!(parse_grid("1:2:0").unwrap_err().contains("is empty"));
        assert!(parse_grid("1:2").unwrap_err().contains("is not a grid A:B:N"));
        assert!(parse_grid("2:1:5").unwrap_err().contains("B must be greater than A"));
        assert!(parse_grid("1:x:5").unwrap_err().contains("`x` is not a finite number"));
        assert!(parse_grid("1:2:1").unwrap_err().contains("one point cannot run"));
    }
}
