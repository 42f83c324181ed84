//! The `email` operator: sends one message over SMTP (lettre). The server is a connection
//! like any other (`conn`, default `smtp`): `smtp://[user:password@]host[:port][?from=addr]`,
//! plain SMTP (this build has no TLS for mail; use a local relay for remote servers).

use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{json, Value};

fn recipients(call: &Call) -> Result<Vec<String>, OpError> {
    let list: Vec<String> = match call.options.get("to") {
        Some(Value::String(s)) => s.split(',').map(|a| a.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let list: Vec<String> = list.into_iter().filter(|a| !a.is_empty()).collect();
    if list.is_empty() {
        return Err(fail(
            "option 'to' names no recipient; give an address or a list of them",
        ));
    }
    Ok(list)
}

fn mailbox(text: &str, key: &str) -> Result<Mailbox, OpError> {
    text.parse().map_err(|e| {
        fail(format!(
            "option '{key}': '{text}' is not an email address ({e})"
        ))
    })
}

pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let conn = call.opt_str("conn").unwrap_or("smtp");
    let raw = rt.connection(conn, "smtp://host:port")?;
    let url =
        url::Url::parse(raw).map_err(|e| fail(format!("connection '{conn}' is not a URL: {e}")))?;
    if url.scheme() != "smtp" {
        return Err(fail(format!(
            "connection '{conn}' must be an smtp:// URL for the email operator, not {}://",
            url.scheme()
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| fail(format!("connection '{conn}' names no host")))?
        .to_string();
    let from_default = url
        .query_pairs()
        .find(|(k, _)| k == "from")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| format!("cambium@{host}"));
    let from = mailbox(call.opt_str("from").unwrap_or(&from_default), "from")?;
    let to = recipients(call)?;
    let subject = call.req_str("subject")?.to_string();
    let body = call.opt_str("body").unwrap_or("").to_string();
    let mut message = Message::builder().from(from).subject(subject.clone());
    for address in &to {
        message = message.to(mailbox(address, "to")?);
    }
    let message = message
        .body(body)
        .map_err(|e| fail(format!("cannot build the message: {e}")))?;
    let mut transport =
        SmtpTransport::builder_dangerous(host.clone()).port(url.port().unwrap_or(25));
    if !url.username().is_empty() {
        let password = url.password().unwrap_or("").to_string();
        transport = transport.credentials(Credentials::new(url.username().to_string(), password));
    }
    let transport = transport.build();
    let response = tokio::task::spawn_blocking(move || transport.send(&message))
        .await
        .map_err(|e| fail(format!("the mail sender stopped: {e}")))?
        .map_err(|e| {
            fail(format!(
                "sending mail through connection '{conn}' ({host}) failed: {e}"
            ))
        })?;
    let mut produced = Produced::default();
    produced.result.insert("to".into(), json!(to));
    produced
        .result
        .insert("subject".into(), Value::from(subject));
    produced
        .result
        .insert("response".into(), Value::from(response.code().to_string()));
    produced.message = Some(format!("sent mail to {}", to.join(", ")));
    Ok(produced)
}
