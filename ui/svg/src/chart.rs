//! Line charts drawn with plotters' SVG backend: metrics across model versions, and task
//! durations over runs.
//!
//! - Empty input (no series, or no finite point) gives a small "no data yet" SVG, not an error.
//! - NaN and infinite points are skipped; the line joins the points either side.
//! - The legend sits in a panel right of the plot, so 50 series don't cover the lines;
//!   entries that don't fit become "+N more".
//! - Text from user data (series names, x labels, the title) reaches the SVG escaped:
//!   plotters' SVG backend escapes `& < > " '` in text and attributes (tested below), and
//!   characters XML forbids are replaced before the strings are handed to it.
//!
//! Timing (`cargo bench -p cambium-svg`, 2-core machine under a load average of ~7): a
//! duration chart of 100 runs × 50 tasks (5,000 points, ~54 kB of SVG) renders in
//! 1.7–5.7 ms. Point markers are left out above 1,500 points to keep it so.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::escape::{push_escaped, xml_clean};
use crate::graph_svg::truncate;
use crate::{Result, SvgError};

/// One named line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `(x, y)`; with [`LineChart::x_labels`], x is an index into them.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }

    /// A series whose x is the position in `values`; `None` values are skipped.
    pub fn indexed(name: impl Into<String>, values: &[Option<f64>]) -> Self {
        let points = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|y| (i as f64, y)))
            .collect();
        Series::new(name, points)
    }
}

/// A line chart with several series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Caption above the plot.
    pub title: Option<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// Category labels for x = 0, 1, 2, … (model versions "v1", "v2", run dates). Empty for
    /// a numeric x axis.
    pub x_labels: Vec<String>,
    /// Description under the x axis.
    pub x_desc: Option<String>,
    /// Description beside the y axis.
    pub y_desc: Option<String>,
    /// Start the y axis at 0 (or below, for negative values) instead of the data's minimum.
    pub y_from_zero: bool,
    /// Size in pixels.
    pub width: u32,
    /// Size in pixels.
    pub height: u32,
}

impl Default for LineChart {
    fn default() -> Self {
        LineChart {
            title: None,
            series: Vec::new(),
            x_labels: Vec::new(),
            x_desc: None,
            y_desc: None,
            y_from_zero: false,
            width: 720,
            height: 320,
        }
    }
}

/// Durations of each task over a DAG's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationChart {
    /// The runs' logical dates, oldest first (RFC 3339 or any text); shortened for the axis.
    pub runs: Vec<String>,
    /// One line per task.
    pub tasks: Vec<TaskDurations>,
    /// Size in pixels.
    pub width: u32,
    /// Size in pixels.
    pub height: u32,
}

/// One task's durations, one entry per run (same order as [`DurationChart::runs`]); `None`
/// where the task did not run or has not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDurations {
    /// The task id, shown in the legend.
    pub task_id: String,
    /// Seconds per run.
    pub seconds: Vec<Option<f64>>,
}

const FONT: &str = "sans-serif";
const LEGEND_ROW: i32 = 16;

