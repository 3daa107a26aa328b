//! SVG figures: cost curves, decision boundaries and per-layer line charts.

use std::path::Path;

use plotters::prelude::*;

use crate::data::Dataset;
use crate::nn::Sequential;
use crate::tensor::Tensor;

/// A figure that could not be written.
pub type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One line of a line chart.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// Color index into the palette.
    pub color: usize,
}

impl Series {
    /// A series from its label, points and palette color.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Series {
        Series { label: label.into(), points, color }
    }
}

/// Axis scale of a line chart's y axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (non-positive values are left out).
    Log,
}

/// Writes a line chart with one line per series.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    y_scale: Scale,
    series: &[Series],
) -> PlotResult {
    let keep = |y: f64| y.is_finite() && (y_scale == Scale::Linear || y > 0.0);
    let points = || series.iter().flat_map(|s| s.points.iter().copied()).filter(|&(_, y)| keep(y));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in points() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 1.0, 2.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        (y0, y1) = if y_scale == Scale::Log { (y0 / 2.0, y1 * 2.0) } else { (y0 - 1.0, y1 + 1.0) };
    }
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 22)).margin(12).x_label_area_size(40).y_label_area_size(70);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc(x_label).y_desc(y_label).x_label_formatter(&|x| format!("{x}")).draw()?;
            for s in series {
                let color = Palette99::pick(s.color).to_rgba();
                let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|&(_, y)| keep(y)).collect();
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                    .label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        }};
    }
    match y_scale {
        Scale::Linear => draw!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
        Scale::Log => draw!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
    }
    root.present()?;
    Ok(())
}

/// Writes the cost curves of several runs (cost per epoch, log scale).
pub fn cost_curves(path: &Path, title: &str, runs: &[(String, &[f64])]) -> PlotResult {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, (label, costs))| {
            let step = (costs.len() / 1000).max(1);
            let pts = costs.iter().enumerate().step_by(step).map(|(e, &c)| (e as f64, c)).collect();
            Series::new(label.clone(), pts, i)
        })
        .collect();
    line_chart(path, title, "epoch", "cost", Scale::Log, &series)
}

/// Writes a model's decision boundary over the plane, with the points of `data`.
pub fn decision_boundary(path: &Path, title: &str, model: &Sequential, data: &Dataset) -> PlotResult {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..data.len() {
        let p = data.x.row(i);
        (x0, x1, y0, y1) = (x0.min(p[0]), x1.max(p[0]), y0.min(p[1]), y1.max(p[1]));
    }
    let (x0, x1, y0, y1) = (x0 - 0.5, x1 + 0.5, y0 - 0.5, y1 + 0.5);
    const GRID: usize = 80;
    let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let mut grid = Vec::with_capacity(2 * GRID * GRID);
    for j in 0..GRID {
        for i in 0..GRID {
            grid.extend([x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy]);
        }
    }
    let probs = model.predict(&Tensor::from_vec(GRID * GRID, 2, grid));

    let root = SVGBackend::new(path, (600, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().disable_mesh().draw()?;
    // One rectangle per run of same-class cells along a grid row keeps the file small.
    let mut cells = Vec::new();
    for j in 0..GRID {
        let mut i = 0;
        while i < GRID {
            let class = probs.data()[j * GRID + i] > 0.5;
            let start = i;
            while i < GRID && (probs.data()[j * GRID + i] > 0.5) == class {
                i += 1;
            }
            let color = if class { RGBColor(250, 200, 160) } else { RGBColor(170, 200, 240) };
            let (a, b) = ((x0 + start as f64 * dx, y0 + j as f64 * dy), (x0 + i as f64 * dx, y0 + (j + 1) as f64 * dy));
            cells.push(Rectangle::new([a, b], color.filled()));
        }
    }
    chart.draw_series(cells)?;
    let points = (0..data.len()).map(|i| {
        let p = data.x.row(i);
        let color = if data.y.data()[i] > 0.5 { RGBColor(200, 80, 0) } else { RGBColor(20, 60, 160) };
        Circle::new((p[0], p[1]), 3, color.filled())
    });
    chart.draw_series(points)?;
    root.present()?;
    Ok(())
}

/// Writes a heatmap: `values[j][i]` is the cell at column `x_ticks[i]`, row
/// `y_ticks[j]` (NaN cells are left grey), coloured from dark blue (the smallest value)
/// to yellow (the largest), with the range in the caption.
pub fn heatmap(
    path: &Path,
    title: &str,
    (x_label, x_ticks): (&str, &[String]),
    (y_label, y_ticks): (&str, &[String]),
    values: &[Vec<f64>],
) -> PlotResult {
    let finite = || values.iter().flatten().copied().filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    let caption = if lo.is_finite() { format!("{title} (from {lo:.4} to {hi:.4})") } else { title.to_string() };
    let root = SVGBackend::new(path, (720, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (nx, ny) = (x_ticks.len().max(1), y_ticks.len().max(1));
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)?;
    let tick = |ticks: &[String], v: f64| ticks.get(v.floor() as usize).cloned().unwrap_or_default();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_labels(nx.min(12))
        .y_labels(ny.min(12))
        .x_label_formatter(&|v| tick(x_ticks, *v))
        .y_label_formatter(&|v| tick(y_ticks, *v))
        .draw()?;
    let color = |v: f64| {
        if !v.is_finite() {
            return RGBColor(200, 200, 200);
        }
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
        RGBColor(mix(40.0, 250.0), mix(20.0, 230.0), mix(120.0, 30.0))
    };
    chart.draw_series(values.iter().enumerate().flat_map(|(j, row)| {
        row.iter().enumerate().map(move |(i, &v)| {
            Rectangle::new([(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)], color(v).filled())
        })
    }))?;
    root.present()?;
    Ok(())
}
