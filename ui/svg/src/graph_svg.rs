//! Drawing a laid-out [`Graph`] as SVG: rounded boxes coloured by CSS class, Bézier edges with
//! arrowheads, links and hover titles. Used for a DAG's task graph (with the task states of a
//! run) and for a model version's lineage (data → components → model → deployment).
//!
//! Markup, for pages and browser tests to rely on:
//! ```text
//! <svg class="cambium-graph" viewBox="0 0 W H" ...>
//!   <defs><marker id="{prefix}arrow" …/></defs>
//!   <g class="edges"><path class="edge" data-from="ID" data-to="ID" d="…"/>…</g>
//!   <g class="nodes">
//!     <a href="…"><g id="{prefix}node-{id_token(ID)}" class="node kind-K state-S" data-id="ID">
//!       <title>full label + tooltip</title><rect … fill stroke/><text … fill>label…</text>
//!     </g></a>
//!   </g>
//! </svg>
//! ```
//!
//! The SVG carries no `<style>` element and no `style` attributes: a page with a Content
//! Security Policy of `style-src 'self'` (Cambium's own) blocks both, and an SVG that
//! relies on them draws black boxes with black labels. Every shape has neutral presentation
//! attributes instead (white boxes, grey lines, dark labels), readable anywhere; a page
//! colours states and kinds from its own stylesheet through the classes (`.cambium-graph
//! .state-success rect { fill: … }`), which win over presentation attributes.

use std::fmt::Write as _;

use crate::escape::{class_token, id_token, push_escaped, safe_href};
use crate::graph::Graph;
use crate::layout::{layout, LayoutOptions};
use crate::Result;

/// How a graph is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphStyle {
    /// Box sizes, gaps and layout effort.
    pub layout: LayoutOptions,
    /// Label font size in pixels.
    pub font_size: f64,
    /// Labels longer than this many characters are cut and end in `…`.
    pub max_label_chars: usize,
    /// Corner radius of the boxes.
    pub corner_radius: f64,
    /// Prefix for every `id` in the SVG, so two graphs on one page don't clash.
    pub id_prefix: String,
    /// Accessible name of the whole drawing (`aria-label`).
    pub title: Option<String>,
}

impl Default for GraphStyle {
    fn default() -> Self {
        GraphStyle {
            layout: LayoutOptions::default(),
            font_size: 12.0,
            max_label_chars: 22,
            corner_radius: 6.0,
            id_prefix: String::new(),
            title: None,
        }
    }
}

/// The neutral colours every shape carries as presentation attributes: box fill and
/// outline, label, edge. A stylesheet overrides them per state and kind.
pub const BOX_FILL: &str = "#ffffff";
/// See [`BOX_FILL`].
pub const BOX_STROKE: &str = "#5f6368";
/// See [`BOX_FILL`].
pub const LABEL_FILL: &str = "#202124";
/// See [`BOX_FILL`].
pub const EDGE_STROKE: &str = "#9aa0a6";

