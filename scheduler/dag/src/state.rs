//! The states of runs and task instances, and the kinds of run (as in `cli.md`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in the store, the CLI and the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not a {}; expected one of: {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum! {
    /// The state of a DAG run.
    RunState {
        Queued => "queued",
        Running => "running",
        Success => "success",
        Failed => "failed",
    }
}

string_enum! {
    /// The state of one task instance within a run.
    TaskState {
        None => "none",
        Scheduled => "scheduled",
        Queued => "queued",
        Running => "running",
        Success => "success",
        Failed => "failed",
        UpForRetry => "up_for_retry",
        UpstreamFailed => "upstream_failed",
        Skipped => "skipped",
    }
}

string_enum! {
    /// Why a run exists.
    RunType {
        Manual => "manual",
        Scheduled => "scheduled",
        Backfill => "backfill",
        AssetTriggered => "asset_triggered",
        ObjectTriggered => "object_triggered",
    }
}

impl RunState {
    /// True once the run has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, RunState::Success | RunState::Failed)
    }
}

impl TaskState {
    /// True for states a task instance does not leave by itself (`success`, `failed`,
    /// `upstream_failed`, `skipped`); only a clear moves it again.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failed | TaskState::UpstreamFailed | TaskState::Skipped
        )
    }

    /// True while a try is handed to an executor or running there.
    pub fn is_active(self) -> bool {
        matches!(self, TaskState::Queued | TaskState::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).ok(),
                Some(format!("\"{}\"", s.as_str()))
            );
        }
        for s in RunState::ALL {
            assert_eq!(s.as_str().parse::<RunState>(), Ok(*s));
        }
        for s in RunType::ALL {
            assert_eq!(s.as_str().parse::<RunType>(), Ok(*s));
        }
        assert!("bogus"
            .parse::<TaskState>()
            .unwrap_err()
            .contains("up_for_retry"));
    }
}
