//! Charts drawn on the server as inline SVG: bar chart, sparkline, histogram, timeline.
//!
//! The dashboard runs without script, under a Content-Security-Policy that takes styles
//! only from the served stylesheet. So the markup here has no `style` attribute, no
//! `<style>` element and no colour attributes (`fill`, `stroke`): every colour comes from
//! a CSS class, which also lets the stylesheet switch to a dark scheme. Lines and
//! polylines therefore need their `stroke` (and polylines `fill: none`) from the stylesheet.
//!
//! Every chart is `role="img"`, labelled by its `<title>` and `<desc>` (ids `{id}-title`
//! and `{id}-desc`), and every bar, point, bin, mark and span carries a `<title>` with its
//! label and value, the text alternative for screen readers and the tooltip for the rest.
//! All text is escaped here; coordinates are always finite, rounded to 0.1.
//!
//! # Classes
//!
//! - on the `<svg>`: `chart` plus `bar-chart`, `histogram` or `timeline`; `sparkline`;
//! - axes: `axis` (group), `axis-line`, `grid`, `tick` (tick labels), `axis-label` (unit),
//!   `empty` (the "no data in this period" text);
//! - bar chart: `bar`, `nodata` (an empty slot), `band` plus the band's own class,
//!   `band-label`;
//! - sparkline: `spark` (polyline), `spark-dot`, `last` (on the latest dot);
//! - histogram: `bin`, `marker` (group of line and label), `marker-label`;
//! - timeline: `lane`, `lane-label`, `mark` and `span` plus the item's own class, `open`
//!   (a span still running), `link`;
//! - annotations on the bar chart and the timeline: `annotation` (group, titled with its
//!   text) of `annotation-line` and `annotation-flag`; a bar chart's goal: `target` (group) of
//!   `target-line` and `target-label`.

use std::fmt::{self, Write};

/// Appends formatted text to a `String`; writing into a `String` cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {
        {
            let _ = write!($out, $($arg)*);
        }
    };
}

/// Markup that is already escaped and safe to embed (askama: `{{ svg|safe }}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(pub String);

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A horizontal band behind a chart's bars: y from `low` to `high` (in the chart's unit,
/// `high` may be `f64::INFINITY` meaning the top of the chart), drawn with class
/// `band <class>` and labelled at the right edge with `label`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub low: f64,
    pub high: f64,
    pub class: &'static str,
    pub label: String,
}

/// One bucket of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The x-axis label, e.g. `2026-01-05`.
    pub label: String,
    /// `None` (or a non-finite value) is "no data": nothing is drawn but the slot is kept
    /// and its `<title>` says "no data".
    pub value: Option<f64>,
    /// Extra text for the bar's `<title>`, e.g. "12 deployments"; may be empty.
    pub note: String,
}

/// An annotation on a chart's time axis: a vertical line across the plot at `at`, in
/// the chart's own x units — a bar chart's slots (3.5 is the middle of the fourth
/// bar), a timeline's unix seconds — titled with its text. Notes outside the chart
/// are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub at: f64,
    pub title: String,
}

/// A goal across a bar chart at `value` (in the chart's unit), labelled at the right
/// edge, e.g. "goal 24 h".
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub value: f64,
    pub label: String,
}

/// A bar chart: one bar per bucket, the y axis from 0, bands behind the bars.
#[derive(Debug, Clone)]
pub struct BarChart<'a> {
    /// Prefix of the element ids, unique on the page (`[a-z0-9-]`).
    pub id: &'a str,
    pub title: &'a str,
    /// e.g. "deployments per day", "hours", "%".
    pub unit: &'a str,
    pub bars: &'a [Bar],
    pub bands: &'a [Band],
    pub notes: &'a [Note],
    pub target: Option<&'a Target>,
    /// Formats values for the axis ticks and the titles.
    pub format: fn(f64) -> String,
}

/// One histogram bin, `[low, high)`; `high` may be infinite for the last bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub count: i64,
}

/// A vertical line across a histogram at `value`, labelled e.g. "p50 3.2 h".
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub label: String,
    pub value: f64,
}

/// A histogram: bins as equal-width columns in order (the bins may be on a log scale, so
/// columns are not placed by value), markers interpolated within their bin.
#[derive(Debug, Clone)]
pub struct Histogram<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The unit of the binned values (the x axis), e.g. "hours".
    pub unit: &'a str,
    pub bins: &'a [Bin],
    pub markers: &'a [Marker],
    /// Formats the bin edges.
    pub format: fn(f64) -> String,
}

/// A point on a timeline lane at `at` (unix seconds); marks outside the timeline are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub lane: usize,
    pub at: i64,
    /// e.g. "ok", "failed", "rollback", "redeploy", "attempt".
    pub class: &'static str,
    /// The start of the `<title>`; the UTC time is appended.
    pub title: String,
    /// A URL path and query (starting with `/` or `?`); anything else is not linked.
    pub href: Option<String>,
}

/// A period on a timeline lane, clipped to the timeline; `to: None` is still open and is
/// drawn to the end with the extra class `open`.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub lane: usize,
    pub from: i64,
    pub to: Option<i64>,
    pub class: &'static str,
    /// The start of the `<title>`; the UTC period is appended.
    pub title: String,
    pub href: Option<String>,
}

/// A line from one `(lane, at)` to another, e.g. a rollback to the deployment it rolled
/// back (class `link`).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub from: (usize, i64),
    pub to: (usize, i64),
    pub title: String,
}

/// A timeline over `[start, end]` (unix seconds) with one lane per label.
#[derive(Debug, Clone)]
pub struct Timeline<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub start: i64,
    pub end: i64,
    /// Lane labels, e.g. "deployments", "incidents".
    pub lanes: &'a [String],
    pub marks: &'a [Mark],
    pub spans: &'a [Span],
    pub links: &'a [Link],
    pub notes: &'a [Note],
}

