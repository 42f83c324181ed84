//! Retry policy: whether a failed try is retried, and after how long.

use crate::spec::{RetryBackoff, TaskOptions};
use std::time::Duration;

/// The delay before try `next_try` (2 for the first retry), or `None` when the task has no
/// retries left. `jitter` is a number in `[0, 1)` from the caller's random source; with
/// exponential backoff the delay is `retry_delay * 2^(next_try - 2)` stretched by
/// `1 + jitter` (as Airflow does), and never more than `max_retry_delay`.
pub fn retry_delay(opts: &TaskOptions, next_try: u32, jitter: f64) -> Option<Duration> {
    if next_try < 2 || next_try > opts.retries + 1 {
        return None;
    }
    let base = opts.retry_delay;
    let delay = match opts.retry_backoff {
        RetryBackoff::Fixed => base,
        RetryBackoff::Exponential => {
            let exp = (next_try - 2).min(40);
            let min_backoff = base.as_secs_f64() * 2f64.powi(exp as i32);
            let jittered = min_backoff * (1.0 + jitter.clamp(0.0, 0.999_999));
            Duration::from_secs_f64(jittered.min(opts.max_retry_delay.as_secs_f64()))
        }
    };
    Some(delay.min(opts.max_retry_delay.max(base.min(opts.max_retry_delay))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(retries: u32, backoff: RetryBackoff) -> TaskOptions {
        TaskOptions {
            retries,
            retry_delay: Duration::from_secs(10),
            retry_backoff: backoff,
            max_retry_delay: Duration::from_secs(60),
            ..TaskOptions::default()
        }
    }

    #[test]
    fn fixed_delay_until_retries_run_out() {
        let o = opts(2, RetryBackoff::Fixed);
        assert_eq!(retry_delay(&o, 2, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(&o, 3, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(&o, 4, 0.5), None);
        assert_eq!(retry_delay(&opts(0, RetryBackoff::Fixed), 2, 0.0), None);
    }

    #[test]
    fn exponential_doubles_with_jitter_and_cap() {
        let o = opts(10, RetryBackoff::Exponential);
        assert_eq!(retry_delay(&o, 2, 0.0), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(&o, 3, 0.0), Some(Duration::from_secs(20)));
        assert_eq!(retry_delay(&o, 4, 0.0), Some(Duration::from_secs(40)));
        assert_eq!(retry_delay(&o, 5, 0.0), Some(Duration::from_secs(60)));
        let j = retry_delay(&o, 3, 0.5).expect("retry left");
        assert_eq!(j, Duration::from_secs(30));
    }
}
