//! Sending the digest to its targets: Slack, Microsoft Teams and generic webhooks over
//! HTTP(S), email over SMTP with STARTTLS. Each target is sent independently (one
//! task each): a failure is retried with exponential backoff on what a retry can fix
//! (no connection, a timeout, `429`, `5xx`), up to the policy's attempts, then
//! reported with the target's name and the error, never its URL, which is a secret
//! (reqwest's errors are stripped of it). Nothing here touches the database, so a
//! send that hangs or fails holds up no ingest.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::Value;
use shiplog_queries::digest::Digest;

use super::config::{
    DigestConfig, Endpoint, RetryPolicy, SMTP_PASSWORD_ENV, SmtpConfig, Target, TargetKind, expose,
};
use super::render::{Links, html, json_payload, slack_payload, teams_payload, text};

/// How a target's send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub target: String,
    pub attempts: u32,
    /// The last error, when every attempt failed.
    pub error: Option<String>,
}

impl Delivery {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// One failed attempt: what went wrong, and whether trying again can help.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    retry: bool,
}

/// What one target is sent: the payload made for its kind.
#[derive(Debug, Clone)]
pub enum Payload {
    Json(Value),
    Email {
        subject: String,
        text: String,
        html: String,
    },
}

/// The payload of `target` for `digest`.
pub fn payload(target: &Target, digest: &Digest, links: &Links) -> Payload {
    match &target.kind {
        TargetKind::Slack { .. } => Payload::Json(slack_payload(digest, links)),
        TargetKind::Teams { .. } => Payload::Json(teams_payload(digest, links)),
        TargetKind::Webhook { .. } => Payload::Json(json_payload(digest, links)),
        TargetKind::Email { .. } => Payload::Email {
            subject: subject(digest, target.team.as_deref()),
            text: text(digest, links),
            html: html(digest, links),
        },
    }
}

/// The email's subject: the period, and the team for a team's target.
pub fn subject(digest: &Digest, team: Option<&str>) -> String {
    let last = digest.period.to() - chrono::Days::new(1);
    let period = format!("{} to {last}", digest.period.from());
    match team {
        Some(team) => format!(
            "Shiplog digest for team {}: {period}",
            team.chars().filter(|c| !c.is_control()).collect::<String>()
        ),
        None => format!("Shiplog digest: {period}"),
    }
}

/// Sends `digest` to `target`, retrying as `policy` says; logs each retry and the
/// final failure, naming the target.
pub async fn deliver(
    client: &reqwest::Client,
    config: &DigestConfig,
    target: &Target,
    digest: &Digest,
    links: &Links,
) -> Delivery {
    let payload = payload(target, digest, links);
    deliver_payload(client, config.smtp.as_ref(), config.retry, target, &payload).await
}

async fn deliver_payload(
    client: &reqwest::Client,
    smtp: Option<&SmtpConfig>,
    policy: RetryPolicy,
    target: &Target,
    payload: &Payload,
) -> Delivery {
    let mut attempt = 1;
    loop {
        let result = match (&target.kind, payload) {
            (
                TargetKind::Slack { url } | TargetKind::Teams { url } | TargetKind::Webhook { url },
                Payload::Json(body),
            ) => post(client, url, body).await,
            (
                TargetKind::Email { to },
                Payload::Email {
                    subject,
                    text,
                    html,
                },
            ) => match smtp {
                Some(smtp) => mail(smtp, to, subject, text, html).await,
                None => Err(Failure {
                    message: "no [digest.smtp] is configured".into(),
                    retry: false,
                }),
            },
            _ => unreachable!("a payload is made for its target's kind"),
        };
        match result {
            Ok(()) => {
                tracing::info!(target_name = %target.name, attempts = attempt, "digest delivered");
                return Delivery {
                    target: target.name.clone(),
                    attempts: attempt,
                    error: None,
                };
            }
            Err(failure) if failure.retry && attempt < policy.attempts => {
                let wait = policy.delay_before(attempt + 1);
                tracing::warn!(
                    target_name = %target.name,
                    attempt,
                    error = %failure.message,
                    retry_in_ms = wait.as_millis() as u64,
                    "digest send failed; retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(failure) => {
                tracing::error!(
                    target_name = %target.name,
                    attempts = attempt,
                    error = %failure.message,
                    "digest not delivered"
                );
                return Delivery {
                    target: target.name.clone(),
                    attempts: attempt,
                    error: Some(failure.message),
                };
            }
        }
    }
}

/// The client webhooks are posted with: bounded in time, no redirects (a webhook
/// that redirects is misconfigured, and a redirect could carry the payload
/// elsewhere).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with a timeout builds")
}