/// Lays out and draws `graph`. Errors as [`layout`] does (duplicate ids, unknown edge ends,
/// cycles). Every id, label, title and href is escaped; hrefs with a scheme other than
/// http(s)/mailto are dropped (the node is drawn without a link).
///
/// ```
/// use cambium_svg::{graph_svg, Graph, GraphStyle, Node};
/// let g = Graph::new()
///     .with_node(Node::new("extract").state("success").href("/dags/d/runs/r/tasks/extract"))
///     .with_node(Node::new("train").state("running"))
///     .with_edge("extract", "train");
/// let svg = graph_svg(&g, &GraphStyle::default()).unwrap();
/// assert!(svg.contains(r#"data-id="train""#));
/// ```
pub fn graph_svg(graph: &Graph, style: &GraphStyle) -> Result<String> {
    let lay = layout(graph, &style.layout)?;
    let prefix = id_token(&style.id_prefix);
    let mut out = String::with_capacity(1024 + graph.nodes.len() * 400 + lay.edges.len() * 160);

    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="cambium-graph" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" font-family="sans-serif" font-size="{fs}" role="img""#,
        w = lay.width.ceil(),
        h = lay.height.ceil(),
        fs = style.font_size,
    );
    if let Some(title) = &style.title {
        out.push_str(r#" aria-label=""#);
        push_escaped(&mut out, title);
        out.push('"');
    }
    out.push_str(">\n");
    let _ = writeln!(
        out,
        r#"<defs><marker id="{prefix}arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path class="arrow" d="M0,0L10,5L0,10z" fill="{EDGE_STROKE}"/></marker></defs>"#
    );

    out.push_str("<g class=\"edges\">\n");
    for edge in &lay.edges {
        out.push_str(r#"<path class="edge" data-from=""#);
        push_escaped(&mut out, &graph.nodes[edge.from].id);
        out.push_str(r#"" data-to=""#);
        push_escaped(&mut out, &graph.nodes[edge.to].id);
        let _ = writeln!(
            out,
            r#"" d="{}" fill="none" stroke="{EDGE_STROKE}" stroke-width="1.5" marker-end="url(#{prefix}arrow)"/>"#,
            edge.path_data()
        );
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");

    let r = style.corner_radius;
    for (node, b) in graph.nodes.iter().zip(&lay.nodes) {
        let href = node.href.as_deref().and_then(safe_href);
        if let Some(href) = href {
            out.push_str("<a href=\"");
            push_escaped(&mut out, href);
            out.push_str("\" xlink:href=\"");
            push_escaped(&mut out, href);
            out.push_str("\">");
        }
        let _ = write!(
            out,
            r#"<g id="{prefix}node-{}" class="node kind-{}"#,
            id_token(&node.id),
            class_token(&node.kind)
        );
        if let Some(state) = &node.state {
            out.push_str(" state-");
            out.push_str(&class_token(state));
        }
        out.push_str("\" data-id=\"");
        push_escaped(&mut out, &node.id);
        let _ = write!(
            out,
            r#"" transform="translate({:.1},{:.1})"><title>"#,
            b.x, b.y
        );
        push_escaped(&mut out, &node.label);
        if let Some(tip) = &node.tooltip {
            out.push('\n');
            push_escaped(&mut out, tip);
        }
        let _ = write!(
            out,
            r#"</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{r}" ry="{r}" fill="{BOX_FILL}" stroke="{BOX_STROKE}" stroke-width="1"/><text text-anchor="middle" dy="0.35em" fill="{LABEL_FILL}">"#,
            -b.width / 2.0,
            -b.height / 2.0,
            b.width,
            b.height
        );
        push_escaped(&mut out, &truncate(&node.label, style.max_label_chars));
        out.push_str("</text></g>");
        if href.is_some() {
            out.push_str("</a>");
        }
        out.push('\n');
    }
    out.push_str("</g>\n</svg>\n");
    Ok(out)
}

/// `label` cut to at most `max` characters, the last one `…` when cut.
pub(crate) fn truncate(label: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if label.chars().count() <= max {
        return label.into();
    }
    let mut cut: String = label.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Node;
    use crate::SvgError;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"))
    }

    fn task_graph() -> Graph {
        Graph::new()
            .with_node(
                Node::new("extract")
                    .state("success")
                    .href("/dags/d/runs/r/tasks/extract"),
            )
            .with_node(Node::new("validate").state("up_for_retry"))
            .with_node(Node::new("train").state("running").tooltip("try 2"))
            .with_node(Node::new("evaluate").state("none"))
            .with_node(Node::new("deploy").state("upstream_failed"))
            .with_edge("extract", "validate")
            .with_edge("validate", "train")
            .with_edge("extract", "train")
            .with_edge("train", "evaluate")
            .with_edge("evaluate", "deploy")
    }

    #[test]
    fn parses_as_xml_with_expected_structure() {
        let svg = graph_svg(&task_graph(), &GraphStyle::default()).unwrap();
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let view_box = root.attribute("viewBox").unwrap();
        assert!(view_box.starts_with("0 0 "), "{view_box}");
        let nodes: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-id").is_some() && n.tag_name().name() == "g")
            .collect();
        assert_eq!(nodes.len(), 5);
        let train = nodes
            .iter()
            .find(|n| n.attribute("data-id") == Some("train"))
            .unwrap();
        assert_eq!(train.attribute("id"), Some("node-train"));
        assert_eq!(
            train.attribute("class"),
            Some("node kind-task state-running")
        );
        let title = train
            .children()
            .find(|c| c.tag_name().name() == "title")
            .unwrap();
        assert_eq!(title.text(), Some("train\ntry 2"));
        let edges = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("edge"))
            .count();
        assert_eq!(edges, 5);
        // The linked node sits inside an <a>.
        let extract = nodes
            .iter()
            .find(|n| n.attribute("data-id") == Some("extract"))
            .unwrap();
        let parent = extract.parent_element().unwrap();
        assert_eq!(parent.tag_name().name(), "a");
        assert_eq!(
            parent.attribute("href"),
            Some("/dags/d/runs/r/tasks/extract")
        );
        for state in ["success", "up_for_retry", "upstream_failed", "none"] {
            assert!(svg.contains(&format!("state-{state}")), "{state}");
        }
    }

    #[test]
    fn user_data_is_escaped_everywhere() {
        let evil = "<script>&\"'";
        let g = Graph::new()
            .with_node(
                Node::new(evil)
                    .kind(evil)
                    .state(evil)
                    .href(format!("/x?{evil}"))
                    .tooltip(evil),
            )
            .with_node(Node::new("b").label(evil))
            .with_edge(evil, "b");
        let style = GraphStyle {
            id_prefix: evil.into(),
            title: Some(evil.into()),
            ..GraphStyle::default()
        };
        let svg = graph_svg(&g, &style).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;&amp;&quot;&apos;"), "{svg}");
        let doc = parse(&svg);
        let node = doc
            .descendants()
            .find(|n| n.tag_name().name() == "g" && n.attribute("data-id") == Some(evil))
            .unwrap();
        assert_eq!(
            node.attribute("id"),
            Some(format!("{}node-{}", id_token(evil), id_token(evil)).as_str())
        );
        let a = node.parent_element().unwrap();
        assert_eq!(a.attribute("href"), Some(format!("/x?{evil}").as_str()));
        assert_eq!(doc.root_element().attribute("aria-label"), Some(evil));
        let edge = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("edge"))
            .unwrap();
        assert_eq!(edge.attribute("data-from"), Some(evil));
        let texts: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&evil));
    }

    #[test]
    fn script_hrefs_are_not_linked() {
        let g = Graph::new().with_node(Node::new("a").href("javascript:alert(1)"));
        let svg = graph_svg(&g, &GraphStyle::default()).unwrap();
        assert!(!svg.contains("<a "), "{svg}");
        assert!(!svg.contains("javascript"), "{svg}");
    }

    #[test]
    fn long_labels_are_truncated_with_full_title() {
        let long = "a_really_long_task_identifier_that_never_ends";
        let g = Graph::new().with_node(Node::new(long));
        let svg = graph_svg(&g, &GraphStyle::default()).unwrap();
        let doc = parse(&svg);
        let text = doc
            .descendants()
            .find(|n| n.tag_name().name() == "text")
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(text.chars().count(), 22);
        assert!(text.ends_with('…'));
        let title = doc
            .descendants()
            .find(|n| n.tag_name().name() == "title")
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(title, long);
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo!", 5), "héll…");
    }

    #[test]
    fn lineage_kinds_and_no_state() {
        let g = Graph::new()
            .with_node(Node::new("s3://data/train.parquet").kind("artifact"))
            .with_node(Node::new("run_1/train").kind("execution"))
            .with_node(Node::new("churn:3").kind("model").href("/models/churn"))
            .with_node(Node::new("churn@production").kind("deployment"))
            .with_edge("s3://data/train.parquet", "run_1/train")
            .with_edge("run_1/train", "churn:3")
            .with_edge("churn:3", "churn@production");
        let svg = graph_svg(&g, &GraphStyle::default()).unwrap();
        parse(&svg);
        for kind in ["artifact", "execution", "model", "deployment"] {
            assert!(
                svg.contains(&format!("class=\"node kind-{kind}\"")),
                "{kind}"
            );
        }
        assert!(svg.contains(r#"id="node-s3_3a_2f_2fdata_2ftrain_2eparquet""#));
    }

    #[test]
    fn empty_graph_is_a_valid_svg_and_errors_pass_through() {
        parse(&graph_svg(&Graph::new(), &GraphStyle::default()).unwrap());
        let cyclic = Graph::new()
            .with_node(Node::new("a"))
            .with_node(Node::new("b"))
            .with_edge("a", "b")
            .with_edge("b", "a");
        assert!(matches!(
            graph_svg(&cyclic, &GraphStyle::default()),
            Err(SvgError::Cycle { .. })
        ));
    }

    /// A page's CSP (`style-src 'self'`) blocks `<style>` elements and `style` attributes in
    /// inline SVG; without their own colours, boxes and labels would both be black.
    #[test]
    fn every_shape_has_its_own_colours_and_no_inline_css() {
        let svg = graph_svg(&task_graph(), &GraphStyle::default()).unwrap();
        assert!(!svg.contains("<style"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
        let doc = parse(&svg);
        let mut seen = 0;
        for n in doc.descendants() {
            match n.tag_name().name() {
                "rect" => {
                    assert_eq!(n.attribute("fill"), Some(BOX_FILL));
                    assert_eq!(n.attribute("stroke"), Some(BOX_STROKE));
                    seen += 1;
                }
                "text" => assert_eq!(n.attribute("fill"), Some(LABEL_FILL)),
                "path" if n.attribute("class") == Some("edge") => {
                    assert_eq!(n.attribute("fill"), Some("none"));
                    assert_eq!(n.attribute("stroke"), Some(EDGE_STROKE));
                }
                "path" => assert_eq!(n.attribute("fill"), Some(EDGE_STROKE)),
                _ => {}
            }
        }
        assert_eq!(seen, 5);
        assert_ne!(BOX_FILL, LABEL_FILL);
    }
}