/// Draws `chart`; see the module docs for empty input, NaN and escaping.
///
/// ```
/// use cambium_svg::{line_chart_svg, LineChart, Series};
/// let chart = LineChart {
///     series: vec![Series::new("auc", vec![(0.0, 0.81), (1.0, 0.84)])],
///     x_labels: vec!["v1".into(), "v2".into()],
///     y_desc: Some("metric".into()),
///     ..LineChart::default()
/// };
/// assert!(line_chart_svg(&chart).unwrap().starts_with("<svg"));
/// ```
pub fn line_chart_svg(chart: &LineChart) -> Result<String> {
    let series: Vec<(String, Vec<(f64, f64)>)> = chart
        .series
        .iter()
        .map(|s| {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            (xml_clean(&s.name), pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    if series.is_empty() {
        return Ok(no_data_svg(chart.width, chart.height, "no data yet"));
    }
    let (w, h) = (chart.width.max(200), chart.height.max(120));
    let mut buf = String::with_capacity(64 * 1024);
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        draw(&root, chart, &series, (w, h)).map_err(|e| SvgError::Chart(e.to_string()))?;
        root.present().map_err(|e| SvgError::Chart(e.to_string()))?;
    }
    Ok(mark_root(buf, chart.title.as_deref()))
}

/// Draws task durations over runs, one line per task, x labelled by the runs' shortened
/// logical dates, y in seconds, minutes or hours (whichever reads best).
///
/// ```
/// use cambium_svg::{duration_chart_svg, DurationChart, TaskDurations};
/// let chart = DurationChart {
///     runs: vec!["2024-05-01T00:00:00+00:00".into(), "2024-05-02T00:00:00+00:00".into()],
///     tasks: vec![TaskDurations { task_id: "train".into(), seconds: vec![Some(61.0), None] }],
///     width: 720,
///     height: 320,
/// };
/// assert!(duration_chart_svg(&chart).unwrap().contains("05-01"));
/// ```
pub fn duration_chart_svg(chart: &DurationChart) -> Result<String> {
    let max = chart
        .tasks
        .iter()
        .flat_map(|t| t.seconds.iter().flatten())
        .copied()
        .filter(|s| s.is_finite())
        .fold(0.0_f64, f64::max);
    let (unit, scale) = if max >= 2.0 * 3600.0 {
        ("hours", 3600.0)
    } else if max >= 120.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    };
    let series = chart
        .tasks
        .iter()
        .map(|t| {
            let scaled: Vec<Option<f64>> = t.seconds.iter().map(|s| s.map(|v| v / scale)).collect();
            Series::indexed(t.task_id.clone(), &scaled)
        })
        .collect();
    let line = LineChart {
        title: None,
        series,
        x_labels: shorten_dates(&chart.runs),
        x_desc: Some("run (logical date)".into()),
        y_desc: Some(format!("duration ({unit})")),
        y_from_zero: true,
        width: chart.width,
        height: chart.height,
    };
    line_chart_svg(&line)
}

/// A small SVG of the given size with `message` in its middle: what a chart shows before
/// there is anything to plot.
pub fn no_data_svg(width: u32, height: u32, message: &str) -> String {
    let (w, h) = (width.max(120), height.clamp(40, 120));
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="cambium-chart cambium-no-data" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><rect x="0.5" y="0.5" width="{}" height="{}" rx="4" fill="#fafafa" stroke="#dadce0"/><text x="{}" y="{}" text-anchor="middle" dy="0.35em" font-family="sans-serif" font-size="13" fill="#5f6368">"##,
        w - 1,
        h - 1,
        w / 2,
        h / 2
    );
    push_escaped(&mut out, message);
    out.push_str("</text></svg>\n");
    out
}

