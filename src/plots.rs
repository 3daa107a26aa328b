//! SVG figures: cost curves, decision boundaries, per-layer line charts and histograms.

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

/// Writes a histogram of `values` in `bins` equal bins between their least and
/// greatest finite value (non-finite values are left out).
pub fn histogram(path: &Path, title: &str, x_label: &str, values: &[f64], bins: usize) -> PlotResult {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (mut lo, mut hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 * lo.abs().max(1.0) {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let bins = bins.max(1);
    let step = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &finite {
        counts[(((v - lo) / step) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(lo..hi, 0.0..top * 1.05)?;
    chart.configure_mesh().x_desc(x_label).y_desc("count").draw()?;
    let color = Palette99::pick(0).to_rgba();
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let x = lo + i as f64 * step;
        Rectangle::new([(x, 0.0), (x + step, c as f64)], color.filled())
    }))?;
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

/// A heatmap over a grid, with a line drawn on top and a color bar.
pub struct Heatmap<'a> {
    /// Title of the figure.
    pub title: &'a str,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// Label of the color bar.
    pub value_label: &'a str,
    /// Grid coordinates along x (increasing).
    pub xs: &'a [f64],
    /// Grid coordinates along y (increasing).
    pub ys: &'a [f64],
    /// `ys.len()` rows of `xs.len()` values; non-finite values are drawn grey.
    pub values: &'a [f64],
    /// The line to draw on top, as `(x, y)` points, with its legend label.
    pub line: (&'a str, &'a [(f64, f64)]),
}

/// Writes a heatmap: each grid point a cell colored on the viridis scale by `log10` of its
/// value (the values are depths spanning decades), the line in red, a color bar at the
/// right.
pub fn heatmap(path: &Path, h: &Heatmap<'_>) -> PlotResult {
    use plotters::style::colors::colormaps::ViridisRGB;
    let half = |v: &[f64]| if v.len() > 1 { (v[1] - v[0]) / 2.0 } else { 0.5 };
    let (dx, dy) = (half(h.xs), half(h.ys));
    let (x0, x1) = (h.xs[0] - dx, h.xs[h.xs.len() - 1] + dx);
    let (y0, y1) = (h.ys[0] - dy, h.ys[h.ys.len() - 1] + dy);
    let logs: Vec<f64> =
        h.values.iter().map(|v| if *v > 0.0 && v.is_finite() { v.log10() } else { f64::NAN }).collect();
    let (mut lo, mut hi) = logs
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let color =
        |v: f64| if v.is_finite() { ViridisRGB::get_color_normalized(v, lo, hi) } else { RGBColor(200, 200, 200) };

    let root = SVGBackend::new(path, (860, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (main, bar) = root.split_horizontally(740);
    let mut chart = ChartBuilder::on(&main)
        .caption(h.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().disable_mesh().x_desc(h.x_label).y_desc(h.y_label).draw()?;
    let cells = h.ys.iter().enumerate().flat_map(|(j, &y)| {
        let logs = &logs;
        h.xs.iter().enumerate().map(move |(i, &x)| {
            Rectangle::new([(x - dx, y - dy), (x + dx, y + dy)], color(logs[j * h.xs.len() + i]).filled())
        })
    });
    chart.draw_series(cells)?;
    let red = RGBColor(220, 30, 30);
    let line: Vec<(f64, f64)> =
        h.line.1.iter().copied().filter(|&(x, y)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y)).collect();
    chart
        .draw_series(LineSeries::new(line, red.stroke_width(3)))?
        .label(h.line.0)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(3)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;

    let mut scale = ChartBuilder::on(&bar)
        .margin_top(50)
        .margin_bottom(52)
        .margin_right(8)
        .y_label_area_size(50)
        .caption(format!("log10 {}", h.value_label), ("sans-serif", 14))
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    scale.configure_mesh().disable_mesh().disable_x_axis().draw()?;
    const STEPS: usize = 100;
    let step = (hi - lo) / STEPS as f64;
    scale.draw_series((0..STEPS).map(|k| {
        let v = lo + k as f64 * step;
        Rectangle::new([(0.0, v), (1.0, v + step)], color(v + step / 2.0).filled())
    }))?;
    root.present()?;
    Ok(())
}

/// Writes a heatmap over categorical axes (a sweep's settings): `values[j][i]` is the cell at column `x_ticks[i]`, row
/// `y_ticks[j]` (NaN cells are left grey), coloured from dark blue (the smallest value)
/// to yellow (the largest), with the range in the caption.
pub fn category_heatmap(
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
