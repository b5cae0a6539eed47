//! `DIR/speedup.svg`: measured speedup against worker count, one series per
//! dispatch mode with min–max error bars, the ideal line S = p, the
//! in-process baseline as a horizontal line, and where workers × threads
//! reach the core count.
//!
//! Drawn with plotters' SVG backend and no font feature: text becomes SVG
//! `<text>` elements that the viewer renders, so no font file, fontconfig or
//! system font is needed to build or run this.

use anyhow::anyhow;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{BenchReport, IN_PROCESS};

/// Size of the picture in pixels.
const SIZE: (u32, u32) = (960, 640);
const FONT: &str = "sans-serif";
/// Series colours, in the order dispatch modes appear.
const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const IN_PROCESS_COLOUR: RGBColor = RGBColor(44, 160, 44);
const IDEAL_COLOUR: RGBColor = RGBColor(110, 110, 110);
const CORES_COLOUR: RGBColor = RGBColor(255, 127, 14);

/// The x axis: linear over worker counts, ticks at the counts measured
/// (plotters' own f64 axis would put ticks at fractional worker counts).
struct WorkerAxis {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for WorkerAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let share = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.0
        };
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One point of a series: worker count, median speedup, min, max.
type Point = (f64, f64, f64, f64);

fn series(report: &BenchReport) -> Vec<(String, Vec<Point>)> {
    let mut out: Vec<(String, Vec<Point>)> = Vec::new();
    for row in &report.rows {
        let Some(p) = row.workers else { continue };
        let Some(s) = row.speedup else { continue };
        let point = (
            p as f64,
            s,
            row.speedup_min.unwrap_or(s),
            row.speedup_max.unwrap_or(s),
        );
        match out.iter_mut().find(|(name, _)| *name == row.dispatch) {
            Some((_, points)) => points.push(point),
            None => out.push((row.dispatch.clone(), vec![point])),
        }
    }
    out
}

