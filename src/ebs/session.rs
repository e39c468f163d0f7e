//! Login for the ISG token (cookie), re-login after a 401, logout (reference §1.4).
//!
//! The token is an EBS (ICX) session id: it expires by idle time and absolute limit, so a 401
//! with a token means "log in again and retry once"; a 401 on login means bad credentials.

use crate::ebs::error::EbsError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

/// EBS (FND_USER) credentials.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Token (login service, cookie) or HTTP Basic on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum AuthMode {
    #[default]
    Token,
    Basic,
}

/// What a call authenticates with; `generation` tells re-logins apart.
#[derive(Clone)]
pub(crate) enum Auth {
    Cookie {
        header: SecretString,
        generation: u64,
    },
    Basic(SecretString),
}

struct Token {
    cookie_name: String,
    value: SecretString,
    generation: u64,
}

pub(crate) struct Session {
    creds: Credentials,
    mode: AuthMode,
    token: Mutex<Option<Token>>,
    generation: AtomicU64,
}

#[derive(Deserialize)]
struct LoginBody {
    response: LoginResponse,
}
#[derive(Deserialize)]
struct LoginResponse {
    data: LoginData,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginData {
    access_token_name: String,
    access_token: String,
}

impl Session {
    pub(crate) fn new(creds: Credentials, mode: AuthMode) -> Self {
        Session {
            creds,
            mode,
            token: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.creds.user
    }

    pub(crate) fn mode(&self) -> AuthMode {
        self.mode
    }

    pub(crate) fn basic_header(&self) -> SecretString {
        use base64::Engine;
        let raw = format!(
            "{}:{}",
            self.creds.user,
            self.creds.password.expose_secret()
        );
        SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }

    /// The current auth, logging in first when there is no token. `login` performs the HTTP
    /// call (through the transport, so it counts against the concurrency limit).
    pub(crate) async fn auth<F, Fut>(&self, login: F) -> Result<Auth, EbsError>
    where
        F: FnOnce(SecretString) -> Fut,
        Fut: std::future::Future<Output = Result<serde_json::Value, EbsError>>,
    {
        if self.mode == AuthMode::Basic {
            return Ok(Auth::Basic(self.basic_header()));
        }
        let mut guard = self.token.lock().await;
        if guard.is_none() {
            *guard = Some(self.do_login(login).await?);
        }
        let t = guard
            .as_ref()
            .ok_or_else(|| EbsError::Config("no token".into()))?;
        Ok(Auth::Cookie {
            header: SecretString::from(format!("{}={}", t.cookie_name, t.value.expose_secret())),
            generation: t.generation,
        })
    }

    /// Drops the token a 401 was answered with (only if no one re-logged in since).
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut guard = self.token.lock().await;
        if guard.as_ref().is_some_and(|t| t.generation == generation) {
            *guard = None;
        }
    }

    /// Takes the token out for logout.
    pub(crate) async fn take_cookie(&self) -> Option<SecretString> {
        let mut guard = self.token.lock().await;
        guard
            .take()
            .map(|t| SecretString::from(format!("{}={}", t.cookie_name, t.value.expose_secret())))
    }

    async fn do_login<F, Fut>(&self, login: F) -> Result<Token, EbsError>
    where
        F: FnOnce(SecretString) -> Fut,
        Fut: std::future::Future<Output = Result<serde_json::Value, EbsError>>,
    {
        let body = match login(self.basic_header()).await {
            Ok(b) => b,
            Err(EbsError::Fault { fault, .. }) if fault.status == 401 => {
                return Err(EbsError::BadCredentials {
                    user: self.creds.user.clone(),
                    status: 401,
                    code: fault.code,
                });
            }
            Err(EbsError::Http { status: 401, .. }) => {
                return Err(EbsError::BadCredentials {
                    user: self.creds.user.clone(),
                    status: 401,
                    code: "FND_SOA_AUTHENTICATION_FAILURE".into(),
                });
            }
            Err(e) => return Err(e),
        };
        let parsed: LoginBody = serde_json::from_value(body).map_err(|e| EbsError::Decode {
            path: "login".into(),
            detail: format!("login answer without response.data.accessToken: {e}"),
        })?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Token {
            cookie_name: parsed.response.data.access_token_name,
            value: SecretString::from(parsed.response.data.access_token),
            generation,
        })
    }
}
