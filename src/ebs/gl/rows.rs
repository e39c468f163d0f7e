//! GL_INTERFACE rows of a batch: the exact columns Journal Import reads, references
//! included.

use crate::ebs::EbsClient;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::GlBatch;

fn amount(d: Option<Decimal>) -> Value {
    match d {
        Some(v) => Value::String(v.normalize().to_string()),
        None => Value::Null,
    }
}
impl EbsClient {
    /// GL_INTERFACE rows of a batch for a group.
    pub fn gl_rows(&self, batch: &GlBatch, group_id: &str) -> Vec<Value> {
        // DATE_CREATED: today in the ledger's time zone, like every other date of a batch.
        let today = self.today();
        batch
            .lines
            .iter()
            .map(|l| {
                let mut r = Map::new();
                let mut put = |k: &str, v: Value| {
                    if !v.is_null() {
                        r.insert(k.to_string(), v);
                    }
                };
                put("STATUS", json!("NEW"));
                put("LEDGER_ID", json!(batch.ledger_id));
                put("ACCOUNTING_DATE", json!(batch.accounting_date.to_string()));
                put("PERIOD_NAME", json!(batch.period_name));
                put("CURRENCY_CODE", json!(batch.currency));
                put("DATE_CREATED", json!(today.to_string()));
                put("CREATED_BY", json!(self.cfg.created_by));
                put("ACTUAL_FLAG", json!("A"));
                put("USER_JE_SOURCE_NAME", json!(batch.je_source));
                put("USER_JE_CATEGORY_NAME", json!(batch.je_category));
                put("GROUP_ID", json!(group_id));
                for (i, seg) in l.account.split(self.cfg.segment_delimiter).enumerate() {
                    put(&format!("SEGMENT{}", i + 1), json!(seg));
                }
                put("ENTERED_DR", amount(l.entered_dr));
                put("ENTERED_CR", amount(l.entered_cr));
                if let Some(c) = &batch.conversion {
                    put("ACCOUNTED_DR", amount(l.accounted_dr));
                    put("ACCOUNTED_CR", amount(l.accounted_cr));
                    put("USER_CURRENCY_CONVERSION_TYPE", json!(c.conversion_type));
                    put("CURRENCY_CONVERSION_DATE", json!(c.date.to_string()));
                    if c.user_rate {
                        put(
                            "CURRENCY_CONVERSION_RATE",
                            json!(c.rate.normalize().to_string()),
                        );
                    }
                }
                put("REFERENCE1", json!(batch.batch_name));
                put("REFERENCE2", json!(batch.batch_description));
                put("REFERENCE4", json!(batch.journal_name));
                put("REFERENCE5", json!(batch.journal_description));
                put("REFERENCE6", json!(format!("AMZ-{}", batch.settlement_id)));
                put("REFERENCE10", json!(l.description));
                put("REFERENCE21", json!(batch.settlement_id));
                put("REFERENCE22", json!(batch.key_period()));
                put("REFERENCE23", json!(l.line_key));
                put("REFERENCE24", json!(batch.revision.to_string()));
                if let Some(p) = &batch.original_period {
                    put("REFERENCE25", json!(p));
                }
                Value::Object(r)
            })
            .collect()
    }
}