type DrawResult = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &LineChart,
    series: &[(String, Vec<(f64, f64)>)],
    (w, h): (u32, u32),
) -> DrawResult {
    root.fill(&WHITE)?;
    let legend_w = if series.len() > 1 || !series[0].0.is_empty() {
        (w / 4).clamp(90, 200)
    } else {
        0
    };
    let (plot_area, legend_area) = root.split_horizontally(w - legend_w);

    // Ranges.
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in series.iter().flat_map(|(_, pts)| pts.iter()) {
        x_lo = x_lo.min(*x);
        x_hi = x_hi.max(*x);
        y_lo = y_lo.min(*y);
        y_hi = y_hi.max(*y);
    }
    let labels: Vec<String> = chart
        .x_labels
        .iter()
        .map(|l| truncate(&xml_clean(l), 16).into_owned())
        .collect();
    if !labels.is_empty() {
        x_lo = x_lo.min(0.0);
        x_hi = x_hi.max((labels.len() - 1) as f64);
    }
    let (x_lo, x_hi) = if labels.is_empty() {
        pad(x_lo, x_hi, 0.02)
    } else {
        (x_lo - 0.5, x_hi + 0.5)
    };
    if chart.y_from_zero {
        y_lo = y_lo.min(0.0);
        y_hi = y_hi.max(0.0);
    }
    let data_min = y_lo;
    let (mut y_lo, mut y_hi) = pad(y_lo, y_hi, 0.06);
    if chart.y_from_zero && data_min >= 0.0 {
        // Durations and counts: the axis starts at 0, not just below it.
        y_lo = 0.0;
        if y_hi <= 0.0 {
            y_hi = 1.0;
        }
    }

    // Ticks on x: every label that fits, or nice numbers.
    let plot_w = f64::from(w - legend_w).max(100.0) - 80.0;
    let ticks: Vec<f64> = if labels.is_empty() {
        nice_ticks(x_lo, x_hi, ((plot_w / 70.0) as usize).max(2))
    } else {
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
        let fit = ((plot_w / (widest as f64 * 7.0 + 12.0)) as usize).max(1);
        let step = labels.len().div_ceil(fit).max(1);
        (0..labels.len())
            .step_by(step)
            .map(|i| i as f64)
            .filter(|x| (x_lo..=x_hi).contains(x))
            .collect()
    };

    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .margin(10)
        .x_label_area_size(if chart.x_desc.is_some() { 40 } else { 24 })
        .y_label_area_size(if chart.y_desc.is_some() { 64 } else { 48 });
    if let Some(title) = &chart.title {
        builder.caption(xml_clean(title), (FONT, 15));
    }
    let x_axis = TickedAxis {
        lo: x_lo,
        hi: x_hi,
        ticks,
    };
    let mut ctx = builder.build_cartesian_2d(x_axis, y_lo..y_hi)?;

    let x_desc = chart.x_desc.as_deref().map(xml_clean);
    let y_desc = chart.y_desc.as_deref().map(xml_clean);
    let format_x = |x: &f64| -> String {
        if labels.is_empty() {
            format_number(*x)
        } else {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    };
    let mut mesh = ctx.configure_mesh();
    mesh.x_label_formatter(&format_x)
        .y_label_formatter(&|y: &f64| format_number(*y))
        .y_labels(6)
        .label_style((FONT, 11))
        .axis_desc_style((FONT, 12))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(230, 230, 230));
    if let Some(d) = &x_desc {
        mesh.x_desc(d.as_str());
    }
    if let Some(d) = &y_desc {
        mesh.y_desc(d.as_str());
    }
    mesh.draw()?;

    let total_points: usize = series.iter().map(|(_, p)| p.len()).sum();
    for (i, (_, pts)) in series.iter().enumerate() {
        let color = series_color(i);
        ctx.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?;
        if total_points <= 1500 || pts.len() == 1 {
            ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
    }

    if legend_w > 0 {
        draw_legend(&legend_area, series, legend_w, h)?;
    }
    Ok(())
}

fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    series: &[(String, Vec<(f64, f64)>)],
    legend_w: u32,
    h: u32,
) -> DrawResult {
    let rows = ((h as i32 - 20) / LEGEND_ROW).max(1) as usize;
    let shown = if series.len() > rows {
        rows - 1
    } else {
        series.len()
    };
    let max_chars = ((f64::from(legend_w) - 34.0) / 6.6).max(4.0) as usize;
    let style = TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, _)) in series.iter().take(shown).enumerate() {
        let y = 14 + i as i32 * LEGEND_ROW;
        let color = series_color(i);
        area.draw(&PathElement::new(
            vec![(4, y), (22, y)],
            color.stroke_width(2),
        ))?;
        area.draw(&Text::new(
            truncate(name, max_chars).into_owned(),
            (28, y),
            style.clone(),
        ))?;
    }
    if shown < series.len() {
        let y = 14 + shown as i32 * LEGEND_ROW;
        area.draw(&Text::new(
            format!("+{} more", series.len() - shown),
            (28, y),
            style,
        ))?;
    }
    Ok(())
}

/// Line colours: saturated enough to read on white, in an order where neighbours differ.
/// More series than colours reuse them (the legend order tells them apart).
const COLORS: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 63, 92),
    RGBColor(166, 86, 40),
    RGBColor(102, 166, 30),
    RGBColor(231, 41, 138),
    RGBColor(117, 112, 179),
    RGBColor(217, 95, 2),
    RGBColor(27, 158, 119),
    RGBColor(166, 118, 29),
    RGBColor(228, 26, 28),
    RGBColor(55, 126, 184),
];

fn series_color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// A linear f64 axis whose ticks are exactly the given values. (plotters' `with_key_points`
/// on an f64 range loses the ability to format labels, so this small axis replaces it.)
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let px = f64::from(limit.0) + t * f64::from(limit.1 - limit.0);
        // Far-off values are clamped rather than wrapped; plotters clips the drawing anyway.
        px.round()
            .clamp(f64::from(i32::MIN / 2), f64::from(i32::MAX / 2)) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold points only, like plotters' `WithKeyPoints`: no light mesh lines.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// `lo..hi` widened by `frac` of its span on each side (or by 1 when it is a single value).
fn pad(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if !span.is_finite() {
        return (lo, hi);
    }
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if lo.abs() > 1.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - d, hi + d)
    } else {
        (lo - span * frac, hi + span * frac)
    }
}

