//! Evaluation metrics, computed as scikit-learn computes them (checked against it to 1e-9 by
//! `tests/sklearn_metrics.rs`).
//!
//! Classification labels are strings (the model keeps class labels as strings). With at most
//! two classes the problem is *binary* and precision, recall and F1 are those of the positive
//! class: `1` when the labels are `0`/`1`, `true` for `false`/`true`, otherwise the greatest
//! label in sort order (sklearn's `pos_label=1` / `average="binary"`). With more classes they
//! are *macro* averages: the unweighted mean over the classes seen in the labels or the
//! predictions (sklearn's `average="macro"`); macro F1 is the mean of the per-class F1s. A
//! class with no predicted (or no true) rows scores 0 precision (or recall), as sklearn's
//! `zero_division` default does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Errors computing metrics; each says what doesn't fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// Inputs of different lengths.
    #[error("{what}: {found} values for {expected} labels")]
    Length {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// No rows to score.
    #[error("no rows to evaluate")]
    Empty,
    /// Probabilities that don't cover the labels.
    #[error("probabilities: {0}")]
    Probabilities(String),
}

/// Class probabilities: `rows[i][j]` is row `i`'s probability of `classes[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassProbabilities {
    /// The class labels, one per column.
    pub classes: Vec<String>,
    /// One row of probabilities per example.
    pub rows: Vec<Vec<f64>>,
}

impl ClassProbabilities {
    fn column(&self, class: &str) -> Option<Vec<f64>> {
        let j = self.classes.iter().position(|c| c == class)?;
        Some(self.rows.iter().map(|r| r[j]).collect())
    }
}

