//! SVG figures: cost curves, decision boundaries, per-layer line charts, histograms and
//! heatmaps.

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
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_label_formatter(&|x| tick_label(*x))
                .y_label_formatter(&|y| tick_label(*y))
                .draw()?;
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

/// One axis of a heatmap: the grid's coordinates along it, drawn as numbers or as named
/// categories.
pub struct Axis<'a> {
    /// The axis label.
    pub label: &'a str,
    /// The grid's coordinates, increasing. Each cell spans halfway to its neighbours.
    pub values: &'a [f64],
    /// Names of the grid's points, drawn in order one cell each at positions 0, 1, ...
    /// (`values` is then unused), or `None` to draw `values` as numbers.
    pub names: Option<&'a [String]>,
}

impl<'a> Axis<'a> {
    /// An axis of numbers.
    pub fn numbers(label: &'a str, values: &'a [f64]) -> Axis<'a> {
        Axis { label, values, names: None }
    }

    /// An axis of named categories, at positions 0, 1, ...
    pub fn categories(label: &'a str, names: &'a [String]) -> Axis<'a> {
        Axis { label, values: &[], names: Some(names) }
    }

    fn len(&self) -> usize {
        self.names.map_or(self.values.len(), <[String]>::len)
    }

    /// Where cell `i` is drawn.
    fn at(&self, i: usize) -> f64 {
        if self.names.is_some() { i as f64 } else { self.values[i] }
    }

    /// The edges of cell `i`: halfway to each neighbour (half the gap to the one
    /// neighbour at the ends, ±0.5 for a single point).
    fn cell(&self, i: usize) -> (f64, f64) {
        let n = self.len();
        let gap = |a: usize, b: usize| (self.at(b) - self.at(a)) / 2.0;
        let below = if i > 0 {
            gap(i - 1, i)
        } else if n > 1 {
            gap(0, 1)
        } else {
            0.5
        };
        let above = if i + 1 < n {
            gap(i, i + 1)
        } else if n > 1 {
            gap(n - 2, n - 1)
        } else {
            0.5
        };
        (self.at(i) - below, self.at(i) + above)
    }

    /// How many ticks to ask for: one per category (at most 20), or about 10 numbers.
    fn tick_count(&self) -> usize {
        self.names.map_or(10, |n| n.len().min(20))
    }

    /// A tick's label: a category's name at its (whole) position, or the number.
    fn tick_label(&self, v: f64) -> String {
        match self.names {
            Some(names) if (v - v.round()).abs() < 1e-6 && v >= -0.5 => {
                names.get(v.round() as usize).cloned().unwrap_or_default()
            }
            Some(_) => String::new(),
            None => tick_label(v),
        }
    }
}

/// A tick label: at most 4 significant digits and no floating-point noise (`0.3`, not
/// `0.30000000000000004`); scientific notation below 10⁻³ and from 10⁵.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return if a == 0.0 { "0".into() } else { format!("{v}") };
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A heatmap over a grid, with an optional line drawn on top, and a color bar.
pub struct Heatmap<'a> {
    /// Title of the figure.
    pub title: &'a str,
    /// The x axis.
    pub x: Axis<'a>,
    /// The y axis.
    pub y: Axis<'a>,
    /// Label of the color bar.
    pub value_label: &'a str,
    /// `y`'s length rows of `x`'s length values; non-finite values (and, on a log scale,
    /// values ≤ 0) are drawn grey.
    pub values: &'a [f64],
    /// Colors by the value (linear) or by its `log10` (for values spanning decades).
    pub scale: Scale,
    /// A line to draw on top in red, with its legend label, as `(x, y)` points in the
    /// axes' coordinates (a category's coordinate is its position); the parts outside
    /// the grid are cut off.
    pub line: Option<(&'a str, &'a [(f64, f64)])>,
}