/// Round-number ticks (1, 2 or 5 × 10^k apart) inside `lo..=hi`, about `count` of them.
fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let raw = (hi - lo) / count.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Short label for an axis number: no trailing zeros, at most 4 decimals.
fn format_number(v: f64) -> String {
    let v = if v.abs() < 1e-12 { 0.0 } else { v };
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-3) {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// Shortens logical dates for an axis: RFC 3339 timestamps lose the year when all share it,
/// the time when all are at midnight, and seconds and offset always. Other text is kept.
pub fn shorten_dates(dates: &[String]) -> Vec<String> {
    struct Parts<'a> {
        year: &'a str,
        month_day: &'a str,
        hour_min: Option<&'a str>,
    }
    fn parse(s: &str) -> Option<Parts<'_>> {
        let b = s.as_bytes();
        let digits =
            |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if !(digits(0..4)
            && b.get(4) == Some(&b'-')
            && digits(5..7)
            && b.get(7) == Some(&b'-')
            && digits(8..10))
        {
            return None;
        }
        let hour_min = if matches!(b.get(10), Some(b'T' | b' '))
            && digits(11..13)
            && b.get(13) == Some(&b':')
            && digits(14..16)
        {
            Some(&s[11..16])
        } else if b.len() == 10 {
            None
        } else {
            return None;
        };
        Some(Parts {
            year: &s[0..4],
            month_day: &s[5..10],
            hour_min,
        })
    }
    let parsed: Vec<Option<Parts<'_>>> = dates.iter().map(|d| parse(d)).collect();
    if parsed.iter().any(Option::is_none) {
        return dates.to_vec();
    }
    let parts: Vec<Parts<'_>> = parsed.into_iter().flatten().collect();
    let one_year = parts.windows(2).all(|p| p[0].year == p[1].year);
    let midnight = parts
        .iter()
        .all(|p| p.hour_min.is_none_or(|t| t == "00:00"));
    parts
        .iter()
        .map(|p| {
            let mut s = if one_year {
                p.month_day.to_owned()
            } else {
                format!("{}-{}", p.year, p.month_day)
            };
            if let (false, Some(t)) = (midnight, p.hour_min) {
                s.push(' ');
                s.push_str(t);
            }
            s
        })
        .collect()
}

