//! Distances between the distribution of a feature in two data sets (a baseline span and
//! the current one), used by validation to detect drift. Both are in `[0, 1]`.
//!
//! **Numeric features: Jensen–Shannon divergence**, as TFDV computes it.
//! 1. Re-bin: the two histograms (edges `a₀ < … < aₙ` and `b₀ < … < bₘ`) are put onto the
//!    sorted union of their edges `e₀ < … < eₖ` (equal edges merged). Each histogram's
//!    count in a bin `[aᵢ, aᵢ₊₁)` is assumed uniformly spread over that bin, so a new bin
//!    `[eⱼ, eⱼ₊₁)` receives `cᵢ · |[eⱼ, eⱼ₊₁) ∩ [aᵢ, aᵢ₊₁)| / (aᵢ₊₁ − aᵢ)` from each old bin.
//! 2. Normalize each re-binned histogram to a probability vector `p`, `q`.
//! 3. `JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m)` with `m = ½ (p + q)` and
//!    `KL(p ‖ m) = Σᵢ pᵢ log₂(pᵢ / mᵢ)` (terms with `pᵢ = 0` are 0). With log base 2 the
//!    divergence is in `[0, 1]`. This equals `scipy.spatial.distance.jensenshannon(p, q,
//!    base=2) ** 2` (scipy returns the *distance*, the square root of the divergence).
//!
//! **Categorical features: L-infinity distance** `L∞(p, q) = maxᵥ |p(v) − q(v)|` over the
//! union of the values of the two frequency tables, where `p(v) = count(v) / Σ count` in
//! each table (a value absent from one table has probability 0 there). When a frequency
//! table was truncated, the values it left out are left out of the distance too.
//!
//! NaN and infinite values are not in the histograms and take no part in the distance.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::stats::{FeatureStatistics, Histogram, ValueCount};

/// Drift thresholds: a feature whose distance to the baseline is above its threshold is
/// reported. A feature with no threshold (no `per_feature` entry and no `default`) is not
/// checked for drift.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// The threshold of every feature without its own.
    #[serde(default)]
    pub default: Option<f64>,
    /// Thresholds by feature name, overriding `default`.
    #[serde(default)]
    pub per_feature: BTreeMap<String, f64>,
}

impl DriftConfig {
    /// The threshold for `feature`, if it is checked at all.
    pub fn threshold(&self, feature: &str) -> Option<f64> {
        self.per_feature.get(feature).copied().or(self.default)
    }

    /// Every threshold that is not a number between 0 and 1 (both distances are in that
    /// range), each message naming the option.
    pub fn validate_self(&self) -> Vec<String> {
        let bad = |t: f64| !(0.0..=1.0).contains(&t);
        let mut problems = Vec::new();
        if let Some(t) = self.default.filter(|&t| bad(t)) {
            problems.push(format!(
                "drift.default is {t}; use a threshold between 0 and 1"
            ));
        }
        for (name, &t) in self.per_feature.iter().filter(|(_, &t)| bad(t)) {
            problems.push(format!(
                "drift.per_feature.{name} is {t}; use a threshold between 0 and 1"
            ));
        }
        problems
    }
}

/// Which distance a drift check used.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DriftMeasure {
    /// Jensen–Shannon divergence of the histograms (numeric features).
    JensenShannon,
    /// L-infinity distance of the frequency tables (categorical features).
    LInfinity,
}

impl DriftMeasure {
    /// A human name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DriftMeasure::JensenShannon => "Jensen-Shannon divergence",
            DriftMeasure::LInfinity => "L-infinity distance",
        }
    }
}

/// The distance between a feature's distribution now and in the baseline: Jensen–Shannon
/// when both are numeric, L-infinity when both are categorical, `None` when the kinds
/// differ (validation reports that as a wrong type instead).
pub fn feature_distance(
    current: &FeatureStatistics,
    baseline: &FeatureStatistics,
) -> Option<(DriftMeasure, f64)> {
    if let (Some(a), Some(b)) = (&current.numeric, &baseline.numeric) {
        return Some((
            DriftMeasure::JensenShannon,
            histogram_jensen_shannon(&a.histogram, &b.histogram),
        ));
    }
    if let (Some(a), Some(b)) = (&current.categorical, &baseline.categorical) {
        return Some((
            DriftMeasure::LInfinity,
            l_infinity(&a.top_values, &b.top_values),
        ));
    }
    None
}

/// Jensen–Shannon divergence (log base 2, in `[0, 1]`) of two non-negative weight vectors,
/// each normalized to sum 1 first. A shorter vector is padded with zeros. Two all-zero
/// vectors are identical (0); an all-zero vector against a non-zero one is maximally
/// different (1).
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    match (sp > 0.0, sq > 0.0) {
        (false, false) => return 0.0,
        (true, false) | (false, true) => return 1.0,
        (true, true) => {}
    }
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
    let kl_term = |a: f64, m: f64| if a > 0.0 { a * (a / m).log2() } else { 0.0 };
    let mut js = 0.0;
    for i in 0..p.len().max(q.len()) {
        let (a, b) = (at(p, i) / sp, at(q, i) / sq);
        let m = 0.5 * (a + b);
        js += 0.5 * kl_term(a, m) + 0.5 * kl_term(b, m);
    }
    js.clamp(0.0, 1.0)
}