async fn post(client: &reqwest::Client, url: &Endpoint, body: &Value) -> Result<(), Failure> {
    let url = match url {
        Endpoint::Url(url) => url,
        Endpoint::Missing(why) => {
            return Err(Failure {
                message: why.clone(),
                retry: false,
            });
        }
    };
    let response = client
        .post(expose(url))
        .json(body)
        .send()
        .await
        .map_err(|e| Failure {
            message: format!("cannot send: {}", e.without_url()),
            retry: true,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let answer: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    Err(Failure {
        message: format!("answered {status}: {answer}"),
        retry: status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS,
    })
}

fn tls_failure(e: impl std::fmt::Display) -> Failure {
    Failure {
        message: format!("TLS setup: {e}"),
        retry: false,
    }
}

async fn mail(
    smtp: &SmtpConfig,
    to: &[Mailbox],
    subject: &str,
    text: &str,
    html: &str,
) -> Result<(), Failure> {
    let mut message = Message::builder()
        .from(smtp.from.clone())
        .subject(subject)
        .header(header::MIME_VERSION_1_0)
        .date_now();
    for mailbox in to {
        message = message.to(mailbox.clone());
    }
    let message = message
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            html.to_owned(),
        ))
        .map_err(|e| Failure {
            message: format!("cannot build the email: {e}"),
            retry: false,
        })?;
    // The system's roots, plus the configured CA; certificate and host name are always
    // checked (there is deliberately no switch to turn either off).
    let mut tls = TlsParameters::builder(smtp.host.clone());
    if let Some(pem) = &smtp.ca_pem {
        tls = tls.add_root_certificate(Certificate::from_pem(pem).map_err(tls_failure)?);
    }
    let tls = tls.build_rustls().map_err(tls_failure)?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .tls(Tls::Required(tls))
        .timeout(Some(smtp.timeout));
    if smtp.username.is_some() && smtp.password.is_none() {
        return Err(Failure {
            message: format!(
                "digest.smtp.username is set but no password: set {SMTP_PASSWORD_ENV} (or digest.smtp.password)"
            ),
            retry: false,
        });
    }
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        transport = transport
            .credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    let transport: AsyncSmtpTransport<Tokio1Executor> = transport.build();
    // The whole exchange is bounded too: lettre's timeout is per command.
    let sent = tokio::time::timeout(smtp.timeout * 4, transport.send(message))
        .await
        .map_err(|_| Failure {
            message: format!("{}:{} did not finish in time", smtp.host, smtp.port),
            retry: true,
        })?;
    sent.map(|_| ()).map_err(|e| Failure {
        retry: e.is_transient() || e.is_timeout() || !(e.is_permanent() || e.is_tls()),
        message: format!("{}:{}: {e}", smtp.host, smtp.port),
    })
}

/// Sends each target its team's digest (`digest_for(team)`), every target in its own
/// task so that one slow or failing target holds up no other; the results in target
/// order.
pub async fn deliver_all(
    config: Arc<DigestConfig>,
    targets: Vec<Target>,
    digests: Vec<Arc<Digest>>,
) -> Vec<Delivery> {
    let client = http_client();
    let links = Arc::new(Links::new(config.dashboard_url.as_deref()));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (target, digest)) in targets.into_iter().zip(digests).enumerate() {
        let (client, config, links) = (client.clone(), config.clone(), links.clone());
        tasks.spawn(async move {
            let delivery = deliver(&client, &config, &target, &digest, &links).await;
            (i, delivery)
        });
    }
    let mut out: Vec<(usize, Delivery)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => out.push(done),
            Err(e) => tracing::error!(error = %e, "a digest send task failed"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}