/// Writes a heatmap: each grid point a cell colored on the viridis scale, the line in
/// red, a color bar at the right.
///
/// # Panics
/// If `values` does not hold one value per grid point, or an axis is empty.
pub fn heatmap(path: &Path, h: &Heatmap<'_>) -> PlotResult {
    use plotters::style::colors::colormaps::ViridisRGB;
    let (nx, ny) = (h.x.len(), h.y.len());
    assert!(nx > 0 && ny > 0, "heatmap: an empty axis ({nx} × {ny})");
    assert_eq!(h.values.len(), nx * ny, "heatmap: {} values for a {nx} × {ny} grid", h.values.len());
    let (x0, x1) = (h.x.cell(0).0, h.x.cell(nx - 1).1);
    let (y0, y1) = (h.y.cell(0).0, h.y.cell(ny - 1).1);
    let shown: Vec<f64> = h
        .values
        .iter()
        .map(|&v| match h.scale {
            Scale::Log if v > 0.0 => v.log10(),
            Scale::Log => f64::NAN,
            Scale::Linear => v,
        })
        .collect();
    let (mut lo, mut hi) = shown
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi <= lo {
        (lo, hi) = (lo - 0.5, lo + 0.5);
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
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(h.x.label)
        .y_desc(h.y.label)
        .x_labels(h.x.tick_count())
        .y_labels(h.y.tick_count())
        .x_label_formatter(&|v| h.x.tick_label(*v))
        .y_label_formatter(&|v| h.y.tick_label(*v))
        .draw()?;
    let cells = (0..ny).flat_map(|j| {
        let shown = &shown;
        (0..nx).map(move |i| {
            let ((a, b), (c, d)) = (h.x.cell(i), h.y.cell(j));
            Rectangle::new([(a, c), (b, d)], color(shown[j * nx + i]).filled())
        })
    });
    chart.draw_series(cells)?;
    if let Some((label, points)) = h.line {
        let red = RGBColor(220, 30, 30);
        let inside = |&(x, y): &(f64, f64)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
        // One polyline per run of points inside the grid, so a curve that leaves the
        // chart (an infinite ξ_c) is not joined across the gap.
        let runs = points.split(|p| !inside(p)).filter(|run| !run.is_empty());
        for (k, run) in runs.enumerate() {
            let drawn = chart.draw_series(LineSeries::new(run.iter().copied(), red.stroke_width(3)))?;
            if k == 0 {
                drawn
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(3)));
            }
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    }

    let caption = match h.scale {
        Scale::Log => format!("log10 {}", h.value_label),
        Scale::Linear => h.value_label.to_string(),
    };
    let mut scale = ChartBuilder::on(&bar)
        .margin_top(50)
        .margin_bottom(52)
        .margin_right(8)
        .y_label_area_size(50)
        .caption(caption, ("sans-serif", 14))
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    scale.configure_mesh().disable_mesh().disable_x_axis().y_label_formatter(&|v| tick_label(*v)).draw()?;
    const STEPS: usize = 100;
    let step = (hi - lo) / STEPS as f64;
    scale.draw_series((0..STEPS).map(|k| {
        let v = lo + k as f64 * step;
        Rectangle::new([(0.0, v), (1.0, v + step)], color(v + step / 2.0).filled())
    }))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_round() {
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
        assert_eq!(tick_label(1.5), "1.5");
        assert_eq!(tick_label(100.0), "100");
        assert_eq!(tick_label(-0.0), "0");
        assert_eq!(tick_label(2.0 / 3.0), "0.6667");
        assert_eq!(tick_label(1e-7), "1.00e-7");
    }

    #[test]
    fn cells_span_halfway_to_their_neighbours() {
        let x = Axis::numbers("x", &[1.0, 2.0, 4.0]);
        assert_eq!((x.cell(0), x.cell(1), x.cell(2)), ((0.5, 1.5), (1.5, 3.0), (3.0, 5.0)));
        let names = ["a".to_string(), "b".to_string()];
        let c = Axis::categories("c", &names);
        assert_eq!((c.cell(0), c.cell(1), c.tick_label(1.0)), ((-0.5, 0.5), (0.5, 1.5), "b".to_string()));
        assert_eq!((c.tick_label(0.5), c.tick_label(2.0)), (String::new(), String::new()));
        assert_eq!(Axis::numbers("one", &[3.0]).cell(0), (2.5, 3.5));
    }
}