// The bar chart and histogram share one frame: a WIDTH×HEIGHT viewBox with room on the
// left for y ticks, on the right for band labels, above for the unit, below for x labels.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const FRAME: (f64, f64) = (WIDTH, HEIGHT);
const LEFT: f64 = 56.0;
const RIGHT: f64 = 560.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 200.0;
const CENTRE: (f64, f64) = ((LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
const MAX_X_LABELS: usize = 8;
const NO_DATA: &str = "no data in this period";
const DAY: i64 = 86_400;

/// Draws a bar chart; see [`BarChart`].
pub fn bar_chart(chart: &BarChart<'_>) -> Svg {
    let (unit, format) = (chart.unit, chart.format);
    let values: Vec<Option<f64>> = chart.bars.iter().map(|bar| finite(bar.value)).collect();
    let (defined, total) = (values.iter().flatten().count(), values.len());
    let data_max = values.iter().flatten().fold(0.0, |m: f64, &v| m.max(v));
    // Bands should show, but a far band edge (a month, when the data are hours) must not
    // flatten the bars: edges count only within half again the data's own scale. (Clamping
    // them to that cap instead was turned down: rounding the cap up again doubled the axis.)
    let cap = Scale::covering(data_max).max * 1.5;
    let edges = chart.bands.iter().flat_map(|band| [band.low, band.high]);
    let band_top = edges.filter(|&edge| edge <= cap).fold(0.0, f64::max);
    // A goal always shows: it is what the bars are read against.
    let target = chart
        .target
        .filter(|t| t.value.is_finite() && t.value >= 0.0);
    let target_top = target.map_or(0.0, |t| t.value);
    let scale = Scale::covering(data_max.max(band_top).max(target_top));
    let highest = with_unit(&format(data_max), unit);
    let desc = match defined {
        0 => format!("{unit}; {NO_DATA}"),
        n => format!("{unit}; {n} of {total} buckets with data, highest {highest}"),
    };
    let mut doc = Doc::open("chart bar-chart", FRAME, chart.id, chart.title, &desc);
    for band in chart.bands {
        let (low, high) = (band.low.max(0.0), band.high.min(scale.max));
        if band.low.is_nan() || band.high.is_nan() || low >= high {
            continue;
        }
        let (top, bottom) = (scale.y(high), scale.y(low));
        let class = format!("band {}", band.class);
        doc.rect(&class, [LEFT, top, RIGHT - LEFT, bottom - top], None);
        let at = (RIGHT + 4.0, (top + bottom) / 2.0 + 4.0);
        doc.text("band-label", at, "start", &band.label);
    }
    doc.y_axis(&scale, format);
    let slot = (RIGHT - LEFT) / count(total.max(1));
    let mut labels = Vec::with_capacity(total);
    for (i, (bar, value)) in chart.bars.iter().zip(&values).enumerate() {
        let x = LEFT + slot * count(i);
        labels.push((x + slot / 2.0, bar.label.as_str()));
        let Some(v) = *value else {
            doc.group("nodata", &format!("{}: no data", bar.label), |_| {});
            continue;
        };
        let mut title = format!("{}: {}", bar.label, with_unit(&format(v), unit));
        if !bar.note.is_empty() {
            put!(title, ", {}", bar.note);
        }
        let y = scale.y(v);
        let at = [x + slot * 0.15, y, slot * 0.7, BOTTOM - y];
        doc.rect("bar", at, Some(&title));
    }
    doc.x_labels(&labels);
    doc.text("axis-label", (LEFT, TOP - 10.0), "start", unit);
    if let Some(target) = target {
        let y = scale.y(target.value);
        doc.group("target", &target.label, |doc| {
            doc.line("target-line", [LEFT, y, RIGHT, y], None);
            doc.text(
                "target-label",
                (RIGHT + 4.0, y - 4.0),
                "start",
                &target.label,
            );
        });
    }
    let slots = count(total.max(1));
    doc.notes(chart.notes, (0.0, slots), (LEFT, RIGHT), (TOP, BOTTOM));
    doc.close(defined == 0, CENTRE)
}

/// Sparkline of weekly values, drawn 120×32: a polyline (class `spark`) with a dot per
/// defined value and a gap at each `None`; all-equal values give a flat line. Without
/// any value it is only a `<title>` saying "no data".
pub fn sparkline(
    id: &str,
    title: &str,
    points: &[(String, Option<f64>)],
    format: fn(f64) -> String,
) -> Svg {
    const W: f64 = 120.0;
    const H: f64 = 32.0;
    const PAD: f64 = 3.0;
    let (id, title) = (escape(id), escape(title));
    let values: Vec<Option<f64>> = points.iter().map(|(_, v)| finite(*v)).collect();
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    let head = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img""#
    );
    let (Some(&first), Some(&last)) = (defined.first(), defined.last()) else {
        let label = format!(r#"aria-labelledby="{id}-title"><title id="{id}-title">"#);
        return Svg(format!("{head} {label}{title}: no data</title></svg>"));
    };
    let (lo, hi) = (defined.iter()).fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let n = values.len();
    let x0 = if n == 1 { W / 2.0 } else { PAD };
    let step = (W - 2.0 * PAD) / count(n.max(2) - 1);
    let x = |i: usize| x0 + step * count(i);
    // Centred on the middle of the range, so that equal values draw a flat middle line.
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y = |v: f64| H / 2.0 + (lo / 2.0 + hi / 2.0 - v) / span * (H - 2.0 * PAD);
    let (count, lo, hi, last) = (defined.len(), format(lo), format(hi), format(last));
    let desc = escape(&format!("{count} values from {lo} to {hi}, latest {last}"));
    let mut doc = Doc(format!(
        r#"{head} aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#
    ));
    // One polyline per run of defined values, so that a missing week is a visible gap.
    let mut run = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if let Some(v) = value {
            run.push(format!("{},{}", num(x(i)), num(y(*v))));
        }
        if (value.is_none() || i + 1 == n) && !run.is_empty() {
            if run.len() > 1 {
                let run = run.join(" ");
                put!(doc.0, r#"<polyline class="spark" points="{run}"/>"#);
            }
            run.clear();
        }
    }
    let latest = values.iter().rposition(Option::is_some);
    for (i, ((label, _), value)) in points.iter().zip(&values).enumerate() {
        if let Some(v) = *value {
            let last = if Some(i) == latest { " last" } else { "" };
            let title = format!("{label}: {}", format(v));
            doc.circle(&format!("spark-dot{last}"), [x(i), y(v), 1.5], Some(&title));
        }
    }
    doc.close(false, (0.0, 0.0))
}

/// Draws a histogram; see [`Histogram`]. The y axis counts values.
pub fn histogram(h: &Histogram<'_>) -> Svg {
    let (unit, format) = (h.unit, h.format);
    let total = (h.bins.iter()).fold(0, |sum: i64, bin| sum.saturating_add(bin.count.max(0)));
    let most = h.bins.iter().map(|bin| bin.count).max().unwrap_or(0);
    // At least 5, so that the ticks of a count axis are whole numbers.
    let scale = Scale::covering(count_i64(most).max(5.0));
    let mut desc = format!("{total} values in {} bins of {unit}", h.bins.len());
    for marker in h.markers {
        put!(desc, "; {}", marker.label);
    }
    let mut doc = Doc::open("chart histogram", FRAME, h.id, h.title, &desc);
    doc.y_axis(&scale, |v| format!("{v}"));
    let column = (RIGHT - LEFT) / count(h.bins.len().max(1));
    let mut edges = Vec::with_capacity(h.bins.len() + 1);
    for (i, bin) in h.bins.iter().enumerate() {
        let (x, low) = (LEFT + column * count(i), format(bin.low));
        let range = if bin.high.is_finite() {
            format!("{low}–{}", with_unit(&format(bin.high), unit))
        } else {
            format!("{} or more", with_unit(&low, unit))
        };
        let y = scale.y(count_i64(bin.count));
        let title = format!("{range}: {}", bin.count);
        let at = [x + 1.0, y, (column - 2.0).max(0.5), BOTTOM - y];
        doc.rect("bin", at, Some(&title));
        edges.push((x, low));
    }
    if let Some(last) = h.bins.last().filter(|bin| bin.high.is_finite()) {
        edges.push((RIGHT, format(last.high)));
    }
    doc.x_labels(&edges);
    for (i, marker) in h.markers.iter().enumerate() {
        let Some(x) = marker_x(h.bins, marker.value, column) else {
            continue;
        };
        // Labels in the right half end at their line, so that they stay inside the chart.
        let anchor = if x > CENTRE.0 { "end" } else { "start" };
        let dx = if x > CENTRE.0 { -3.0 } else { 3.0 };
        let at = (x + dx, TOP + 10.0 + 12.0 * count(i % 4));
        doc.group("marker", &marker.label, |doc| {
            doc.line("", [x, TOP, x, BOTTOM], None);
            doc.text("marker-label", at, anchor, &marker.label);
        });
    }
    doc.text("axis-label", (LEFT, TOP - 10.0), "start", "count");
    doc.text("axis-label", (RIGHT, HEIGHT - 8.0), "end", unit);
    doc.close(total == 0, CENTRE)
}

/// Where a value falls on the histogram's columns: linear within the bin holding it, at
/// the left edge of the next bin when it falls before or between bins, at the right end
/// past the last bin. `None` for a non-finite value or no bins.
fn marker_x(bins: &[Bin], value: f64, column: f64) -> Option<f64> {
    if !value.is_finite() || bins.is_empty() {
        return None;
    }
    for (i, bin) in bins.iter().enumerate() {
        if value < bin.low {
            return Some(LEFT + column * count(i));
        }
        if value < bin.high {
            let width = bin.high - bin.low;
            let within = if width.is_finite() {
                (value - bin.low) / width
            } else {
                0.5
            };
            return Some(LEFT + column * (count(i) + within));
        }
    }
    Some(RIGHT)
}

/// Draws a timeline; see [`Timeline`]. Marks and spans with an `href` are links.
pub fn timeline(t: &Timeline<'_>) -> Svg {
    const X0: f64 = 104.0;
    // Room on the right for half of the last date label.
    const X1: f64 = 684.0;
    const Y0: f64 = 8.0;
    const LANE: f64 = 28.0;
    let mark_lanes = t.marks.iter().map(|m| m.lane.saturating_add(1));
    let span_lanes = t.spans.iter().map(|s| s.lane.saturating_add(1));
    let used = mark_lanes.chain(span_lanes).max().unwrap_or(0);
    let lanes = used.max(t.lanes.len()).max(1);
    let bottom = Y0 + LANE * count(lanes);
    let range = secs(t.end.saturating_sub(t.start).max(1));
    let x = |at: i64| X0 + (secs(at.saturating_sub(t.start)) / range).clamp(0.0, 1.0) * (X1 - X0);
    let y = |lane: usize| Y0 + LANE * (count(lane) + 0.5);
    let inside = |m: &&Mark| (t.start..=t.end).contains(&m.at);
    let marks: Vec<&Mark> = t.marks.iter().filter(inside).collect();
    let overlaps = |s: &&Span| s.from <= t.end && s.to.is_none_or(|to| to >= t.start);
    let spans: Vec<&Span> = t.spans.iter().filter(overlaps).collect();
    let (from, to) = (utc_date(t.start), utc_date(t.end));
    let (m, s) = (marks.len(), spans.len());
    let desc = format!("From {from} to {to} (UTC): {m} events, {s} periods");
    let size = (720.0, bottom + 28.0);
    let mut doc = Doc::open("chart timeline", size, t.id, t.title, &desc);
    for lane in 0..lanes {
        doc.rect("lane", [X0, Y0 + LANE * count(lane), X1 - X0, LANE], None);
        let label = t.lanes.get(lane).map_or("", String::as_str);
        doc.text("lane-label", (X0 - 6.0, y(lane) + 4.0), "end", label);
    }
    doc.0.push_str(r#"<g class="axis">"#);
    let (step, ticks) = date_ticks(t.start, t.end);
    for tick in ticks {
        // Hourly ticks show "MM-DD HH:MM" (the minute's text after the year), others the date.
        let (date, minute) = (utc_date(tick), utc_minute(tick));
        let label = if step < DAY {
            &minute[date.len() - 5..]
        } else {
            &date
        };
        doc.line("grid", [x(tick), Y0, x(tick), bottom], None);
        doc.text("tick", (x(tick), bottom + 16.0), "middle", label);
    }
    doc.line("axis-line", [X0, bottom, X1, bottom], None);
    doc.0.push_str("</g>");
    for link in t.links {
        let ((from_lane, from), (to_lane, to)) = (link.from, link.to);
        let at = [x(from), y(from_lane), x(to), y(to_lane)];
        doc.line("link", at, Some(&link.title));
    }
    let empty = marks.is_empty() && spans.is_empty();
    for span in spans {
        let (left, right) = (x(span.from), x(span.to.unwrap_or(t.end)));
        let from = utc_minute(span.from);
        let (open, when) = match span.to {
            Some(to) => ("", format!("{from} – {} UTC", utc_minute(to))),
            None => (" open", format!("since {from} UTC, still open")),
        };
        let class = format!("span {}{open}", span.class);
        let title = format!("{} ({when})", span.title);
        let at = [left, y(span.lane) - 6.0, (right - left).max(1.5), 12.0];
        let href = span.href.as_deref();
        doc.linked(href, |doc| doc.rect(&class, at, Some(&title)));
    }
    for mark in marks {
        let title = format!("{} ({} UTC)", mark.title, utc_minute(mark.at));
        let class = format!("mark {}", mark.class);
        let at = [x(mark.at), y(mark.lane), 5.0];
        let href = mark.href.as_deref();
        doc.linked(href, |doc| doc.circle(&class, at, Some(&title)));
    }
    let range = (secs(t.start), secs(t.end.max(t.start.saturating_add(1))));
    doc.notes(t.notes, range, (X0, X1), (Y0, bottom));
    doc.close(empty, ((X0 + X1) / 2.0, bottom / 2.0 + 4.0))
}

/// Tick instants for `[start, end]`: the smallest step from an hour to a year giving at
/// most eight, aligned to UTC midnight (weeks to Mondays). Returns the step too.
fn date_ticks(start: i64, end: i64) -> (i64, Vec<i64>) {
    const HOURS: [i64; 12] = [1, 3, 6, 12, 24, 48, 168, 336, 672, 2_184, 4_368, 8_736];
    let range = end.saturating_sub(start).max(1);
    let mut steps = HOURS.into_iter().map(|h| h * 3_600);
    let years = (range / (8 * 364 * DAY) + 1) * 364 * DAY;
    let step = steps.find(|step| range / step < 8).unwrap_or(years);
    // 1970-01-05 was a Monday.
    let offset = if step % (7 * DAY) == 0 { 4 * DAY } else { 0 };
    let past = start.saturating_sub(offset).rem_euclid(step);
    let first = start.saturating_add((step - past) % step);
    let ticks = (0..8).map(|i| first.saturating_add(step.saturating_mul(i)));
    (step, ticks.take_while(|&tick| tick <= end).collect())
}

/// A y axis from 0 to a "nice" maximum, with 4 or 5 tick intervals.
#[derive(Debug, Clone, Copy)]
struct Scale {
    max: f64,
    intervals: u32,
}

impl Scale {
    /// The smallest 1, 2, 2.5 or 5 × 10^k at or above `top`; 1 when `top` is not positive.
    fn covering(top: f64) -> Scale {
        // 1e300 is far past any metric, but keeps every tick finite; NaN fails `> 0`.
        let top = if top > 0.0 { top.min(1e300) } else { 1.0 };
        let power = 10f64.powf(top.log10().floor());
        // The tolerance absorbs log10's rounding (0.3 must not become 0.5 × 10).
        let scales = [(1.0, 5), (2.0, 4), (2.5, 5), (5.0, 5), (10.0, 5), (20.0, 4)];
        let fits = |&(m, _): &(f64, u32)| m * power >= top * (1.0 - 1e-9);
        let (m, intervals) = scales.into_iter().find(fits).unwrap_or((20.0, 4));
        Scale {
            max: m * power,
            intervals,
        }
    }

    /// The y coordinate of a value, clipped to the axis.
    fn y(&self, v: f64) -> f64 {
        BOTTOM - v.clamp(0.0, self.max) / self.max * (BOTTOM - TOP)
    }

    fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        (0..=self.intervals).map(|i| f64::from(i) * self.max / f64::from(self.intervals))
    }
}

/// Markup being written. Its methods take coordinates as numbers and text unescaped, so
/// that everything that goes in is finite, rounded and escaped.
struct Doc(String);

impl Doc {
    /// A responsive chart's `<svg>` start tag, with its `<title>` and `<desc>`.
    fn open(class: &str, (w, h): (f64, f64), id: &str, title: &str, desc: &str) -> Doc {
        let (id, title, desc, w, h) = (escape(id), escape(title), escape(desc), num(w), num(h));
        Doc(format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#
        ))
    }

    /// Ends the chart, first saying "no data in this period" at `at` when it is `empty`.
    fn close(mut self, empty: bool, at: (f64, f64)) -> Svg {
        if empty {
            self.text("empty", at, "middle", NO_DATA);
        }
        self.0.push_str("</svg>");
        Svg(self.0)
    }

    /// Grid lines and labelled ticks of the y axis, and both axis lines.
    fn y_axis(&mut self, scale: &Scale, format: fn(f64) -> String) {
        self.0.push_str(r#"<g class="axis">"#);
        for tick in scale.ticks() {
            let y = scale.y(tick);
            self.line("grid", [LEFT, y, RIGHT, y], None);
            self.text("tick", (LEFT - 6.0, y + 4.0), "end", &format(tick));
        }
        self.line("axis-line", [LEFT, TOP, LEFT, BOTTOM], None);
        self.line("axis-line", [LEFT, BOTTOM, RIGHT, BOTTOM], None);
        self.0.push_str("</g>");
    }

    /// Labels under the x axis at the given x, thinned to at most eight (first and last
    /// kept) so that they do not overlap.
    fn x_labels(&mut self, labels: &[(f64, impl AsRef<str>)]) {
        self.0.push_str(r#"<g class="axis">"#);
        for (x, label) in thin(labels.len()).into_iter().filter_map(|i| labels.get(i)) {
            self.text("tick", (*x, BOTTOM + 16.0), "middle", label.as_ref());
        }
        self.0.push_str("</g>");
    }

    /// A `<g>` of the class with a `<title>`, around what `draw` draws.
    fn group(&mut self, class: &str, title: &str, draw: impl FnOnce(&mut Doc)) {
        let (class, title) = (escape(class), escape(title));
        put!(self.0, r#"<g class="{class}"><title>{title}</title>"#);
        draw(self);
        self.0.push_str("</g>");
    }

    fn rect(&mut self, class: &str, at: [f64; 4], title: Option<&str>) {
        self.shape("rect x y width height", class, &at, title);
    }

    fn line(&mut self, class: &str, at: [f64; 4], title: Option<&str>) {
        self.shape("line x1 y1 x2 y2", class, &at, title);
    }

    fn circle(&mut self, class: &str, at: [f64; 3], title: Option<&str>) {
        self.shape("circle cx cy r", class, &at, title);
    }

    /// An element (`layout` is its name, then the names of its coordinates) with a class
    /// (none if empty) and, if given, a `<title>` child.
    fn shape(&mut self, layout: &str, class: &str, at: &[f64], title: Option<&str>) {
        let mut names = layout.split(' ');
        let name = names.next().unwrap_or("g");
        put!(self.0, "<{name}");
        if !class.is_empty() {
            put!(self.0, r#" class="{}""#, escape(class));
        }
        for (attr, value) in names.zip(at) {
            put!(self.0, r#" {attr}="{}""#, num(*value));
        }
        match title {
            Some(title) => put!(self.0, "><title>{}</title></{name}>", escape(title)),
            None => self.0.push_str("/>"),
        }
    }

    fn text(&mut self, class: &str, (x, y): (f64, f64), anchor: &str, content: &str) {
        let (x, y, content) = (num(x), num(y), escape(content));
        put!(
            self.0,
            r#"<text class="{class}" x="{x}" y="{y}" text-anchor="{anchor}">{content}</text>"#
        );
    }

    /// Each note within `[from, to]` (x units) as a vertical line over `[left, right]`
    /// × `[top, bottom]`, with a flag at the top; its text is the group's `<title>`.
    fn notes(
        &mut self,
        notes: &[Note],
        (from, to): (f64, f64),
        (left, right): (f64, f64),
        (top, bottom): (f64, f64),
    ) {
        let inside = |n: &&Note| n.at.is_finite() && (from..=to).contains(&n.at);
        for note in notes.iter().filter(inside) {
            let x = left + (note.at - from) / (to - from).max(f64::MIN_POSITIVE) * (right - left);
            self.group("annotation", &note.title, |doc| {
                doc.line("annotation-line", [x, top, x, bottom], None);
                doc.rect("annotation-flag", [x, top - 6.0, 7.0, 6.0], None);
            });
        }
    }

    /// Draws inside `<a href>` when `href` is a path or query on this site. Others
    /// (`javascript:`, `//host`) are drawn unlinked: callers build hrefs, this is a backstop.
    fn linked(&mut self, href: Option<&str>, draw: impl FnOnce(&mut Doc)) {
        let local = |h: &&str| (h.starts_with('/') && !h.starts_with("//")) || h.starts_with('?');
        let href = href.filter(local);
        if let Some(href) = href {
            put!(self.0, r#"<a href="{}">"#, escape(href));
        }
        draw(self);
        if href.is_some() {
            self.0.push_str("</a>");
        }
    }
}

/// Up to `MAX_X_LABELS` indices into `0..n`, evenly spread, always the first and last.
fn thin(n: usize) -> Vec<usize> {
    if n <= MAX_X_LABELS {
        return (0..n).collect();
    }
    let k = MAX_X_LABELS - 1;
    (0..=k).map(|i| (i * (n - 1) + k / 2) / k).collect()
}

/// "12.5 hours", but "12.5%".
fn with_unit(value: &str, unit: &str) -> String {
    let tight = unit.is_empty() || unit.starts_with('%');
    format!("{value}{}{unit}", if tight { "" } else { " " })
}

/// Non-finite values are "no data", like `None`.
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// A coordinate: rounded to 0.1, never NaN, infinite or `-0`.
fn num(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0 + 0.0;
    format!("{}", if rounded.is_finite() { rounded } else { 0.0 })
}

// Counts and seconds as coordinates: exact up to 2^53, far beyond any chart.
fn count(n: usize) -> f64 {
    n as f64
}

fn count_i64(n: i64) -> f64 {
    n.max(0) as f64
}

fn secs(s: i64) -> f64 {
    s as f64
}

/// Escapes text for XML content and attribute values, dropping the control characters
/// XML 1.0 forbids (they would make the page's SVG ill-formed).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD` of a unix time, in UTC.
fn utc_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM` of a unix time, in UTC.
fn utc_minute(secs: i64) -> String {
    let minutes = secs.rem_euclid(DAY) / 60;
    format!("{} {:02}:{:02}", utc_date(secs), minutes / 60, minutes % 60)
}

/// The proleptic Gregorian `(year, month, day)` of a count of days since 1970-01-01, by
/// Howard Hinnant's `civil_from_days`: a dozen lines instead of a chrono dependency.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>";
    /// 2026-01-05 00:00 UTC, a Monday.
    const MONDAY: i64 = 1_767_571_200;

    fn one(v: f64) -> String {
        format!("{v:.1}")
    }

    fn bar(label: &str, value: Option<f64>) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            note: String::new(),
        }
    }

    fn bars_of(values: &[Option<f64>]) -> Vec<Bar> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| bar(&format!("2026-01-{:02}", i + 1), *v))
            .collect()
    }

    fn lead_time<'a>(bars: &'a [Bar], bands: &'a [Band]) -> Svg {
        bar_chart(&BarChart {
            id: "lead",
            title: "Lead time",
            unit: "hours",
            bars,
            bands,
            notes: &[],
            target: None,
            format: one,
        })
    }

    fn band(low: f64, high: f64) -> Band {
        Band {
            low,
            high,
            class: "elite",
            label: "elite".to_owned(),
        }
    }

    fn mark(lane: usize, at: i64) -> Mark {
        Mark {
            lane,
            at,
            class: "ok",
            title: format!("deploy at {at}"),
            href: None,
        }
    }

    fn span(from: i64, to: Option<i64>) -> Span {
        Span {
            lane: 1,
            from,
            to,
            class: "failed",
            title: "incident".to_owned(),
            href: None,
        }
    }

    fn draw_timeline(marks: &[Mark], spans: &[Span], links: &[Link]) -> Svg {
        let lanes = ["deployments".to_owned(), "incidents".to_owned()];
        timeline(&Timeline {
            id: "tl",
            title: "Deployments and incidents",
            start: MONDAY,
            end: MONDAY + 10 * DAY,
            lanes: &lanes,
            marks,
            spans,
            links,
            notes: &[],
        })
    }

    /// The start tags beginning with `prefix` (e.g. `<rect class="bar"`), up to their `>`.
    fn tags<'a>(svg: &'a Svg, prefix: &str) -> Vec<&'a str> {
        let s = svg.0.as_str();
        s.match_indices(prefix)
            .map(|(i, _)| &s[i..i + s[i..].find('>').map_or(s.len() - i, |end| end + 1)])
            .collect()
    }

    fn attr(tag: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let start = tag
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {tag}"))
            + key.len();
        let len = tag[start..].find('"').expect("a closing quote");
        let value = &tag[start..start + len];
        value
            .parse()
            .unwrap_or_else(|e| panic!("{name}={value:?} in {tag}: {e}"))
    }

    /// For each start tag beginning with `prefix`, the first text inside the element
    /// (its own text, or its `<title>`'s).
    fn texts<'a>(svg: &'a Svg, prefix: &str) -> Vec<&'a str> {
        let s = svg.0.as_str();
        s.match_indices(prefix)
            .filter_map(|(i, _)| {
                let mut from = i + s[i..].find('>')? + 1;
                while s[from..].starts_with('<') && !s[from..].starts_with("</") {
                    from += s[from..].find('>')? + 1;
                }
                Some(&s[from..from + s[from..].find('<')?])
            })
            .collect()
    }

    /// What every chart must keep: no inline style, no colour attributes, no NaN or
    /// infinity, and markup that is well-formed.
    fn assert_clean(svg: &Svg) {
        let s = &svg.0;
        for banned in [
            "style=", "<style", "fill=", "stroke=", "NaN", "inf", "<script",
        ] {
            assert!(!s.contains(banned), "{banned:?} in {s}");
        }
        assert!(s.starts_with("<svg ") && s.ends_with("</svg>"), "{s}");
        assert_eq!(s.matches("<svg").count(), s.matches("</svg>").count());
        assert_eq!(
            s.matches("<g ").count() + s.matches("<g>").count(),
            s.matches("</g>").count()
        );
        assert_well_formed(s);
    }

    /// A rough XML check: tags nest and close in order, attribute quotes pair up, text has
    /// no raw `>`, and `&` only starts one of the entities `escape` writes.
    fn assert_well_formed(s: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = s;
        while let Some(lt) = rest.find('<') {
            assert!(!rest[..lt].contains('>'), "raw > in text of {s}");
            let gt = lt + rest[lt..].find('>').expect("an unclosed tag");
            let tag = &rest[lt + 1..gt];
            assert!(
                !tag.contains('<') && tag.matches('"').count().is_multiple_of(2),
                "bad tag <{tag}>"
            );
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "misnested </{name}> in {s}");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().expect("a tag name"));
            }
            rest = &rest[gt + 1..];
        }
        assert!(open.is_empty(), "unclosed {open:?} in {s}");
        for (i, _) in s.match_indices('&') {
            let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
            assert!(
                entity.iter().any(|e| s[i..].starts_with(e)),
                "bare & in {s}"
            );
        }
    }

    #[test]
    fn well_formed_check_catches_misnested_and_bare_markup() {
        for bad in [
            "<svg><g></svg>",
            "<svg><g></svg></g>",
            "<svg>a > b</svg>",
            "<svg>&</svg>",
        ] {
            assert!(
                std::panic::catch_unwind(|| assert_well_formed(bad)).is_err(),
                "{bad}"
            );
        }
        assert_well_formed(r#"<svg a="1"><g><title>x &amp; y</title><rect/></g></svg>"#);
    }

    #[test]
    fn escape_replaces_the_five_special_characters_and_drops_forbidden_controls() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td\u{FFFF}é"), "abc\tdé");
    }

    #[test]
    fn hostile_text_is_escaped_in_every_chart() {
        let bars = [Bar {
            label: HOSTILE.to_owned(),
            value: Some(2.0),
            note: HOSTILE.to_owned(),
        }];
        let bands = [Band {
            low: 0.0,
            high: 1.0,
            class: "elite",
            label: HOSTILE.to_owned(),
        }];
        let chart = BarChart {
            id: "x",
            title: HOSTILE,
            unit: HOSTILE,
            bars: &bars,
            bands: &bands,
            notes: &[],
            target: None,
            format: one,
        };
        let bins = [Bin {
            low: 0.0,
            high: 1.0,
            count: 2,
        }];
        let markers = [Marker {
            label: HOSTILE.to_owned(),
            value: 0.5,
        }];
        let hist = Histogram {
            id: "x",
            title: HOSTILE,
            unit: HOSTILE,
            bins: &bins,
            markers: &markers,
            format: one,
        };
        let lanes = [HOSTILE.to_owned()];
        let marks = [Mark {
            title: HOSTILE.to_owned(),
            ..mark(0, MONDAY)
        }];
        let spans = [Span {
            title: HOSTILE.to_owned(),
            ..span(MONDAY, None)
        }];
        let links = [Link {
            from: (0, MONDAY),
            to: (1, MONDAY),
            title: HOSTILE.to_owned(),
        }];
        let tl = Timeline {
            id: "x",
            title: HOSTILE,
            start: MONDAY,
            end: MONDAY + DAY,
            lanes: &lanes,
            marks: &marks,
            spans: &spans,
            links: &links,
            notes: &[],
        };
        let charts = [
            bar_chart(&chart),
            sparkline("x", HOSTILE, &[(HOSTILE.to_owned(), Some(1.0))], one),
            sparkline("x", HOSTILE, &[], one),
            histogram(&hist),
            timeline(&tl),
        ];
        for svg in &charts {
            assert_clean(svg);
            assert!(
                svg.0.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{svg}"
            );
        }
        // Every place a hostile string went in comes out escaped: title, desc, labels, titles.
        assert!(
            charts[0].0.matches("&lt;script&gt;").count() >= 6,
            "{}",
            charts[0]
        );
    }

    #[test]
    fn every_chart_is_an_img_labelled_by_its_title_and_desc() {
        let bars = bars_of(&[Some(1.0)]);
        let bins = [Bin {
            low: 0.0,
            high: 1.0,
            count: 1,
        }];
        let hist = Histogram {
            id: "hist",
            title: "Lead time",
            unit: "hours",
            bins: &bins,
            markers: &[],
            format: one,
        };
        let charts = [
            ("lead", lead_time(&bars, &[])),
            (
                "spark",
                sparkline("spark", "Weekly", &[("w1".to_owned(), Some(1.0))], one),
            ),
            ("hist", histogram(&hist)),
            ("tl", draw_timeline(&[], &[], &[])),
        ];
        for (id, svg) in &charts {
            let s = &svg.0;
            assert!(
                s.contains(r#"role="img""#) && s.contains(r#"viewBox="0 0 "#),
                "{s}"
            );
            assert!(
                s.contains(&format!(r#"aria-labelledby="{id}-title {id}-desc""#)),
                "{s}"
            );
            assert!(s.contains(&format!(r#"<title id="{id}-title">"#)), "{s}");
            assert!(s.contains(&format!(r#"<desc id="{id}-desc">"#)), "{s}");
            let fixed = s.contains(r#"width="120" height="32""#);
            assert_eq!(fixed, *id == "spark", "{s}");
            assert_eq!(s.contains(r#"width="100%""#), *id != "spark", "{s}");
        }
        assert!(charts[0].1.0.contains(
            r#"<desc id="lead-desc">hours; 1 of 1 buckets with data, highest 1.0 hours</desc>"#
        ));
    }

    #[test]
    fn bar_chart_has_one_title_per_bar_with_formatted_value_unit_and_note() {
        let mut bars = bars_of(&[Some(3.0), Some(12.25), None]);
        bars[0].note = "4 deployments".to_owned();
        let svg = lead_time(&bars, &[]);
        assert_clean(&svg);
        assert_eq!(svg.0.matches("<title").count(), 1 + bars.len());
        assert_eq!(
            texts(&svg, "<rect class=\"bar\"")
                .into_iter()
                .collect::<Vec<_>>(),
            [
                "2026-01-01: 3.0 hours, 4 deployments",
                "2026-01-02: 12.2 hours"
            ]
        );
        assert!(svg.0.contains("<title>2026-01-03: no data</title>"));
        let percent = bar_chart(&BarChart {
            id: "cfr",
            title: "Change failure rate",
            unit: "%",
            bars: &bars,
            bands: &[],
            notes: &[],
            target: None,
            format: one,
        });
        assert!(
            percent
                .0
                .contains("<title>2026-01-01: 3.0%, 4 deployments</title>"),
            "{percent}"
        );
    }

    #[test]
    fn bar_heights_are_proportional_to_values() {
        let svg = lead_time(&bars_of(&[Some(2.0), Some(8.0), Some(7.0)]), &[]);
        let rects = tags(&svg, "<rect class=\"bar\"");
        let (small, big) = (attr(rects[0], "height"), attr(rects[1], "height"));
        assert!(
            small > 10.0 && (big / small - 4.0).abs() < 0.01,
            "{small} {big}"
        );
        for rect in &rects {
            assert!(
                (attr(rect, "y") + attr(rect, "height") - BOTTOM).abs() < 0.11,
                "{rect}"
            );
        }
    }

    #[test]
    fn none_bar_draws_no_rect_but_keeps_the_other_slots() {
        let full = lead_time(&bars_of(&[Some(4.0), Some(4.0), Some(4.0)]), &[]);
        let gap = lead_time(&bars_of(&[Some(4.0), None, Some(4.0)]), &[]);
        let xs = |svg: &Svg| {
            tags(svg, "<rect class=\"bar\"")
                .iter()
                .map(|r| attr(r, "x"))
                .collect::<Vec<_>>()
        };
        let (full, gap_xs) = (xs(&full), xs(&gap));
        assert_eq!(gap_xs.len(), 2);
        assert_eq!(gap_xs, [full[0], full[2]]);
        assert_eq!(tags(&gap, "<g class=\"nodata\"").len(), 1);
    }

    #[test]
    fn band_rect_spans_its_low_to_high() {
        // Data up to 8 gives an axis to 10, so 2..6 hours is rows 0.2..0.6 of the plot.
        let svg = lead_time(&bars_of(&[Some(8.0)]), &[band(2.0, 6.0)]);
        let rect = tags(&svg, "<rect class=\"band elite\"")[0];
        let plot = BOTTOM - TOP;
        assert!(
            (attr(rect, "y") - (BOTTOM - 0.6 * plot)).abs() < 0.11,
            "{rect}"
        );
        assert!((attr(rect, "height") - 0.4 * plot).abs() < 0.11, "{rect}");
        assert!(
            svg.0.contains(
                r#"<text class="band-label" x="564" y="133.6" text-anchor="start">elite</text>"#
            ),
            "{svg}"
        );
    }

    #[test]
    fn bands_are_clipped_to_the_plot_and_infinite_ones_reach_the_top() {
        let bands = [
            band(6.0, f64::INFINITY),
            band(-5.0, 1.0),
            band(50.0, 60.0),
            band(f64::NAN, 1.0),
        ];
        let svg = lead_time(&bars_of(&[Some(8.0)]), &bands);
        assert_clean(&svg);
        let rects = tags(&svg, "<rect class=\"band elite\"");
        assert_eq!(
            rects.len(),
            2,
            "the band above the axis and the NaN band are not drawn"
        );
        assert!((attr(rects[0], "y") - TOP).abs() < 0.11);
        assert!((attr(rects[1], "y") + attr(rects[1], "height") - BOTTOM).abs() < 0.11);
    }

    #[test]
    fn y_axis_covers_band_edges_only_up_to_half_again_the_data() {
        let top_tick = |svg: &Svg| {
            texts(svg, "<text class=\"tick\"")
                .iter()
                .filter_map(|t| t.parse::<f64>().ok())
                .fold(0.0, f64::max)
        };
        let bars = bars_of(&[Some(3.0)]);
        assert_eq!(top_tick(&lead_time(&bars, &[])), 5.0);
        assert_eq!(top_tick(&lead_time(&bars, &[band(0.0, 6.0)])), 10.0);
        // Band edges at a day and a week do not flatten bars of 3 hours (the cap is 7.5).
        assert_eq!(
            top_tick(&lead_time(&bars, &[band(0.0, 24.0), band(24.0, 168.0)])),
            5.0
        );
        assert_eq!(
            tags(&lead_time(&bars, &[]), "<line class=\"grid\"").len(),
            6
        );
        // Data to 15.6 (cap 30): the day's edge counts, the week's does not.
        let bars = bars_of(&[Some(15.6)]);
        let dora = [
            band(0.0, 24.0),
            band(24.0, 168.0),
            band(168.0, f64::INFINITY),
        ];
        assert_eq!(top_tick(&lead_time(&bars, &dora)), 25.0);
    }

    #[test]
    fn scale_rounds_up_to_one_two_two_and_a_half_or_five() {
        for (top, max, ticks) in [
            (0.0, 1.0, 6),
            (3.0, 5.0, 6),
            (2.1, 2.5, 6),
            (2.0, 2.0, 5),
            (10.0, 10.0, 6),
            (10.5, 20.0, 5),
            (0.3, 0.5, 6),
            (720.0, 1000.0, 6),
            (f64::NAN, 1.0, 6),
        ] {
            let scale = Scale::covering(top);
            assert!((scale.max - max).abs() < 1e-9 * max, "{top} -> {scale:?}");
            let values: Vec<f64> = scale.ticks().collect();
            assert_eq!(values.len(), ticks, "{top} -> {values:?}");
            assert_eq!(values[0], 0.0);
            assert!((values[ticks - 1] - max).abs() < 1e-9 * max);
        }
        assert_eq!(
            Scale::covering(10.0).ticks().collect::<Vec<_>>(),
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert!(Scale::covering(1e308).ticks().all(f64::is_finite));
    }

    #[test]
    fn x_labels_are_thinned_to_eight_keeping_first_and_last() {
        let values: Vec<Option<f64>> = (0..20).map(|i| Some(f64::from(i))).collect();
        let svg = lead_time(&bars_of(&values), &[]);
        let labels = texts(&svg, "<text class=\"tick\" x=\"");
        let x_labels: Vec<&str> = labels
            .into_iter()
            .filter(|l| l.starts_with("2026"))
            .collect();
        assert_eq!(x_labels.len(), 8);
        assert_eq!((x_labels[0], x_labels[7]), ("2026-01-01", "2026-01-20"));
        assert_eq!(thin(5), [0, 1, 2, 3, 4]);
        for n in 9..200 {
            let picked = thin(n);
            assert_eq!((picked.len(), picked[0], picked[7]), (8, 0, n - 1));
            assert!(picked.windows(2).all(|w| w[0] < w[1]), "{n}: {picked:?}");
        }
    }

    #[test]
    fn empty_bar_chart_draws_axes_and_says_no_data() {
        for bars in [vec![], bars_of(&[None, None]), bars_of(&[Some(f64::NAN)])] {
            let svg = lead_time(&bars, &[band(0.0, 24.0)]);
            assert_clean(&svg);
            assert!(svg.0.contains(">no data in this period</text>"), "{svg}");
            assert_eq!(tags(&svg, "<line class=\"axis-line\"").len(), 2);
            assert!(tags(&svg, "<rect class=\"bar\"").is_empty());
        }
        let some = lead_time(&bars_of(&[Some(1.0)]), &[]);
        assert!(!some.0.contains("no data in this period"));
    }

    #[test]
    fn no_chart_emits_nan_or_infinity_even_for_degenerate_input() {
        let degenerate: [&[Option<f64>]; 6] = [
            &[],
            &[None],
            &[Some(0.0)],
            &[Some(5.0)],
            &[Some(f64::NAN), Some(f64::INFINITY), Some(-3.0)],
            &[Some(1e308), Some(-1e308)],
        ];
        for values in degenerate {
            assert_clean(&lead_time(
                &bars_of(values),
                &[band(f64::NAN, f64::INFINITY), band(0.0, 1.0)],
            ));
            let points: Vec<(String, Option<f64>)> =
                values.iter().map(|v| ("w".to_owned(), *v)).collect();
            assert_clean(&sparkline("s", "Weekly", &points, one));
        }
        for bins in [
            vec![],
            vec![Bin {
                low: 0.0,
                high: 0.0,
                count: 0,
            }],
            vec![
                Bin {
                    low: 1.0,
                    high: f64::INFINITY,
                    count: i64::MAX,
                },
                Bin {
                    low: 2.0,
                    high: 3.0,
                    count: i64::MAX,
                },
            ],
        ] {
            let markers = [
                Marker {
                    label: "p50".to_owned(),
                    value: f64::NAN,
                },
                Marker {
                    label: "p90".to_owned(),
                    value: 1.5,
                },
            ];
            let hist = Histogram {
                id: "h",
                title: "Lead time",
                unit: "hours",
                bins: &bins,
                markers: &markers,
                format: one,
            };
            assert_clean(&histogram(&hist));
        }
        for (start, end) in [
            (MONDAY, MONDAY),
            (MONDAY, MONDAY - DAY),
            (i64::MIN, i64::MAX),
            (0, 1),
        ] {
            let marks = [mark(0, start), mark(5, end)];
            let spans = [span(i64::MIN, Some(i64::MAX)), span(start, None)];
            let links = [Link {
                from: (0, i64::MIN),
                to: (3, i64::MAX),
                title: "l".to_owned(),
            }];
            assert_clean(&timeline(&Timeline {
                id: "t",
                title: "T",
                start,
                end,
                lanes: &[],
                marks: &marks,
                spans: &spans,
                links: &links,
                notes: &[],
            }));
        }
    }

    #[test]
    fn sparkline_breaks_the_line_at_a_missing_week() {
        let points: Vec<(String, Option<f64>)> = [
            Some(1.0),
            Some(2.0),
            None,
            Some(4.0),
            Some(5.0),
            None,
            Some(7.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("w{i}"), *v))
        .collect();
        let svg = sparkline("s", "Weekly deploys", &points, one);
        assert_clean(&svg);
        let lines = tags(&svg, "<polyline class=\"spark\"");
        assert_eq!(lines.len(), 2, "{svg}");
        assert!(
            lines.iter().all(|l| l.matches(',').count() == 2),
            "{lines:?}"
        );
        assert_eq!(tags(&svg, "<circle class=\"spark-dot").len(), 5);
        assert_eq!(
            texts(&svg, "<circle class=\"spark-dot"),
            ["w0: 1.0", "w1: 2.0", "w3: 4.0", "w4: 5.0", "w6: 7.0"]
        );
        assert_eq!(tags(&svg, "<circle class=\"spark-dot last\"").len(), 1);
        assert!(
            svg.0
                .contains(r#"<circle class="spark-dot last" cx="117" cy="3""#),
            "{svg}"
        );
    }

    #[test]
    fn sparkline_of_equal_values_is_a_flat_line_and_one_value_a_dot() {
        let flat = sparkline(
            "s",
            "W",
            &[
                ("a".to_owned(), Some(5.0)),
                ("b".to_owned(), Some(5.0)),
                ("c".to_owned(), Some(5.0)),
            ],
            one,
        );
        assert_clean(&flat);
        assert!(
            flat.0
                .contains(r#"<polyline class="spark" points="3,16 60,16 117,16"/>"#),
            "{flat}"
        );
        let single = sparkline("s", "W", &[("a".to_owned(), Some(5.0))], one);
        assert_clean(&single);
        assert!(tags(&single, "<polyline").is_empty());
        assert!(single.0.contains(r#"cx="60" cy="16""#), "{single}");
    }

    #[test]
    fn sparkline_without_values_is_only_a_no_data_title() {
        for points in [
            vec![],
            vec![("w1".to_owned(), None), ("w2".to_owned(), Some(f64::NAN))],
        ] {
            let svg = sparkline("s", "Weekly deploys", &points, one);
            assert_clean(&svg);
            assert!(svg.0.ends_with(r#"aria-labelledby="s-title"><title id="s-title">Weekly deploys: no data</title></svg>"#), "{svg}");
        }
    }

    fn log_bins() -> Vec<Bin> {
        [
            (1.0, 10.0, 3),
            (10.0, 100.0, 7),
            (100.0, 1000.0, 0),
            (1000.0, f64::INFINITY, 1),
        ]
        .into_iter()
        .map(|(low, high, count)| Bin { low, high, count })
        .collect()
    }

    #[test]
    fn histogram_columns_are_equal_width_in_order_labelled_at_low_edges() {
        let bins = log_bins();
        let svg = histogram(&Histogram {
            id: "h",
            title: "Lead time",
            unit: "hours",
            bins: &bins,
            markers: &[],
            format: one,
        });
        assert_clean(&svg);
        let rects = tags(&svg, "<rect class=\"bin\"");
        let xs: Vec<f64> = rects.iter().map(|r| attr(r, "x")).collect();
        let widths: Vec<f64> = rects.iter().map(|r| attr(r, "width")).collect();
        assert!(
            widths.iter().all(|w| (w - widths[0]).abs() < 0.11),
            "{widths:?}"
        );
        assert!((xs[3] - xs[2] - (xs[1] - xs[0])).abs() < 0.11, "{xs:?}");
        assert_eq!(
            texts(&svg, "<rect class=\"bin\""),
            [
                "1.0–10.0 hours: 3",
                "10.0–100.0 hours: 7",
                "100.0–1000.0 hours: 0",
                "1000.0 hours or more: 1"
            ]
        );
        let edges: Vec<&str> = texts(&svg, "<text class=\"tick\"")
            .into_iter()
            .filter(|t| t.contains('.'))
            .collect();
        assert_eq!(edges, ["1.0", "10.0", "100.0", "1000.0"]);
        // Count ticks are whole numbers: the axis reaches 10 in steps of 2.
        assert!(
            svg.0.contains(">10</text>") && svg.0.contains(">2</text>"),
            "{svg}"
        );
    }

    #[test]
    fn histogram_marker_lies_within_its_bins_column() {
        let bins = log_bins();
        let markers = [
            Marker {
                label: "p50 32.5 h".to_owned(),
                value: 32.5,
            },
            Marker {
                label: "p90 5000 h".to_owned(),
                value: 5000.0,
            },
            Marker {
                label: "p10 0.5 h".to_owned(),
                value: 0.5,
            },
        ];
        let svg = histogram(&Histogram {
            id: "h",
            title: "Lead time",
            unit: "hours",
            bins: &bins,
            markers: &markers,
            format: one,
        });
        assert_clean(&svg);
        let rects = tags(&svg, "<rect class=\"bin\"");
        let lines = tags(&svg, "<g class=\"marker\"><title>");
        assert_eq!(lines.len(), 3);
        let xs: Vec<f64> = svg
            .0
            .match_indices("<line x1=\"")
            .map(|(i, _)| attr(&svg.0[i..], "x1"))
            .collect();
        // Columns are drawn 1 unit inside their slot on each side.
        let left = attr(rects[1], "x") - 1.0;
        let right = left + attr(rects[1], "width") + 2.0;
        assert!(
            left < xs[0] && xs[0] < right,
            "{xs:?} not in {left}..{right}"
        );
        // Linear within the bin: 32.5 is a quarter of the way from 10 to 100.
        assert!(
            (xs[0] - (left + (right - left) / 4.0)).abs() < 0.2,
            "{xs:?}"
        );
        let last = attr(rects[3], "x");
        assert!(
            xs[1] > last && xs[1] < RIGHT,
            "a value in the open last bin is inside its column"
        );
        assert!(
            (xs[2] - LEFT).abs() < 0.11,
            "below the first bin is at the left edge"
        );
        assert!(svg.0.contains(">p50 32.5 h</text>") && svg.0.contains("; p50 32.5 h; p90 5000 h"));
    }

    #[test]
    fn empty_histogram_says_no_data() {
        for bins in [
            vec![],
            vec![Bin {
                low: 0.0,
                high: 1.0,
                count: 0,
            }],
        ] {
            let svg = histogram(&Histogram {
                id: "h",
                title: "Lead time",
                unit: "hours",
                bins: &bins,
                markers: &[],
                format: one,
            });
            assert_clean(&svg);
            assert!(svg.0.contains(">no data in this period</text>"), "{svg}");
        }
    }

    #[test]
    fn timeline_marks_follow_time_and_each_has_a_title_with_its_time() {
        let marks = [
            mark(0, MONDAY + 5 * DAY),
            mark(0, MONDAY + DAY),
            mark(0, MONDAY + 8 * DAY + 60),
            mark(0, MONDAY + 11 * DAY),
        ];
        let svg = draw_timeline(&marks, &[], &[]);
        assert_clean(&svg);
        let xs: Vec<f64> = tags(&svg, "<circle class=\"mark ok\"")
            .iter()
            .map(|c| attr(c, "cx"))
            .collect();
        assert_eq!(xs.len(), 3, "the mark after the end is left out");
        assert!(xs[1] < xs[0] && xs[0] < xs[2], "{xs:?}");
        assert!((xs[0] - (104.0 + 0.5 * 580.0)).abs() < 0.11, "{xs:?}");
        assert_eq!(svg.0.matches("<title").count(), 1 + 3);
        assert!(svg.0.contains(&format!(
            "<title>deploy at {} (2026-01-06 00:00 UTC)</title>",
            MONDAY + DAY
        )));
        assert!(svg.0.contains(&format!(
            "<title>deploy at {} (2026-01-13 00:01 UTC)</title>",
            MONDAY + 8 * DAY + 60
        )));
    }

    #[test]
    fn timeline_span_width_follows_duration_and_open_spans_run_to_the_end() {
        let spans = [
            span(MONDAY, Some(MONDAY + DAY)),
            span(MONDAY + 2 * DAY, Some(MONDAY + 5 * DAY)),
            span(MONDAY + 9 * DAY, None),
        ];
        let links = [Link {
            from: (0, MONDAY),
            to: (1, MONDAY + 2 * DAY),
            title: "rolled back".to_owned(),
        }];
        let svg = draw_timeline(&[], &spans, &links);
        assert_clean(&svg);
        let closed = tags(&svg, "<rect class=\"span failed\"");
        let widths: Vec<f64> = closed.iter().map(|r| attr(r, "width")).collect();
        assert_eq!(widths.len(), 2);
        assert!((widths[1] / widths[0] - 3.0).abs() < 0.01, "{widths:?}");
        let open = tags(&svg, "<rect class=\"span failed open\"");
        assert_eq!(open.len(), 1);
        assert!(
            (attr(open[0], "x") + attr(open[0], "width") - 684.0).abs() < 0.11,
            "{open:?}"
        );
        assert!(
            svg.0
                .contains("<title>incident (since 2026-01-14 00:00 UTC, still open)</title>"),
            "{svg}"
        );
        assert!(
            svg.0
                .contains("<title>incident (2026-01-05 00:00 – 2026-01-06 00:00 UTC)</title>"),
            "{svg}"
        );
        assert_eq!(texts(&svg, "<line class=\"link\""), ["rolled back"]);
        assert_eq!(svg.0.matches("<title").count(), 1 + 3 + 1);
        assert_eq!(
            texts(&svg, "<text class=\"lane-label\""),
            ["deployments", "incidents"]
        );
    }

    #[test]
    fn timeline_links_escape_hrefs_and_refuse_other_sites() {
        let linked = |href: &str| Mark {
            href: Some(href.to_owned()),
            ..mark(0, MONDAY + DAY)
        };
        let marks = [
            linked(r#"/deployments?service=a&env=prod"><script>"#),
            linked("javascript:alert(1)"),
            linked("//evil.example/x"),
        ];
        let spans = [Span {
            href: Some("?incident=7&x='1'".to_owned()),
            ..span(MONDAY, Some(MONDAY + DAY))
        }];
        let svg = draw_timeline(&marks, &spans, &[]);
        assert_clean(&svg);
        assert_eq!(svg.0.matches("<a href=").count(), 2, "{svg}");
        assert!(
            svg.0.contains(
                r#"<a href="/deployments?service=a&amp;env=prod&quot;&gt;&lt;script&gt;"><circle"#
            ),
            "{svg}"
        );
        assert!(
            svg.0
                .contains(r#"<a href="?incident=7&amp;x=&#39;1&#39;"><rect"#),
            "{svg}"
        );
        assert!(!svg.0.contains("javascript") && !svg.0.contains("evil"));
        assert_eq!(
            tags(&svg, "<circle class=\"mark ok\"").len(),
            3,
            "unlinked marks are still drawn"
        );
    }

    #[test]
    fn timeline_ticks_are_utc_dates_at_most_eight() {
        let svg = timeline(&Timeline {
            id: "t",
            title: "T",
            start: MONDAY - 3_600,
            end: MONDAY + 28 * DAY,
            lanes: &[],
            marks: &[mark(0, MONDAY)],
            spans: &[],
            links: &[],
            notes: &[],
        });
        assert_eq!(
            texts(&svg, "<text class=\"tick\""),
            [
                "2026-01-05",
                "2026-01-12",
                "2026-01-19",
                "2026-01-26",
                "2026-02-02"
            ]
        );
        let hours = timeline(&Timeline {
            id: "t",
            title: "T",
            start: MONDAY + 1,
            end: MONDAY + 5 * 3_600,
            lanes: &[],
            marks: &[],
            spans: &[],
            links: &[],
            notes: &[],
        });
        assert_eq!(
            texts(&hours, "<text class=\"tick\""),
            [
                "01-05 01:00",
                "01-05 02:00",
                "01-05 03:00",
                "01-05 04:00",
                "01-05 05:00"
            ]
        );
        for range in [
            1,
            59,
            3_600,
            7 * 3_600,
            DAY,
            3 * DAY,
            13 * DAY,
            90 * DAY,
            400 * DAY,
            30 * 365 * DAY,
        ] {
            let (step, ticks) = date_ticks(MONDAY + 17, MONDAY + 17 + range);
            assert!(
                ticks.len() <= 8 && (range < step || !ticks.is_empty()),
                "{range}: {ticks:?}"
            );
            assert!(
                ticks
                    .iter()
                    .all(|t| (MONDAY + 17..=MONDAY + 17 + range).contains(t))
            );
            assert!(
                ticks.iter().all(|t| t % step.min(DAY) == 0),
                "aligned to hours or midnights"
            );
        }
    }

    #[test]
    fn coordinates_round_to_a_tenth_and_are_never_nan_infinite_or_negative_zero() {
        let cases = [(12.345, "12.3"), (-0.04, "0"), (7.0, "7"), (f64::NAN, "0")];
        for (v, text) in cases
            .into_iter()
            .chain([(f64::INFINITY, "0"), (1e308, "0")])
        {
            assert_eq!(num(v), text, "{v}");
        }
    }

    #[test]
    fn a_moment_long_span_is_still_visible() {
        let svg = draw_timeline(&[], &[span(MONDAY, Some(MONDAY + 60))], &[]);
        let rect = tags(&svg, "<rect class=\"span failed\"")[0];
        assert_eq!(attr(rect, "width"), 1.5, "{rect}");
    }

    #[test]
    fn civil_from_days_matches_known_dates_and_never_skips_a_day() {
        for (secs, date) in [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (951_782_400, "2000-02-29"),
            (1_709_164_800, "2024-02-29"),
            (MONDAY, "2026-01-05"),
            (4_102_444_800, "2100-01-01"),
        ] {
            assert_eq!(utc_date(secs), date);
        }
        assert_eq!(
            utc_minute(MONDAY + 13 * 3_600 + 5 * 60 + 59),
            "2026-01-05 13:05"
        );
        let mut previous = civil_from_days(-800_000);
        for days in -799_999..800_000 {
            let (y, m, d) = civil_from_days(days);
            let next_day = (y, m, d) == (previous.0, previous.1, previous.2 + 1);
            let next_month = d == 1
                && ((y, m) == (previous.0, previous.1 + 1)
                    || (y, m, previous.1) == (previous.0 + 1, 1, 12));
            assert!(
                next_day || next_month,
                "{days}: {previous:?} -> {:?}",
                (y, m, d)
            );
            assert!(
                d <= 31
                    && (d <= 28
                        || m != 2
                        || (d == 29 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
            );
            previous = (y, m, d);
        }
    }

    #[test]
    fn a_note_is_drawn_where_its_time_falls_and_titled_with_its_text() {
        let bars = bars_of(&[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        let notes = [
            Note {
                at: 1.5,
                title: "2026-01-02: moved to trunk-based development".to_owned(),
            },
            Note {
                at: 9.0,
                title: "after the chart".to_owned(),
            },
        ];
        let svg = bar_chart(&BarChart {
            id: "lead",
            title: "Lead time",
            unit: "hours",
            bars: &bars,
            bands: &[],
            notes: &notes,
            target: None,
            format: one,
        });
        assert_clean(&svg);
        let lines = tags(&svg, "<line class=\"annotation-line\"");
        assert_eq!(lines.len(), 1, "the note after the last bar is left out");
        let x = attr(lines[0], "x1");
        assert!(
            (x - (LEFT + 1.5 / 4.0 * (RIGHT - LEFT))).abs() < 0.11,
            "{x}"
        );
        assert!(
            svg.0
                .contains("<title>2026-01-02: moved to trunk-based development</title>")
        );

        let tl = timeline(&Timeline {
            id: "tl",
            title: "t",
            start: MONDAY,
            end: MONDAY + 10 * DAY,
            lanes: &[],
            marks: &[],
            spans: &[],
            links: &[],
            notes: &[Note {
                at: (MONDAY + 5 * DAY) as f64,
                title: "new on-call rota".to_owned(),
            }],
        });
        assert_clean(&tl);
        let lines = tags(&tl, "<line class=\"annotation-line\"");
        assert_eq!(lines.len(), 1);
        assert!((attr(lines[0], "x1") - (104.0 + 0.5 * 580.0)).abs() < 0.11);
    }

    #[test]
    fn a_goal_is_a_line_at_its_value_and_the_axis_reaches_it() {
        let bars = bars_of(&[Some(1.0), Some(2.0)]);
        let target = Target {
            value: 8.0,
            label: "goal 8 h".to_owned(),
        };
        let svg = bar_chart(&BarChart {
            id: "lead",
            title: "Lead time",
            unit: "hours",
            bars: &bars,
            bands: &[],
            notes: &[],
            target: Some(&target),
            format: one,
        });
        assert_clean(&svg);
        let line = tags(&svg, "<line class=\"target-line\"");
        assert_eq!(line.len(), 1);
        let (y, top, bottom) = (attr(line[0], "y1"), TOP, BOTTOM);
        // The axis covers 10 (the nice scale over 8): the line sits at 8/10 of the height.
        assert!((y - (bottom - 0.8 * (bottom - top))).abs() < 0.11, "{y}");
        assert!(svg.0.contains("<title>goal 8 h</title>"));
        assert!(texts(&svg, "<text class=\"target-label\"").contains(&"goal 8 h"));
    }
}
