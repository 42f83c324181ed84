//! The login throttle: each attempt at a password makes the next attempt with the same key
//! wait longer once the free tries are used up, so guessing passwords online is slow.
//!
//! The server keeps one throttle and asks it once per attempt with two keys, the user name
//! and the client address (e.g. `user:ada` and `ip:192.0.2.7`), so neither many passwords
//! against one user nor one client against many users gets fast. [`LoginThrottle::attempt`]
//! counts the attempt *before* the password is verified, in the same call that checks the
//! wait, so parallel attempts cannot all pass the check before any of them is counted; a
//! right password then clears the keys with [`LoginThrottle::success`]. Time is passed in,
//! so tests need no sleeping. Memory is bounded: a key is forgotten after
//! [`ThrottlePolicy::forget_after`] without attempts, and beyond
//! [`ThrottlePolicy::max_keys`] the keys tried longest ago go first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How the throttle slows down a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Tries that need no wait (typos): the attempt after this many wrong ones in a row waits.
    pub free_tries: u32,
    /// The wait after the last free try; each further wrong try doubles it.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// A key with no attempt for this long starts afresh. At least `max_delay`.
    pub forget_after: Duration,
    /// The most keys remembered at once.
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    /// 3 free tries, then waits of 1 s, 2 s, 4 s, ... up to 60 s; forgotten after 15 minutes;
    /// at most 10,000 keys.
    fn default() -> Self {
        ThrottlePolicy {
            free_tries: 3,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
            max_keys: 10_000,
        }
    }
}

impl ThrottlePolicy {
    /// How long to refuse attempts after the `failures`-th wrong try in a row: nothing while
    /// free tries are left, then `first_delay`, doubling up to `max_delay`.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.free_tries) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// One key's attempts in a row (not yet cleared by a right password) and when the last was.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Slows down wrong passwords, per key. Not synchronized: the server keeps it behind a
/// mutex (every call is short).
#[derive(Debug, Clone, Default)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    keys: HashMap<String, Failures>,
}