/// Adds a class (and an accessible name) to the root element plotters wrote.
fn mark_root(svg: String, title: Option<&str>) -> String {
    let Some(rest) = svg.strip_prefix("<svg ") else {
        return svg;
    };
    let mut out = String::with_capacity(svg.len() + 64);
    out.push_str(r#"<svg class="cambium-chart" role="img""#);
    if let Some(t) = title {
        out.push_str(r#" aria-label=""#);
        push_escaped(&mut out, t);
        out.push('"');
    }
    out.push(' ');
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"))
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect()
    }

    fn metrics_chart() -> LineChart {
        LineChart {
            title: Some("metrics across versions".into()),
            series: vec![
                Series::new("auc", vec![(0.0, 0.81), (1.0, 0.84), (2.0, 0.83)]),
                Series::new("accuracy", vec![(0.0, 0.71), (1.0, f64::NAN), (2.0, 0.77)]),
            ],
            x_labels: vec!["v1".into(), "v2".into(), "v3".into()],
            x_desc: Some("version".into()),
            y_desc: Some("metric".into()),
            ..LineChart::default()
        }
    }

    #[test]
    fn line_chart_parses_and_has_labels_and_legend() {
        let svg = line_chart_svg(&metrics_chart()).unwrap();
        let doc = parse(&svg);
        assert_eq!(doc.root_element().attribute("class"), Some("cambium-chart"));
        assert_eq!(
            doc.root_element().attribute("aria-label"),
            Some("metrics across versions")
        );
        let t = texts(&doc);
        for want in ["v1", "v2", "v3", "auc", "accuracy", "metric", "version"] {
            assert!(t.iter().any(|s| s == want), "{want} not in {t:?}");
        }
        assert!(!svg.contains("NaN"), "NaN leaked into the SVG");
    }

    #[test]
    fn user_text_is_escaped() {
        let evil = "<script>&\"'";
        let chart = LineChart {
            title: Some(evil.into()),
            series: vec![Series::new(evil, vec![(0.0, 1.0), (1.0, 2.0)])],
            x_labels: vec![evil.into(), "v2\u{1}".into()],
            x_desc: Some(evil.into()),
            y_desc: Some(evil.into()),
            ..LineChart::default()
        };
        let svg = line_chart_svg(&chart).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;"));
        let doc = parse(&svg);
        let t = texts(&doc);
        // title, legend, x label, x desc, y desc
        assert!(
            t.iter().filter(|s| s.as_str() == evil).count() >= 4,
            "{t:?}"
        );
        assert!(t.iter().any(|s| s == "v2\u{FFFD}"), "{t:?}");

        let d = DurationChart {
            runs: vec![evil.into()],
            tasks: vec![TaskDurations {
                task_id: evil.into(),
                seconds: vec![Some(3.0)],
            }],
            width: 400,
            height: 200,
        };
        let svg = duration_chart_svg(&d).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        parse(&svg);
        let svg = no_data_svg(100, 50, evil);
        assert!(!svg.contains("<script"), "{svg}");
        parse(&svg);
    }

    #[test]
    fn empty_and_non_finite_inputs_say_no_data() {
        let empty = line_chart_svg(&LineChart::default()).unwrap();
        assert!(empty.contains("no data yet"));
        parse(&empty);
        let all_nan = LineChart {
            series: vec![Series::new(
                "a",
                vec![(0.0, f64::NAN), (f64::INFINITY, 1.0)],
            )],
            ..LineChart::default()
        };
        assert!(line_chart_svg(&all_nan).unwrap().contains("no data yet"));
        let no_runs = DurationChart {
            runs: vec![],
            tasks: vec![],
            width: 600,
            height: 300,
        };
        assert!(duration_chart_svg(&no_runs)
            .unwrap()
            .contains("no data yet"));
    }

    #[test]
    fn numeric_x_axis_and_single_point() {
        let chart = LineChart {
            series: vec![Series::new("loss", vec![(3.0, 0.5)])],
            ..LineChart::default()
        };
        let svg = line_chart_svg(&chart).unwrap();
        parse(&svg);
        assert!(svg.contains("<circle"), "a single point gets a marker");
        let chart = LineChart {
            series: vec![Series::new(
                "loss",
                (0..50)
                    .map(|i| (f64::from(i) * 0.1, 1.0 / f64::from(i + 1)))
                    .collect(),
            )],
            ..LineChart::default()
        };
        parse(&line_chart_svg(&chart).unwrap());
    }

    #[test]
    fn duration_chart_picks_a_unit_and_shortens_dates() {
        let chart = DurationChart {
            runs: (1..=3)
                .map(|d| format!("2024-05-0{d}T00:00:00+00:00"))
                .collect(),
            tasks: vec![
                TaskDurations {
                    task_id: "extract".into(),
                    seconds: vec![Some(300.0), None, Some(360.0)],
                },
                TaskDurations {
                    task_id: "train".into(),
                    seconds: vec![Some(f64::NAN), Some(900.0), Some(840.0)],
                },
            ],
            width: 720,
            height: 320,
        };
        let svg = duration_chart_svg(&chart).unwrap();
        let doc = parse(&svg);
        let t = texts(&doc);
        for want in ["05-01", "05-03", "duration (minutes)", "extract", "train"] {
            assert!(t.iter().any(|s| s == want), "{want} not in {t:?}");
        }
    }

    #[test]
    fn dates_are_shortened_sensibly() {
        let s = |v: &[&str]| shorten_dates(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00Z"]),
            ["05-01", "05-02"]
        );
        assert_eq!(
            s(&["2023-12-31T00:00:00Z", "2024-01-01T00:00:00Z"]),
            ["2023-12-31", "2024-01-01"]
        );
        assert_eq!(
            s(&["2024-05-01T06:00:00Z", "2024-05-01T12:30:00Z"]),
            ["05-01 06:00", "05-01 12:30"]
        );
        assert_eq!(s(&["2024-05-01", "manual__x"]), ["2024-05-01", "manual__x"]);
    }

    #[test]
    fn helpers() {
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(-0.0000000000001), "0");
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(pad(1.0, 1.0, 0.1), (0.0, 2.0));
    }

    #[test]
    fn legend_overflow_says_how_many_more() {
        let chart = DurationChart {
            runs: (0..100).map(|i| format!("run {i}")).collect(),
            tasks: (0..50)
                .map(|t| TaskDurations {
                    task_id: format!("task_{t}"),
                    seconds: (0..100).map(|r| Some(f64::from(t * 3 + r % 7))).collect(),
                })
                .collect(),
            width: 900,
            height: 360,
        };
        let svg = duration_chart_svg(&chart).unwrap();
        let t = texts(&parse(&svg));
        assert!(
            t.iter().any(|s| s.starts_with('+') && s.ends_with("more")),
            "{t:?}"
        );
    }
}
