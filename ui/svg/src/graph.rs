//! The input of the graph renderer: nodes with an id, a label, a kind and an optional state,
//! link and tooltip, and directed edges between node ids.

use std::collections::HashMap;
use std::fmt;

use crate::{Result, SvgError};

/// One node of a [`Graph`]. All strings are user data; the renderer escapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Unique within the graph (a task id, an artifact URI, `model:version`, …).
    pub id: String,
    /// The text shown in the box; long labels are truncated with an ellipsis.
    pub label: String,
    /// What the node is; becomes the class `kind-<kind>`. The default palette knows `task`,
    /// `artifact`, `execution`, `model` and `deployment`.
    pub kind: String,
    /// A state name (`success`, `failed`, `running`, `queued`, `up_for_retry`,
    /// `upstream_failed`, `skipped`, `scheduled`, `none`); becomes the class `state-<state>`.
    /// `None` gives no state class, so the kind's colour shows (lineage graphs).
    pub state: Option<String>,
    /// Where a click on the node goes. Only relative and http(s)/mailto URLs are linked.
    pub href: Option<String>,
    /// Extra lines for the hover text, after the full label.
    pub tooltip: Option<String>,
}

impl Node {
    /// A `task` node whose label is its id.
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        Node {
            label: id.clone(),
            id,
            kind: "task".to_owned(),
            state: None,
            href: None,
            tooltip: None,
        }
    }

    /// Sets the label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the kind (`task`, `artifact`, `execution`, `model`, `deployment`, …).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// Sets the state (`success`, `failed`, …; `TaskState::as_str()` fits).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the link.
    pub fn href(mut self, href: impl Into<String>) -> Self {
        self.href = Some(href.into());
        self
    }

    /// Sets the tooltip.
    pub fn tooltip(mut self, tooltip: impl Into<String>) -> Self {
        self.tooltip = Some(tooltip.into());
        self
    }
}

/// A directed edge between two node ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The upstream node's id.
    pub from: String,
    /// The downstream node's id.
    pub to: String,
}

/// A directed graph to lay out and draw. Node order is kept as the first guess of the
/// vertical order, so pass nodes in a meaningful order (e.g. as defined in the DAG file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// The nodes, ids unique.
    pub nodes: Vec<Node>,
    /// The edges; duplicates are drawn once.
    pub edges: Vec<Edge>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node.
    pub fn with_node(mut self, node: Node) -> Self {
        self.nodes.push(node);
        self
    }

    /// Adds an edge `from -> to`.
    pub fn with_edge(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.edges.push(Edge {
            from: from.into(),
            to: to.into(),
        });
        self
    }

    /// The edges as pairs of node indexes, duplicates removed, in first-seen order; or every
    /// duplicate node id and dangling edge end at once.
    pub(crate) fn edge_indexes(&self) -> Result<Vec<(usize, usize)>> {
        let mut problems = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            if index.insert(node.id.as_str(), i).is_some() {
                problems.push(GraphProblem::DuplicateNode(node.id.clone()));
            }
        }
        let mut seen = std::collections::HashSet::with_capacity(self.edges.len());
        let mut edges = Vec::with_capacity(self.edges.len());
        for edge in &self.edges {
            let from = index.get(edge.from.as_str()).copied();
            let to = index.get(edge.to.as_str()).copied();
            for (end, found) in [(&edge.from, from), (&edge.to, to)] {
                if found.is_none() {
                    problems.push(GraphProblem::UnknownNode {
                        from: edge.from.clone(),
                        to: edge.to.clone(),
                        missing: end.clone(),
                    });
                }
            }
            if let (Some(f), Some(t)) = (from, to) {
                if seen.insert((f, t)) {
                    edges.push((f, t));
                }
            }
        }
        if problems.is_empty() {
            Ok(edges)
        } else {
            Err(SvgError::InvalidGraph(problems))
        }
    }
}

/// One thing wrong with a [`Graph`]'s structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphProblem {
    /// Two nodes share this id.
    DuplicateNode(String),
    /// An edge names a node that does not exist.
    UnknownNode {
        /// The edge's upstream id.
        from: String,
        /// The edge's downstream id.
        to: String,
        /// The end that names no node.
        missing: String,
    },
}

impl fmt::Display for GraphProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphProblem::DuplicateNode(id) => write!(f, "two nodes have the id {id:?}"),
            GraphProblem::UnknownNode { from, to, missing } => {
                write!(f, "edge {from:?} -> {to:?} names no node {missing:?}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem_at_once() {
        let g = Graph::new()
            .with_node(Node::new("a"))
            .with_node(Node::new("a"))
            .with_edge("a", "x")
            .with_edge("y", "a");
        let Err(SvgError::InvalidGraph(problems)) = g.edge_indexes() else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0], GraphProblem::DuplicateNode("a".into()));
    }

    #[test]
    fn duplicate_edges_are_dropped() {
        let g = Graph::new()
            .with_node(Node::new("a"))
            .with_node(Node::new("b"))
            .with_edge("a", "b")
            .with_edge("a", "b");
        assert_eq!(g.edge_indexes().unwrap(), vec![(0, 1)]);
    }
}