impl LoginThrottle {
    /// A throttle with its own policy.
    pub fn new(policy: ThrottlePolicy) -> Self {
        LoginThrottle {
            policy,
            keys: HashMap::new(),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// One attempt at a password by every key of `keys` at `now`. When all of them may try,
    /// the attempt is counted against each at once (as a wrong try until
    /// [`success`](Self::success) says otherwise) and the caller may verify the password;
    /// else nothing is counted and the longest wait is returned: refuse the attempt (HTTP 429
    /// with `Retry-After`) without verifying anything.
    pub fn attempt(&mut self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        if let Some(wait) = keys.iter().filter_map(|k| self.check(k, now).err()).max() {
            return Err(wait);
        }
        for key in keys {
            self.failure(key, now);
        }
        Ok(())
    }

    /// Ok when `key` may try a password at `now`; else how long until it may. Counts
    /// nothing: [`attempt`](Self::attempt) checks and counts in one step.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(failures) = self.live(key, now) else {
            return Ok(());
        };
        let until = failures.last + self.policy.delay_after(failures.count);
        match until.checked_duration_since(now) {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    /// Notes a wrong try for `key` at `now`.
    pub fn failure(&mut self, key: &str, now: Instant) {
        let count = self.live(key, now).map_or(0, |f| f.count).saturating_add(1);
        if !self.keys.contains_key(key) && self.keys.len() >= self.policy.max_keys {
            self.make_room(now);
        }
        if self.policy.max_keys == 0 {
            return;
        }
        self.keys
            .insert(key.to_string(), Failures { count, last: now });
    }

    /// A right password: `key` starts afresh.
    pub fn success(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The failures of `key` that still count at `now`.
    fn live(&self, key: &str, now: Instant) -> Option<Failures> {
        self.keys
            .get(key)
            .copied()
            .filter(|f| !self.forgotten(f, now))
    }

    fn forgotten(&self, failures: &Failures, now: Instant) -> bool {
        let keep = self.policy.forget_after.max(self.policy.max_delay);
        now.saturating_duration_since(failures.last) >= keep
    }

    /// Frees a slot for a new key: drops forgotten keys, else the one that failed longest ago.
    fn make_room(&mut self, now: Instant) {
        let policy = self.policy;
        let keep = policy.forget_after.max(policy.max_delay);
        self.keys
            .retain(|_, f| now.saturating_duration_since(f.last) < keep);
        while self.keys.len() >= policy.max_keys {
            let Some(oldest) = self
                .keys
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.keys.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// `n` failures of `key`, each at `at`.
    fn fail(throttle: &mut LoginThrottle, key: &str, at: Instant, n: u32) {
        for _ in 0..n {
            throttle.failure(key, at);
        }
    }

    #[test]
    fn three_tries_are_free() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        assert_eq!(throttle.check("ada", t0), Ok(()));
        fail(&mut throttle, "ada", t0, 2);
        assert_eq!(throttle.check("ada", t0), Ok(()));
        throttle.failure("ada", t0);
        // The 4th try waits, as the docs say: 3 free tries, then 1 s.
        assert_eq!(throttle.check("ada", t0), Err(S));
    }

    #[test]
    fn attempts_are_counted_before_verifying() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        // Many attempts at the same instant, none finished: only the free tries pass.
        let passed = (0..60)
            .filter(|_| throttle.attempt(&["user:ada", "ip:192.0.2.7"], t0).is_ok())
            .count();
        assert_eq!(passed, 3);
        assert_eq!(throttle.attempt(&["user:ada"], t0), Err(S));
        // The address key alone also refuses other names, and counts nothing for them.
        assert_eq!(throttle.attempt(&["user:bob", "ip:192.0.2.7"], t0), Err(S));
        assert_eq!(throttle.check("user:bob", t0), Ok(()));
        // A refused attempt counts nothing: one second later one more try passes.
        assert_eq!(throttle.attempt(&["user:ada"], t0 + S), Ok(()));
        assert_eq!(throttle.attempt(&["user:ada"], t0 + S), Err(2 * S));
    }

    #[test]
    fn a_right_password_clears_the_attempt() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        for _ in 0..10 {
            assert_eq!(throttle.attempt(&["user:ada", "ip:a"], t0), Ok(()));
            throttle.success("user:ada");
            throttle.success("ip:a");
        }
        assert!(throttle.is_empty());
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let policy = ThrottlePolicy::default();
        let delays: Vec<u64> = (0..=12).map(|n| policy.delay_after(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(policy.delay_after(u32::MAX), policy.max_delay);
    }

    #[test]
    fn a_throttled_key_waits_and_may_try_again() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        fail(&mut throttle, "ada", t0, 2);
        throttle.failure("ada", t0); // 3rd: 1 s
        assert_eq!(throttle.check("ada", t0), Err(S));
        assert_eq!(
            throttle.check("ada", t0 + Duration::from_millis(400)),
            Err(Duration::from_millis(600))
        );
        assert_eq!(throttle.check("ada", t0 + S), Ok(()));
        throttle.failure("ada", t0 + S); // 4th: 2 s
        assert_eq!(throttle.check("ada", t0 + S), Err(2 * S));
        assert_eq!(throttle.check("ada", t0 + 3 * S), Ok(()));
        // Other keys are not slowed.
        assert_eq!(throttle.check("bob", t0 + S), Ok(()));
    }

    #[test]
    fn the_wait_never_exceeds_the_cap() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        fail(&mut throttle, "ip:192.0.2.7", t0, 1_000);
        assert_eq!(throttle.check("ip:192.0.2.7", t0), Err(60 * S));
        assert_eq!(throttle.check("ip:192.0.2.7", t0 + 60 * S), Ok(()));
    }

    #[test]
    fn success_resets_the_key() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        fail(&mut throttle, "ada", t0, 6);
        assert!(throttle.check("ada", t0).is_err());
        throttle.success("ada");
        assert_eq!(throttle.check("ada", t0), Ok(()));
        assert!(throttle.is_empty());
        // Counting starts again from zero.
        fail(&mut throttle, "ada", t0, 2);
        assert_eq!(throttle.check("ada", t0), Ok(()));
        throttle.success("never-failed");
    }

    #[test]
    fn quiet_keys_are_forgotten() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::default();
        fail(&mut throttle, "ada", t0, 10);
        let later = t0 + throttle.policy().forget_after;
        assert_eq!(throttle.check("ada", later), Ok(()));
        // The next failure counts as the first, which is free.
        throttle.failure("ada", later);
        assert_eq!(throttle.check("ada", later), Ok(()));
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = Instant::now();
        let policy = ThrottlePolicy {
            max_keys: 100,
            ..ThrottlePolicy::default()
        };
        let mut throttle = LoginThrottle::new(policy);
        for i in 0..1_000u64 {
            let at = t0 + Duration::from_millis(i);
            fail(&mut throttle, &format!("ip:{i}"), at, 4);
            assert!(throttle.len() <= 100);
        }
        assert_eq!(throttle.len(), 100);
        // The newest keys are the ones kept.
        let now = t0 + Duration::from_millis(999);
        assert!(throttle.check("ip:999", now).is_err());
        assert_eq!(throttle.check("ip:0", now), Ok(()));
    }

    #[test]
    fn forgotten_keys_make_room_first() {
        let t0 = Instant::now();
        let policy = ThrottlePolicy {
            max_keys: 2,
            ..ThrottlePolicy::default()
        };
        let mut throttle = LoginThrottle::new(policy);
        fail(&mut throttle, "old", t0, 5);
        let later = t0 + policy.forget_after;
        fail(&mut throttle, "recent", later, 5);
        fail(&mut throttle, "new", later, 5);
        assert_eq!(throttle.len(), 2);
        assert!(throttle.check("recent", later).is_err());
        assert!(throttle.check("new", later).is_err());
    }

    #[test]
    fn a_clock_going_back_does_not_panic() {
        let t0 = Instant::now() + 100 * S;
        let mut throttle = LoginThrottle::default();
        fail(&mut throttle, "ada", t0, 5);
        let earlier = t0 - 50 * S;
        assert!(throttle.check("ada", earlier).is_err());
        throttle.failure("ada", earlier);
        throttle.success("ada");
        assert_eq!(throttle.check("ada", earlier), Ok(()));
    }

    #[test]
    fn no_keys_means_no_memory() {
        let t0 = Instant::now();
        let mut throttle = LoginThrottle::new(ThrottlePolicy {
            max_keys: 0,
            ..ThrottlePolicy::default()
        });
        fail(&mut throttle, "ada", t0, 10);
        assert!(throttle.is_empty());
    }
}