/// Draws the speedup plot of `report` and returns the SVG text.
///
/// # Errors
/// When plotters fails to draw (it should not with a string backend).
pub fn speedup_svg(report: &BenchReport) -> anyhow::Result<String> {
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing the speedup plot: {e}");
    let series = series(report);
    let in_process = report
        .rows
        .iter()
        .find(|r| r.dispatch == IN_PROCESS)
        .and_then(|r| r.speedup);
    let mut counts: Vec<f64> = report
        .rows
        .iter()
        .filter_map(|r| r.workers.map(|w| w as f64))
        .collect();
    counts.sort_by(f64::total_cmp);
    counts.dedup();
    let max_p = counts.last().copied().unwrap_or(1.0).max(2.0);
    let y_top = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|p| p.3))
        .chain(in_process)
        .fold(max_p, f64::max)
        * 1.12;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (head, body) = root.split_vertically(78);
        let what = if report.messaging_only {
            format!("{} synthetic tasks, messaging only", report.items)
        } else {
            let ops = if report.ops.is_empty() {
                "re-encode only"
            } else {
                &report.ops
            };
            format!("{} images, ops {ops}", report.items)
        };
        let centre = i32::try_from(SIZE.0 / 2).unwrap_or(0);
        head.draw(&Text::new(
            format!("imgpipe speedup: {what}"),
            (centre, 14),
            (FONT, 24)
                .into_font()
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(|e| err(&e))?;
        let cpu = report.machine.cpu_model.as_deref().unwrap_or("CPU unknown");
        head.draw(&Text::new(
            format!(
                "{} cores ({cpu}), {} thread{} per worker, median of {} run{} after {} warm-up{}; bars: min–max of runs; wall time excludes process start-up",
                report.machine.cores,
                report.threads_per_worker,
                plural(report.threads_per_worker),
                report.repeat,
                plural(report.repeat),
                report.warmup,
                plural(report.warmup),
            ),
            (centre, 48),
            (FONT, 15)
                .into_font()
                .color(&RGBColor(80, 80, 80))
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(|e| err(&e))?;

        let mut chart = ChartBuilder::on(&body)
            .margin_left(20)
            .margin_right(40)
            .margin_bottom(20)
            .x_label_area_size(56)
            .y_label_area_size(70)
            .build_cartesian_2d(
                WorkerAxis {
                    range: 0.5..max_p + 0.5,
                    ticks: counts.clone(),
                },
                0.0..y_top,
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("worker processes p")
            .y_desc("speedup S = T1 / Tp (median wall time)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 15))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()
            .map_err(|e| err(&e))?;

        let ideal = || {
            DashedLineSeries::new(
                [(1.0, 1.0), (max_p, max_p)],
                8,
                6,
                IDEAL_COLOUR.stroke_width(2),
            )
        };
        chart
            .draw_series(ideal())
            .map_err(|e| err(&e))?
            .label("ideal (S = p)")
            .legend(|(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new([(0, 0), (8, 0)], IDEAL_COLOUR.stroke_width(2))
                    + PathElement::new([(14, 0), (22, 0)], IDEAL_COLOUR.stroke_width(2))
            });

        let cores_at = report.machine.cores as f64 / report.threads_per_worker.max(1) as f64;
        if cores_at < max_p {
            chart
                .draw_series(LineSeries::new(
                    [(cores_at, 0.0), (cores_at, y_top)],
                    CORES_COLOUR.stroke_width(1),
                ))
                .map_err(|e| err(&e))?
                .label(format!(
                    "workers × threads = {} cores: the curve must flatten beyond",
                    report.machine.cores
                ))
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], CORES_COLOUR.stroke_width(1))
                });
        }

        if let Some(s) = in_process {
            let threads = report.in_process_threads.unwrap_or(0);
            chart
                .draw_series(LineSeries::new(
                    [(0.5, s), (max_p + 0.5, s)],
                    IN_PROCESS_COLOUR.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(format!(
                    "in-process, {threads} threads (vs. 1 worker): {s:.2}"
                ))
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], IN_PROCESS_COLOUR.stroke_width(2))
                });
        }

        let n = series.len() as f64;
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            // Series side by side around each count, so equal values stay visible.
            let dodge = (i as f64 - (n - 1.0) / 2.0) * 0.04 * max_p;
            let points: Vec<Point> = points
                .iter()
                .map(|&(x, s, lo, hi)| (x + dodge, s, lo, hi))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.0, p.1)),
                    colour.stroke_width(3),
                ))
                .map_err(|e| err(&e))?
                .label(if name == "default" {
                    "measured (run's default dispatch)".to_string()
                } else {
                    format!("{name} dispatch (measured)")
                })
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3))
                });
            chart
                .draw_series(points.iter().map(|p| {
                    ErrorBar::new_vertical(p.0, p.2, p.1, p.3, colour.stroke_width(2), 12)
                }))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new((p.0, p.1), 5, colour.filled())),
                )
                .map_err(|e| err(&e))?;
            chart
                // p = 1 is 1.00 by definition: label only the others.
                .draw_series(points.iter().skip(1).map(|p| {
                    EmptyElement::at((p.0, p.1))
                        + Text::new(
                            format!("{:.2}", p.1),
                            (9, -4),
                            (FONT, 14)
                                .into_font()
                                .color(&colour)
                                .pos(Pos::new(HPos::Left, VPos::Bottom)),
                        )
                }))
                .map_err(|e| err(&e))?;
        }

        // The ideal line again, on top, so a measured line on it hides neither.
        chart.draw_series(ideal()).map_err(|e| err(&e))?;

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .margin(12)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{Machine, Row, WALL_TIME_NOTE};

    fn row(dispatch: &str, workers: Option<usize>, speedup: f64) -> Row {
        Row {
            dispatch: dispatch.into(),
            workers,
            threads: 1,
            runs: 3,
            failed_runs: 0,
            wall_s: vec![],
            median_s: Some(1.0),
            mean_s: Some(1.0),
            stddev_s: Some(0.0),
            min_s: Some(1.0),
            max_s: Some(1.0),
            speedup: Some(speedup),
            speedup_min: Some(speedup * 0.9),
            speedup_max: Some(speedup * 1.1),
            efficiency: None,
            karp_flatt: None,
            images_per_s: None,
            effective_parallelism: None,
            load_imbalance: None,
            task_shares: vec![],
            other_cpu_share_max: None,
        }
    }

    #[test]
    fn svg_has_title_axes_legend_and_one_series_per_dispatch() -> anyhow::Result<()> {
        let report = BenchReport {
            command: String::new(),
            version: String::new(),
            machine: Machine {
                cores: 2,
                cpu_model: Some("Test CPU".into()),
            },
            input: String::new(),
            items: 200,
            unit: "images".into(),
            messaging_only: false,
            ops: "resize:800x800,grayscale".into(),
            repeat: 3,
            warmup: 1,
            threads_per_worker: 1,
            in_process_threads: Some(4),
            wall_time: WALL_TIME_NOTE.into(),
            rows: vec![
                row("credit", Some(1), 1.0),
                row("credit", Some(2), 1.9),
                row("credit", Some(4), 2.0),
                row("push", Some(1), 1.0),
                row("push", Some(2), 1.5),
                row("push", Some(4), 1.6),
                row(IN_PROCESS, None, 2.1),
            ],
        };
        let svg = speedup_svg(&report)?;
        assert!(svg.starts_with("<svg"));
        for text in [
            "imgpipe speedup: 200 images, ops resize:800x800,grayscale",
            "worker processes p",
            "speedup S = T1 / Tp",
            "ideal (S = p)",
            "credit dispatch (measured)",
            "push dispatch (measured)",
            "in-process, 4 threads",
            "2 cores: the curve must flatten beyond",
            "Test CPU",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        assert!(svg.contains("<text"), "text must be SVG text, not paths");
        Ok(())
    }
}
