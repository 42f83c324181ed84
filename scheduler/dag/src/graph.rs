//! The task graph of a DAG: cycle detection that names the tasks on a cycle, and a
//! topological order. Built on petgraph.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// A problem with a DAG's dependencies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// `path` lists the tasks on one cycle, starting and ending with the same task.
    #[error("task '{first}' is on a cycle: {path}", first = .path.first().map(String::as_str).unwrap_or(""), path = .path.join(" -> "))]
    Cycle { path: Vec<String> },
    #[error("a dependency names task '{0}', which this DAG does not declare")]
    UnknownTask(String),
}

/// A DAG's tasks and edges as a petgraph graph.
pub struct DagGraph {
    graph: DiGraph<String, ()>,
}

impl DagGraph {
    /// Builds the graph; every edge must name declared tasks.
    pub fn new(tasks: &[String], edges: &[(String, String)]) -> Result<Self, GraphError> {
        let mut graph = DiGraph::new();
        let mut index: HashMap<&str, NodeIndex> = HashMap::new();
        for t in tasks {
            index.insert(t, graph.add_node(t.clone()));
        }
        for (up, down) in edges {
            let a = *index
                .get(up.as_str())
                .ok_or_else(|| GraphError::UnknownTask(up.clone()))?;
            let b = *index
                .get(down.as_str())
                .ok_or_else(|| GraphError::UnknownTask(down.clone()))?;
            graph.update_edge(a, b, ());
        }
        Ok(DagGraph { graph })
    }

    /// Every cycle's tasks, one error per strongly connected component with a cycle.
    pub fn cycles(&self) -> Vec<GraphError> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let is_cycle = scc.len() > 1
                || scc
                    .first()
                    .is_some_and(|n| self.graph.contains_edge(*n, *n));
            if !is_cycle {
                continue;
            }
            out.push(GraphError::Cycle {
                path: self.cycle_path(&scc),
            });
        }
        out
    }

    /// Walks one concrete cycle inside a strongly connected component.
    fn cycle_path(&self, scc: &[NodeIndex]) -> Vec<String> {
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = scc.iter().copied().min().unwrap_or_default();
        let mut path = vec![start];
        let mut seen = std::collections::HashSet::from([start]);
        let mut current = start;
        loop {
            let mut next_nodes: Vec<NodeIndex> = self
                .graph
                .neighbors(current)
                .filter(|n| members.contains(n))
                .collect();
            next_nodes.sort();
            let Some(next) = next_nodes
                .iter()
                .copied()
                .find(|n| *n == start)
                .or_else(|| next_nodes.iter().copied().find(|n| !seen.contains(n)))
                .or_else(|| next_nodes.first().copied())
            else {
                break;
            };
            if let Some(pos) = path.iter().position(|n| *n == next) {
                path.drain(..pos);
                path.push(next);
                break;
            }
            seen.insert(next);
            path.push(next);
            current = next;
        }
        path.into_iter().map(|n| self.graph[n].clone()).collect()
    }

    /// Task ids in an order where every task comes after its upstream tasks.
    pub fn topological_order(&self) -> Result<Vec<String>, GraphError> {
        toposort(&self.graph, None)
            .map(|order| order.into_iter().map(|n| self.graph[n].clone()).collect())
            .map_err(|cycle| GraphError::Cycle {
                path: vec![self.graph[cycle.node_id()].clone()],
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn e(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn acyclic_graph_has_an_order() {
        let g = DagGraph::new(&s(&["a", "b", "c"]), &e(&[("a", "b"), ("b", "c")])).expect("ok");
        assert!(g.cycles().is_empty());
        assert_eq!(g.topological_order().expect("order"), s(&["a", "b", "c"]));
    }

    #[test]
    fn cycle_names_its_tasks() {
        let g = DagGraph::new(
            &s(&["a", "b", "c", "d"]),
            &e(&[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]),
        )
        .expect("ok");
        let cycles = g.cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].to_string(), "task 'b' is on a cycle: b -> c -> b");
    }

    #[test]
    fn self_loop_and_two_cycles() {
        let g = DagGraph::new(
            &s(&["a", "b", "c", "x"]),
            &e(&[("a", "a"), ("b", "c"), ("c", "b")]),
        )
        .expect("ok");
        let msgs: Vec<String> = g.cycles().iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 2);
        assert!(msgs.contains(&"task 'a' is on a cycle: a -> a".to_string()));
    }

    #[test]
    fn unknown_task_in_edge() {
        let err = DagGraph::new(&s(&["a"]), &e(&[("a", "zz")])).err();
        assert_eq!(err, Some(GraphError::UnknownTask("zz".into())));
    }
}
