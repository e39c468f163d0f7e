//! Application context per module, sent as `RESTHeader` in the body (reference §1.5/1.6) or
//! as `ctx_*` query parameters on GET/DELETE.
//!
//! GL runs under a GL responsibility (application `SQLGL`) with a data access set and a
//! ledger; AR (`AR`) and AP (`SQLAP`) under their responsibility and an operating unit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Which EBS module a call belongs to; picks the context and the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Gl,
    Ar,
    Ap,
}

/// The `RESTHeader` elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestHeader {
    pub responsibility: String,
    pub resp_application: String,
    pub security_group: String,
    pub nls_language: String,
    /// Operating unit; `None` for GL (GL_INTERFACE is not org-striped).
    pub org_id: Option<String>,
}

impl RestHeader {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("Responsibility".into(), json!(self.responsibility));
        m.insert("RespApplication".into(), json!(self.resp_application));
        m.insert("SecurityGroup".into(), json!(self.security_group));
        m.insert("NLSLanguage".into(), json!(self.nls_language));
        if let Some(org) = &self.org_id {
            m.insert("Org_Id".into(), json!(org));
        }
        Value::Object(m)
    }

    /// `ctx_*` query parameters for GET / DELETE.
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut q = vec![
            (
                "ctx_responsibility".to_string(),
                self.responsibility.clone(),
            ),
            (
                "ctx_respapplication".to_string(),
                self.resp_application.clone(),
            ),
            ("ctx_securitygroup".to_string(), self.security_group.clone()),
            ("ctx_nlslanguage".to_string(), self.nls_language.clone()),
        ];
        if let Some(org) = &self.org_id {
            q.push(("ctx_orgid".to_string(), org.clone()));
        }
        q
    }
}

/// GL context: responsibility + data access set + ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlContext {
    pub header: RestHeader,
    pub access_set_id: String,
    pub ledger_id: String,
}

/// AR / AP context: responsibility + operating unit (in the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuContext {
    pub header: RestHeader,
}

impl OuContext {
    pub fn org_id(&self) -> &str {
        self.header.org_id.as_deref().unwrap_or("")
    }
}

/// All contexts of one customer instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contexts {
    pub gl: GlContext,
    pub ar: Option<OuContext>,
    pub ap: Option<OuContext>,
}

impl Contexts {
    /// Vision-style defaults: GENERAL_LEDGER_SUPER_USER / RECEIVABLES_MANAGER / PAYABLES_MANAGER.
    pub fn vision(access_set_id: &str, ledger_id: &str, org_id: &str) -> Self {
        let h = |resp: &str, app: &str, org: Option<&str>| RestHeader {
            responsibility: resp.into(),
            resp_application: app.into(),
            security_group: "STANDARD".into(),
            nls_language: "AMERICAN".into(),
            org_id: org.map(str::to_string),
        };
        Contexts {
            gl: GlContext {
                header: h("GENERAL_LEDGER_SUPER_USER", "SQLGL", None),
                access_set_id: access_set_id.into(),
                ledger_id: ledger_id.into(),
            },
            ar: Some(OuContext {
                header: h("RECEIVABLES_MANAGER", "AR", Some(org_id)),
            }),
            ap: Some(OuContext {
                header: h("PAYABLES_MANAGER", "SQLAP", Some(org_id)),
            }),
        }
    }

    pub fn header(&self, module: Module) -> Option<&RestHeader> {
        match module {
            Module::Gl => Some(&self.gl.header),
            Module::Ar => self.ar.as_ref().map(|c| &c.header),
            Module::Ap => self.ap.as_ref().map(|c| &c.header),
        }
    }
}

/// Alias names as deployed by the customer's administrator (configuration, never facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aliases {
    pub gl: String,
    pub ar: String,
    pub ap: String,
    /// The custom PL/SQL package (hand-off, journals, accounts, periods, request status).
    pub custom: String,
}

impl Default for Aliases {
    fn default() -> Self {
        Aliases {
            gl: "gljournal".into(),
            ar: "autoinvoice".into(),
            ap: "apinvoice".into(),
            custom: "xxmlc".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gl_header_has_no_org_and_ar_has_one() {
        let c = Contexts::vision("1000", "1", "204");
        let gl = c.gl.header.to_json();
        assert_eq!(gl["RespApplication"], "SQLGL");
        assert!(gl.get("Org_Id").is_none());
        let ar = c.header(Module::Ar).expect("ar").to_json();
        assert_eq!(ar["Org_Id"], "204");
        assert_eq!(ar["RespApplication"], "AR");
        let ap = c.header(Module::Ap).expect("ap").to_query();
        assert!(ap.contains(&("ctx_respapplication".into(), "SQLAP".into())));
        assert!(ap.contains(&("ctx_orgid".into(), "204".into())));
    }
}
