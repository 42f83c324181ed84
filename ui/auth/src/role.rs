//! Roles: what a signed-in user may do.

use crate::error::AuthError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role. Each role may do everything the roles below it may: `Viewer < Op < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also triggers, backfills, clears, pauses and promotes models.
    Op,
    /// Also manages users.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Op, Role::Admin];

    /// The role's name as stored and shown: `viewer`, `op` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Op => "op",
            Role::Admin => "admin",
        }
    }

    /// True when a user with this role may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;

    /// The lowercase names only, as stored: `viewer`, `op`, `admin`.
    fn from_str(s: &str) -> Result<Role, AuthError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AuthError::UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_viewer_op_admin() {
        assert!(Role::Viewer < Role::Op && Role::Op < Role::Admin);
        let mut shuffled = vec![Role::Admin, Role::Viewer, Role::Op];
        shuffled.sort();
        assert_eq!(shuffled, Role::ALL);
    }

    #[test]
    fn a_role_allows_itself_and_what_is_below() {
        for have in Role::ALL {
            for needed in Role::ALL {
                assert_eq!(have.allows(needed), have >= needed, "{have} needs {needed}");
            }
        }
        assert!(Role::Admin.allows(Role::Viewer));
        assert!(Role::Op.allows(Role::Op));
        assert!(!Role::Op.allows(Role::Admin));
        assert!(!Role::Viewer.allows(Role::Op));
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(
            [Role::Viewer, Role::Op, Role::Admin].map(Role::as_str),
            ["viewer", "op", "admin"]
        );
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        for bad in ["Admin", "ADMIN", "root", "", " op", "viewer "] {
            let err = bad.parse::<Role>().expect_err(bad);
            assert_eq!(err, AuthError::UnknownRole(bad.to_string()));
            let shown = err.to_string();
            for name in ["viewer", "op", "admin"] {
                assert!(shown.contains(name), "{shown}");
            }
        }
    }

    #[test]
    fn serde_uses_the_lowercase_names() {
        let json = serde_json::to_string(&Role::ALL).expect("serialize");
        assert_eq!(json, r#"["viewer","op","admin"]"#);
        let back: Vec<Role> = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, Role::ALL);
        assert!(serde_json::from_str::<Role>(r#""Admin""#).is_err());
    }
}