/// The sorted union of two histograms' edges, equal edges merged.
pub fn union_edges(a: &Histogram, b: &Histogram) -> Vec<f64> {
    let mut edges: Vec<f64> = a.edges.iter().chain(&b.edges).copied().collect();
    edges.sort_unstable_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// The counts of `h` spread over the bins of `edges` (increasing), assuming each of `h`'s
/// counts is uniformly spread over its bin. Returns `edges.len() - 1` weights.
pub fn rebin(h: &Histogram, edges: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; edges.len().saturating_sub(1)];
    for (i, &c) in h.counts.iter().enumerate() {
        let (Some(&lo), Some(&hi)) = (h.edges.get(i), h.edges.get(i + 1)) else {
            break;
        };
        let width = hi - lo;
        if c == 0 || width <= 0.0 {
            continue;
        }
        for (j, w) in out.iter_mut().enumerate() {
            let overlap = edges[j + 1].min(hi) - edges[j].max(lo);
            if overlap > 0.0 {
                *w += c as f64 * overlap / width;
            }
        }
    }
    out
}

/// Jensen–Shannon divergence between two histograms after re-binning both onto the union
/// of their edges (see the module doc).
pub fn histogram_jensen_shannon(a: &Histogram, b: &Histogram) -> f64 {
    let edges = union_edges(a, b);
    jensen_shannon(&rebin(a, &edges), &rebin(b, &edges))
}

/// L-infinity distance between two frequency tables, each normalized by the total of its
/// counts: `max_v |p(v) − q(v)|` over the union of their values. Two empty tables are at
/// distance 0; an empty one against a non-empty one at distance 1.
pub fn l_infinity(p: &[ValueCount], q: &[ValueCount]) -> f64 {
    let total = |t: &[ValueCount]| t.iter().map(|v| v.count).sum::<u64>() as f64;
    let (tp, tq) = (total(p), total(q));
    match (tp > 0.0, tq > 0.0) {
        (false, false) => return 0.0,
        (true, false) | (false, true) => return 1.0,
        (true, true) => {}
    }
    let mut probs: HashMap<&str, (f64, f64)> = HashMap::with_capacity(p.len().max(q.len()));
    for v in p {
        probs.entry(v.value.as_str()).or_default().0 += v.count as f64 / tp;
    }
    for v in q {
        probs.entry(v.value.as_str()).or_default().1 += v.count as f64 / tq;
    }
    probs
        .values()
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vc(v: &str, c: u64) -> ValueCount {
        ValueCount {
            value: v.into(),
            count: c,
        }
    }

    #[test]
    fn js_is_zero_for_equal_and_one_for_disjoint() {
        assert_eq!(jensen_shannon(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-15);
        assert_eq!(jensen_shannon(&[], &[]), 0.0);
        assert_eq!(jensen_shannon(&[0.0], &[1.0]), 1.0);
        // Padding: [1] against [1, 0] is the same distribution.
        assert_eq!(jensen_shannon(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn rebin_spreads_counts_uniformly() {
        let h = Histogram {
            edges: vec![0.0, 2.0, 4.0],
            counts: vec![4, 2],
        };
        let w = rebin(&h, &[-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(w, vec![0.0, 2.0, 2.0, 1.0, 1.0, 0.0]);
        let shifted = Histogram {
            edges: vec![1.0, 3.0, 5.0],
            counts: vec![4, 2],
        };
        assert_eq!(
            union_edges(&h, &shifted),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        let js = histogram_jensen_shannon(&h, &shifted);
        assert!(js > 0.0 && js < 1.0);
        assert_eq!(histogram_jensen_shannon(&h, &h), 0.0);
    }

    #[test]
    fn l_infinity_over_union_of_values() {
        let p = [vc("a", 3), vc("b", 1)];
        let q = [vc("b", 1), vc("c", 1)];
        // p = {a: .75, b: .25}, q = {b: .5, c: .5}: max is |.75 - 0|.
        assert!((l_infinity(&p, &q) - 0.75).abs() < 1e-15);
        assert_eq!(l_infinity(&p, &p), 0.0);
        assert_eq!(l_infinity(&[], &[]), 0.0);
        assert_eq!(l_infinity(&p, &[]), 1.0);
    }

    #[test]
    fn drift_config_thresholds_and_problems() {
        let c: DriftConfig =
            serde_json::from_str(r#"{"default": 0.1, "per_feature": {"age": 0.3, "x": -1}}"#)
                .unwrap();
        assert_eq!(c.threshold("age"), Some(0.3));
        assert_eq!(c.threshold("other"), Some(0.1));
        assert_eq!(DriftConfig::default().threshold("age"), None);
        assert_eq!(
            c.validate_self(),
            vec!["drift.per_feature.x is -1; use a threshold between 0 and 1"]
        );
    }
}
