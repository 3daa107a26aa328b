//! Proves that `compare`, `depth` and `train` write a self-contained, well-formed `index.html`:
//! every tag opened is closed in order, nothing is fetched from elsewhere, every SVG
//! figure of the output folder is inlined, and the command line and results are there.
//! Also that `compare --diagnostics` prints per-layer tables and plots them.

use std::path::Path;
use std::process::Command;

/// Elements that have no closing tag in HTML.
const VOID: [&str; 4] = ["meta", "br", "hr", "img"];

/// Checks that tags nest properly (a small XML-style checker: comments, doctype and
/// processing instructions are skipped, `<x/>` and void elements close themselves).
fn assert_well_formed(html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->").expect("comment closed") + 3..];
            continue;
        }
        let end = rest.find('>').expect("tag closed");
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap().to_string();
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

/// The figure captions of each `<div class="figures">` grid of the page, in order.
fn figure_rows(dir: &Path) -> Vec<Vec<String>> {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    html.split("<div class=\"figures\">")
        .skip(1)
        .map(|grid| {
            let grid = &grid[..grid.find("</div>").expect("the grid is closed")];
            grid.split("<figcaption>").skip(1).map(|c| c[..c.find("</figcaption>").unwrap()].to_string()).collect()
        })
        .collect()
}

fn svgs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    names.sort();
    names
}

fn run_in(dir: &Path, args: &[&str]) -> String {
    let _ = std::fs::remove_dir_all(dir);
    let out = Command::new(env!("CARGO_BIN_EXE_tapegrad")).args(args).arg("--out").arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn check_page(dir: &Path, figures: usize, must_hold: &[&str]) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_well_formed(&html);
    for needle in ["http://", "https://"].iter().flat_map(|p| ["src=\"", "href=\""].map(|a| format!("{a}{p}"))) {
        assert!(!html.contains(&needle), "the page fetches {needle}");
    }
    let names = svgs(dir);
    assert_eq!(names.len(), figures, "{names:?}");
    assert_eq!(html.matches("<svg").count(), figures, "one inline <svg> per figure");
    for name in names {
        let svg = std::fs::read_to_string(dir.join(&name)).unwrap();
        let body = &svg[svg.find("<svg").unwrap()..];
        assert!(html.contains(body.trim_end()), "{name} is inlined");
        assert!(html.contains(&format!("<figcaption>{name}</figcaption>")));
    }
    for text in must_hold {
        assert!(html.contains(text), "the page holds {text}");
    }
}

#[test]
fn compare_writes_a_page_with_every_figure_and_its_diagnostics() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-compare");
    let stdout = run_in(
        &dir,
        &["compare", "--init", "zeros,he", "--epochs", "300", "--log-every", "100", "--seed", "7", "--diagnostics"],
    );
    // cost curves, 2 decision boundaries, 2 diagnostics plots per initializer
    check_page(&dir, 1 + 2 + 4, &["--epochs 300", "Seed 7.", "<td>zeros</td>", "Cost log (seed 7)", "Diagnostics"]);
    // One row per kind of figure, the initializers side by side in it.
    assert_eq!(
        figure_rows(&dir),
        [
            vec!["cost_curves.svg"],
            vec!["boundary_zeros.svg", "boundary_he.svg"],
            vec!["diagnostics_grad_norm_zeros.svg", "diagnostics_grad_norm_he.svg"],
            vec!["diagnostics_act_std_zeros.svg", "diagnostics_act_std_he.svg"],
        ]
    );
    // The zero-initialized network stays one unit per layer: 12 hidden units, 1 distinct.
    assert!(stdout.contains("== diagnostics: hidden init zeros, seed 7 =="), "{stdout}");
    let zeros_block = stdout.split("== diagnostics: hidden init zeros").nth(1).unwrap();
    let line = zeros_block.lines().find(|l| l.split_whitespace().take(2).eq(["299", "0"])).unwrap();
    assert!(line.contains("1/12") && line.contains("100.0"), "{line}");
}

#[test]
fn depth_writes_a_page_with_its_figures_and_training_table() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-depth");
    let stdout = run_in(
        &dir,
        &["depth", "--layers", "4", "--width", "8", "--batch", "16", "--init", "he,normal:0.01", "--train", "30"],
    );
    assert!(stdout.contains("training on make_moons"));
    check_page(&dir, 3, &["depth --layers 4", "Seeds: 0.", "<td>normal:0.01</td>", "30 epochs of gradient descent"]);
    assert_eq!(figure_rows(&dir), [vec!["depth_rms.svg", "depth_grad.svg"], vec!["depth_train_costs.svg"]]);
}

#[test]
fn train_writes_a_page_with_its_settings_results_and_figures() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-train");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("points.csv");
    std::fs::write(&data, "x1,x2,label\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n0.2,0.1,0\n0.9,0.8,1\n0.1,0.3,0\n0.8,0.9,1\n")
        .unwrap();
    let out = dir.join("out");
    let data = data.to_str().unwrap();
    let stdout = run_in(&out, &["train", "--data", data, "--epochs", "30", "--log-every", "10", "--seed", "3"]);
    assert!(stdout.contains("index.html written to"), "{stdout}");
    // The results row the terminal prints, cell by cell, is the page's results row.
    let header = stdout.lines().position(|l| l.trim_start().starts_with("train acc %")).unwrap();
    let row: String =
        stdout.lines().nth(header + 1).unwrap().split_whitespace().map(|c| format!("<td>{c}</td>")).collect();
    // cost curve and decision boundary (two features)
    check_page(
        &out,
        2,
        &["train --data", "--epochs 30", "Seed 3.", "test fraction 0.2", "standardised", "<th>soft train %</th>", &row],
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<tr><td>29</td>"), "the last epoch's cost is logged");
    assert_eq!(figure_rows(&out), [vec!["cost_curve.svg", "decision_boundary.svg"]]);
}
