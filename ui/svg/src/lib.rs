//! Cambium's server-side SVG: everything the web UI draws, as pure functions from plain data
//! to SVG text, with no IO and no front-end build step.
//!
//! This crate owns:
//! - [`layout()`]: a deterministic, layered (Sugiyama-style) left-to-right layout of a DAG.
//! - [`graph_svg()`]: a DAG's task graph coloured by task state, or a model version's lineage
//!   graph (data → components → model → deployment), with links and hover titles.
//! - [`line_chart_svg`] and [`duration_chart_svg`]: metrics across model versions and task
//!   durations over runs, drawn with plotters' SVG backend; [`no_data_svg`] for empty input.
//! - [`escape`]: escaping of user data (DAG ids, task ids, model names, hrefs). Every string
//!   that reaches the SVG text goes through it (or through plotters' own escaping).
//!
//! It knows nothing of the scheduler's types: callers pass state names as strings
//! (`TaskState::as_str()` fits), so the crate stays a leaf of the workspace.

pub mod chart;
pub mod escape;
pub mod graph;
pub mod graph_svg;
pub mod layout;

pub use chart::{
    duration_chart_svg, line_chart_svg, no_data_svg, shorten_dates, DurationChart, LineChart,
    Series, TaskDurations,
};
pub use escape::{class_token, escape_xml, id_token, safe_href, xml_clean};
pub use graph::{Edge, Graph, GraphProblem, Node};
pub use graph_svg::{graph_svg, GraphStyle, BOX_FILL, BOX_STROKE, EDGE_STROKE, LABEL_FILL};
pub use layout::{layout, EdgeRoute, Layout, LayoutOptions, NodeBox};

/// What can go wrong when drawing. Every variant is a fault in the input (or, for
/// [`SvgError::Chart`], a bug): none is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum SvgError {
    /// The graph's structure is wrong; every problem found is listed.
    #[error("invalid graph: {}", list(.0))]
    InvalidGraph(Vec<GraphProblem>),
    /// The graph has a cycle through this node, so it has no layered layout.
    #[error("the graph has a cycle through node {node:?}")]
    Cycle {
        /// One node on the cycle.
        node: String,
    },
    /// plotters failed to draw a chart.
    #[error("drawing the chart failed: {0}")]
    Chart(String),
}

fn list(problems: &[GraphProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// This crate's result type.
pub type Result<T, E = SvgError> = std::result::Result<T, E>;