fn check(what: &'static str, expected: usize, found: usize) -> Result<(), MetricsError> {
    if expected == 0 {
        return Err(MetricsError::Empty);
    }
    if expected != found {
        return Err(MetricsError::Length {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// The sorted union of the labels and predictions.
fn classes_of(y_true: &[String], y_pred: &[String]) -> Vec<String> {
    let mut c: Vec<String> = y_true.iter().chain(y_pred).cloned().collect();
    c.sort();
    c.dedup();
    c
}

/// The positive class of a binary problem with these classes (see the module doc).
pub fn positive_class(classes: &[String]) -> String {
    let all_in = |set: &[&str]| classes.iter().all(|c| set.contains(&c.as_str()));
    if all_in(&["0", "1"]) {
        "1".into()
    } else if all_in(&["false", "true"]) {
        "true".into()
    } else {
        classes.iter().max().cloned().unwrap_or_default()
    }
}

/// The fraction of predictions equal to the label.
pub fn accuracy(y_true: &[String], y_pred: &[String]) -> Result<f64, MetricsError> {
    check("predictions", y_true.len(), y_pred.len())?;
    let hits = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// (true positives, predicted positives, actual positives) for one class.
fn counts(y_true: &[String], y_pred: &[String], class: &str) -> (f64, f64, f64) {
    let (mut tp, mut pp, mut ap) = (0.0, 0.0, 0.0);
    for (t, p) in y_true.iter().zip(y_pred) {
        let (t, p) = (t == class, p == class);
        tp += f64::from(u8::from(t && p));
        pp += f64::from(u8::from(p));
        ap += f64::from(u8::from(t));
    }
    (tp, pp, ap)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Precision, recall and F1: of the positive class when binary, macro averages otherwise.
pub fn precision_recall_f1(
    y_true: &[String],
    y_pred: &[String],
) -> Result<(f64, f64, f64), MetricsError> {
    check("predictions", y_true.len(), y_pred.len())?;
    let classes = classes_of(y_true, y_pred);
    let per_class = |c: &str| {
        let (tp, pp, ap) = counts(y_true, y_pred, c);
        (ratio(tp, pp), ratio(tp, ap), ratio(2.0 * tp, pp + ap))
    };
    if classes.len() <= 2 {
        return Ok(per_class(&positive_class(&classes)));
    }
    let n = classes.len() as f64;
    let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
    for c in &classes {
        let (pc, rc, fc) = per_class(c);
        p += pc;
        r += rc;
        f += fc;
    }
    Ok((p / n, r / n, f / n))
}

/// Area under the ROC curve of `scores` for the rows where `positive` is true; ties count
/// one half (the Mann–Whitney statistic, equal to sklearn's `roc_auc_score`). `None` when
/// only one class is present.
pub fn binary_roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|p| **p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let j = i + idx[i..]
            .iter()
            .take_while(|&&k| scores[k] == scores[idx[i]])
            .count();
        // ranks i+1..=j share their average
        let avg = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg * idx[i..j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j;
    }
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// ROC AUC from class probabilities: binary from the positive class's column, otherwise the
/// macro average of one-vs-rest AUCs over the classes in the labels (sklearn's
/// `multi_class="ovr"`). `None` when the labels hold a single class.
pub fn roc_auc(y_true: &[String], proba: &ClassProbabilities) -> Result<Option<f64>, MetricsError> {
    check("probability rows", y_true.len(), proba.rows.len())?;
    let present = classes_of(y_true, &[]);
    if present.len() < 2 {
        return Ok(None);
    }
    let column = |c: &str| {
        proba.column(c).ok_or_else(|| {
            MetricsError::Probabilities(format!(
                "the labels have class '{c}', which the model doesn't"
            ))
        })
    };
    if proba.classes.len() <= 2 {
        let pos = positive_class(&proba.classes);
        let is_pos: Vec<bool> = y_true.iter().map(|t| *t == pos).collect();
        return Ok(binary_roc_auc(&is_pos, &column(&pos)?));
    }
    let mut sum = 0.0;
    for c in &present {
        let is_c: Vec<bool> = y_true.iter().map(|t| t == c).collect();
        sum += binary_roc_auc(&is_c, &column(c)?).unwrap_or(0.0);
    }
    Ok(Some(sum / present.len() as f64))
}

/// Mean negative log-likelihood of the true class, probabilities clipped to
/// `[eps, 1 - eps]` with `eps` the f64 machine epsilon (scikit-learn ≥ 1.5; older versions
/// clipped at 1e-15).
pub fn log_loss(y_true: &[String], proba: &ClassProbabilities) -> Result<f64, MetricsError> {
    check("probability rows", y_true.len(), proba.rows.len())?;
    let eps = f64::EPSILON;
    let mut sum = 0.0;
    for (t, row) in y_true.iter().zip(&proba.rows) {
        let j = proba.classes.iter().position(|c| c == t).ok_or_else(|| {
            MetricsError::Probabilities(format!(
                "the labels have class '{t}', which the model doesn't"
            ))
        })?;
        sum -= row[j].clamp(eps, 1.0 - eps).ln();
    }
    Ok(sum / y_true.len() as f64)
}

/// Root mean squared error.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check("predictions", y_true.len(), y_pred.len())?;
    let mse = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / y_true.len() as f64;
    Ok(mse.sqrt())
}

/// Mean absolute error.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check("predictions", y_true.len(), y_pred.len())?;
    Ok(y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / y_true.len() as f64)
}

/// Coefficient of determination. With constant labels: 1 for a perfect fit, else 0
/// (sklearn's `force_finite`).
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check("predictions", y_true.len(), y_pred.len())?;
    let mean = y_true.iter().sum::<f64>() / y_true.len() as f64;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|a| (a - mean) * (a - mean)).sum();
    Ok(if ss_tot == 0.0 {
        if ss_res == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        1.0 - ss_res / ss_tot
    })
}

/// `accuracy`, `precision`, `recall`, `f1`, and with probabilities `log_loss` and (when the
/// labels hold two classes or more) `roc_auc`.
pub fn classification_metrics(
    y_true: &[String],
    y_pred: &[String],
    proba: Option<&ClassProbabilities>,
) -> Result<BTreeMap<String, f64>, MetricsError> {
    let mut m = BTreeMap::new();
    m.insert("accuracy".into(), accuracy(y_true, y_pred)?);
    let (p, r, f) = precision_recall_f1(y_true, y_pred)?;
    m.insert("precision".into(), p);
    m.insert("recall".into(), r);
    m.insert("f1".into(), f);
    if let Some(proba) = proba {
        m.insert("log_loss".into(), log_loss(y_true, proba)?);
        if let Some(auc) = roc_auc(y_true, proba)? {
            m.insert("roc_auc".into(), auc);
        }
    }
    Ok(m)
}

/// `rmse`, `mae` and `r2`.
pub fn regression_metrics(
    y_true: &[f64],
    y_pred: &[f64],
) -> Result<BTreeMap<String, f64>, MetricsError> {
    let mut m = BTreeMap::new();
    m.insert("rmse".into(), rmse(y_true, y_pred)?);
    m.insert("mae".into(), mae(y_true, y_pred)?);
    m.insert("r2".into(), r2(y_true, y_pred)?);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn binary_uses_the_positive_class() {
        let (t, p) = (v(&["0", "1", "1", "0"]), v(&["1", "1", "0", "0"]));
        assert_eq!(precision_recall_f1(&t, &p).unwrap(), (0.5, 0.5, 0.5));
        assert_eq!(positive_class(&v(&["no", "yes"])), "yes");
        assert_eq!(positive_class(&v(&["false", "true"])), "true");
        // only "0" present: positive "1" has no rows → 0, like sklearn
        assert_eq!(
            precision_recall_f1(&v(&["0"]), &v(&["0"])).unwrap(),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn auc_handles_ties_and_single_class() {
        assert_eq!(
            binary_roc_auc(&[false, true, false, true], &[0.1, 0.5, 0.5, 0.9]),
            Some(0.875)
        );
        assert_eq!(binary_roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            accuracy(&v(&["a"]), &v(&[])).unwrap_err().to_string(),
            "predictions: 0 values for 1 labels"
        );
        let proba = ClassProbabilities {
            classes: v(&["a", "b"]),
            rows: vec![vec![0.5, 0.5]],
        };
        assert_eq!(
            log_loss(&v(&["c"]), &proba).unwrap_err().to_string(),
            "probabilities: the labels have class 'c', which the model doesn't"
        );
        assert_eq!(r2(&[1.0, 1.0], &[1.0, 1.0]).unwrap(), 1.0);
        assert_eq!(r2(&[1.0, 1.0], &[1.0, 2.0]).unwrap(), 0.0);
    }
}
