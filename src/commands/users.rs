//! `cambium users create | token | list | delete`: the users of the web UI and the API.
//!
//! Passwords come only from stdin (`--password-stdin`), never from the command line, where
//! `ps` and the shell history would show them. A token is printed once and only its hash is
//! stored; no output ever shows a password hash.

use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_auth::{hash_password, new_secret, secret_hash, Role};
use cambium_ui::UserView;
use chrono::Utc;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Subcommand;
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Read, Write};

/// The longest password line read from stdin.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Creates a user, reading the password from stdin (one line).
    Create {
        /// The user's name, as typed on the login form.
        name: String,
        /// What the user may do: viewer reads, op also triggers and promotes, admin also
        /// manages users.
        #[arg(
            long,
            required_unless_present = "update",
            value_parser = role_parser()
        )]
        role: Option<Role>,
        /// Read the password from stdin (one line), e.g.
        /// `printf '%s\n' "$PW" | cambium users create NAME --role op --password-stdin`.
        #[arg(long)]
        password_stdin: bool,
        /// If the user exists, change its role and/or password instead of failing.
        #[arg(long)]
        update: bool,
    },
    /// Creates an API token for a user and prints it, once (only its hash is kept).
    Token {
        /// The user the token signs in as.
        name: String,
    },
    /// Every user with role and creation time.
    List,
    /// Deletes a user with its API tokens and sessions (any user, the last admin too: the
    /// CLI is how an operator with the store recovers).
    Delete {
        /// The user to delete.
        name: String,
    },
}

/// `--role`: one of the three names (listed in help and completions).
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str)).try_map(|s| s.parse::<Role>())
}

#[derive(Debug, Serialize)]
struct TokenView<'a> {
    user: &'a str,
    token: &'a str,
}

pub async fn run(ctx: Ctx, command: UsersCommand) -> CmdResult<i32> {
    match command {
        UsersCommand::Create {
            name,
            role,
            password_stdin,
            update,
        } => create(&ctx, &name, role, password_stdin, update).await,
        UsersCommand::Token { name } => token(&ctx, &name).await,
        UsersCommand::List => list(&ctx).await,
        UsersCommand::Delete { name } => delete(&ctx, &name).await,
    }
}

fn unknown_user(name: &str) -> CliError {
    CliError::usage(format!(
        "there is no user named '{name}'; `cambium users list` shows the users and \
         `cambium users create {name} --role viewer --password-stdin` creates one"
    ))
}

fn user_exists(name: &str) -> CliError {
    CliError::usage(format!(
        "there is already a user named '{name}'; pass --update to change its password or \
         role, or choose another name"
    ))
}

fn store_error(e: cambium_store::Error) -> CliError {
    match e {
        cambium_store::Error::UserExists(name) => user_exists(&name),
        cambium_store::Error::UnknownUser(name) => unknown_user(&name),
        other => other.into(),
    }
}

fn no_password_stdin(name: &str) -> CliError {
    CliError::usage(format!(
        "the password is read from stdin: pass --password-stdin and pipe it in, e.g. \
         `printf '%s\\n' \"$PASSWORD\" | cambium users create {name} --role viewer --password-stdin`"
    ))
}

/// One line of stdin without its line ending; an empty line is refused.
fn read_password(name: &str) -> CmdResult<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for '{name}' (one line, shown as typed): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .take(MAX_PASSWORD_BYTES)
        .read_line(&mut line)
        .map_err(|e| {
            CliError::usage(format!(
                "cannot read the password from stdin: {e}; pipe one line of UTF-8 text"
            ))
        })?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.is_empty() {
        return Err(CliError::usage(
            "the password read from stdin is empty; pipe a non-empty password (one line) \
             into --password-stdin",
        ));
    }
    Ok(password.to_string())
}

fn hash(password: &str) -> CmdResult<String> {
    hash_password(password).map_err(|e| CliError::failed(e.to_string()))
}

async fn create(
    ctx: &Ctx,
    name: &str,
    role: Option<Role>,
    password_stdin: bool,
    update: bool,
) -> CmdResult<i32> {
    cambium_auth::check_user_name(name).map_err(CliError::usage)?;
    // Looked up first, so a taken name is refused before the password is read.
    let user = match ctx.store.user_by_name(name).await? {
        Some(_) if !update => return Err(user_exists(name)),
        Some(_) => {
            if role.is_none() && !password_stdin {
                return Err(CliError::usage(format!(
                    "nothing to change for user '{name}': pass --role and/or --password-stdin"
                )));
            }
            if password_stdin {
                let phc = hash(&read_password(name)?)?;
                ctx.store
                    .set_user_password(name, &phc)
                    .await
                    .map_err(store_error)?;
            }
            if let Some(role) = role {
                ctx.store
                    .set_user_role(name, role.as_str())
                    .await
                    .map_err(store_error)?;
            }
            ctx.store
                .user_by_name(name)
                .await?
                .ok_or_else(|| unknown_user(name))?
        }
        None => {
            let Some(role) = role else {
                return Err(CliError::usage(format!(
                    "there is no user named '{name}' to update; pass --role admin|op|viewer to create it"
                )));
            };
            if !password_stdin {
                return Err(no_password_stdin(name));
            }
            let phc = hash(&read_password(name)?)?;
            ctx.store
                .create_user(name, role.as_str(), &phc, Utc::now())
                .await
                .map_err(store_error)?
        }
    };
    let view = UserView::from(&user);
    if ctx.json() {
        ctx.print_json(&view)?;
    } else {
        outln!("user '{}' ({}) saved", view.name, view.role);
    }
    Ok(0)
}

async fn token(ctx: &Ctx, name: &str) -> CmdResult<i32> {
    let user = ctx
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| unknown_user(name))?;
    let token = new_secret();
    ctx.store
        .create_api_token(user.id, &secret_hash(&token), Utc::now())
        .await?;
    if ctx.json() {
        ctx.print_json(&TokenView {
            user: &user.name,
            token: &token,
        })?;
    } else {
        // Alone on stdout, so `TOKEN=$(cambium users token NAME)` works.
        outln!("{token}");
        eprintln!(
            "this API token of '{}' is shown only now; send it as `Authorization: Bearer <token>`",
            user.name
        );
    }
    Ok(0)
}

async fn list(ctx: &Ctx) -> CmdResult<i32> {
    let users = ctx.store.users().await?;
    let views: Vec<UserView> = users.iter().map(UserView::from).collect();
    if ctx.json() {
        ctx.print_json(&views)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|u| vec![u.name.clone(), u.role.clone(), u.created.clone()])
        .collect();
    table::print(&["name", "role", "created"], &rows);
    Ok(0)
}

async fn delete(ctx: &Ctx, name: &str) -> CmdResult<i32> {
    let user = ctx
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| unknown_user(name))?;
    ctx.store.delete_user(name).await.map_err(store_error)?;
    if ctx.json() {
        ctx.print_json(&UserView::from(&user))?;
    } else {
        outln!("user '{name}' deleted, with its API tokens and sessions");
    }
    Ok(0)
}
