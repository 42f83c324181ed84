//! How long drawing takes, run on demand (`cargo bench -p cambium-svg`), not a pass/fail
//! test: the graph of a 500-task tree, and a duration chart of 100 runs × 50 tasks (the
//! largest the runs page draws). Prints the median of 20 after 3 warm-ups.

use cambium_svg::TaskDurations;
use cambium_svg::{duration_chart_svg, graph_svg, DurationChart, Graph, GraphStyle, Node};
use std::time::{Duration, Instant};

/// The median time of `f` over 20 runs after 3 warm-ups, and the size of what it made.
fn median(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut samples = Vec::new();
    let mut bytes = 0;
    for i in 0..23 {
        let start = Instant::now();
        bytes = f();
        if i >= 3 {
            samples.push(start.elapsed());
        }
    }
    samples.sort();
    (samples[samples.len() / 2], bytes)
}

fn main() {
    let mut tree = Graph::new();
    for i in 0..500 {
        tree = tree.with_node(Node::new(format!("task_{i}")).state("success"));
    }
    for i in 1..500 {
        tree = tree.with_edge(format!("task_{}", i / 2), format!("task_{i}"));
    }
    let style = GraphStyle::default();
    let (graph_time, graph_bytes) = median(|| match graph_svg(&tree, &style) {
        Ok(svg) => svg.len(),
        Err(e) => panic!("graph_svg: {e}"),
    });

    let chart = DurationChart {
        runs: (0..100)
            .map(|i| format!("2024-{:02}-{:02}T00:00:00+00:00", 1 + i / 28, 1 + i % 28))
            .collect(),
        tasks: (0..50)
            .map(|t| TaskDurations {
                task_id: format!("task_{t}"),
                seconds: (0..100)
                    .map(|r| Some(10.0 + f64::from((t * 31 + r * 17) % 50)))
                    .collect(),
            })
            .collect(),
        width: 900,
        height: 360,
    };
    let (chart_time, chart_bytes) = median(|| match duration_chart_svg(&chart) {
        Ok(svg) => svg.len(),
        Err(e) => panic!("duration_chart_svg: {e}"),
    });

    println!("| drawing | median | SVG |");
    println!("|---|---|---|");
    println!(
        "| graph of a 500-task tree | {:.1} ms | {} kB |",
        graph_time.as_secs_f64() * 1000.0,
        graph_bytes / 1024
    );
    println!(
        "| duration chart, 100 runs × 50 tasks | {:.1} ms | {} kB |",
        chart_time.as_secs_f64() * 1000.0,
        chart_bytes / 1024
    );
}
