//! `cambium users create | token | tokens | revoke-token | list | delete`: the users of the
//! web UI and the API, and their API tokens.
//!
//! Passwords come only from stdin (`--password-stdin`), never from the command line, where
//! `ps` and the shell history would show them, and have at least 8 characters; changing one
//! signs that user out everywhere. A token is printed once and only its hash is stored; it
//! expires (`--expires`, default `[web] token_ttl`). No output ever shows a password hash or
//! a token's secret after its creation.

use crate::context::Ctx;
use crate::error::{CliError, CmdResult};
use crate::table;
use cambium_auth::{hash_password, new_secret, secret_hash, Role};
use cambium_ui::{TokenView, UserView};
use chrono::{DateTime, Utc};
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
        /// How long the token is valid, e.g. 30d, 12h, 1w (default: [web] token_ttl in
        /// cambium.toml, 90d unless set).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// A user's API tokens: id, creation, expiry and last use (never the secrets).
    Tokens {
        /// The user whose tokens to list.
        name: String,
    },
    /// Revokes an API token by its id (from `users tokens NAME`): it signs no one in any more.
    RevokeToken {
        /// The token's id.
        id: i64,
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

/// `users token NAME --output json`: the new token, the only time its secret is shown.
#[derive(Debug, Serialize)]
struct NewTokenView<'a> {
    id: i64,
    user: &'a str,
    token: &'a str,
    expires: String,
}

pub async fn run(ctx: Ctx, command: UsersCommand) -> CmdResult<i32> {
    match command {
        UsersCommand::Create {
            name,
            role,
            password_stdin,
            update,
        } => create(&ctx, &name, role, password_stdin, update).await,
        UsersCommand::Token { name, expires } => token(&ctx, &name, expires.as_deref()).await,
        UsersCommand::Tokens { name } => tokens(&ctx, &name).await,
        UsersCommand::RevokeToken { id } => revoke_token(&ctx, id).await,
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
    cambium_auth::check_new_password(password).map_err(|e| {
        CliError::usage(format!(
            "{e} (the password is the first line read from stdin by --password-stdin)"
        ))
    })?;
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
                let ended = ctx
                    .store
                    .set_user_password(name, &phc)
                    .await
                    .map_err(store_error)?;
                if ended > 0 {
                    eprintln!("signed '{name}' out of {ended} session(s) on the web UI");
                }
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

/// `--expires`, else `[web] token_ttl`, as a time from now.
fn token_expiry(ctx: &Ctx, expires: Option<&str>, now: DateTime<Utc>) -> CmdResult<DateTime<Utc>> {
    let ttl = match expires {
        Some(text) => cambium_dag::parse_duration(text)
            .map_err(|e| CliError::usage(format!("--expires: {e}")))?,
        None => ctx.config.web.token_ttl,
    };
    if ttl.is_zero() {
        return Err(CliError::usage(
            "--expires must be longer than 0s; write e.g. --expires 30d",
        ));
    }
    chrono::TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| {
            CliError::usage("--expires is too far in the future; write e.g. --expires 365d")
        })
}

async fn token(ctx: &Ctx, name: &str, expires: Option<&str>) -> CmdResult<i32> {
    let user = ctx
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| unknown_user(name))?;
    let now = Utc::now();
    let expires_at = token_expiry(ctx, expires, now)?;
    let token = new_secret();
    let id = ctx
        .store
        .create_api_token(user.id, &secret_hash(&token), now, expires_at)
        .await?;
    let expires = cambium_ui::time(expires_at);
    if ctx.json() {
        ctx.print_json(&NewTokenView {
            id,
            user: &user.name,
            token: &token,
            expires,
        })?;
    } else {
        // Alone on stdout, so `TOKEN=$(cambium users token NAME)` works.
        outln!("{token}");
        eprintln!(
            "this API token (id {id}) of '{}' is shown only now and expires {expires}; send it \
             as `Authorization: Bearer <token>`; `cambium users revoke-token {id}` revokes it",
            user.name
        );
    }
    Ok(0)
}

async fn tokens(ctx: &Ctx, name: &str) -> CmdResult<i32> {
    let user = ctx
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| unknown_user(name))?;
    let now = Utc::now();
    let views: Vec<TokenView> = ctx
        .store
        .api_tokens_of(user.id)
        .await?
        .iter()
        .map(|t| TokenView::new(t, now))
        .collect();
    if ctx.json() {
        ctx.print_json(&views)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.created.clone(),
                if t.expired {
                    format!("{} (expired)", t.expires)
                } else {
                    t.expires.clone()
                },
                t.last_used.clone().unwrap_or_else(|| "never".to_string()),
            ]
        })
        .collect();
    table::print(&["id", "created", "expires", "last_used"], &rows);
    Ok(0)
}

async fn revoke_token(ctx: &Ctx, id: i64) -> CmdResult<i32> {
    let Some(token) = ctx.store.api_token(id).await? else {
        return Err(CliError::usage(format!(
            "there is no API token {id}; `cambium users tokens NAME` lists a user's tokens"
        )));
    };
    ctx.store.delete_api_token(id).await?;
    if ctx.json() {
        ctx.print_json(&TokenView::new(&token, Utc::now()))?;
    } else {
        outln!("API token {id} of '{}' revoked", token.user);
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
