//! Report documents: encoding, presigned S3-style URLs, and the download
//! route that checks them (with the truncate fault).

use axum::body::{Body, Bytes};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hyper::{Response, StatusCode, header};
use sha2::{Digest, Sha256};

use super::query::Query;
use super::response::{Ctx, base_response, xml_error};
use super::{State, lock};
use crate::sim::amazon::render::iso;
use crate::sim::amazon::world::Region;

/// Lifetime (simulated) of presigned URLs.
pub(super) const URL_SECS: i64 = 300;

pub(super) struct Document {
    bytes: Bytes,
    content_type: &'static str,
    gzip: bool,
}

pub(super) fn encode_document(text: &str, eu: bool, gzip: bool) -> Document {
    let (bytes, content_type) = if eu {
        let (b, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        (b.into_owned(), "text/plain;charset=Cp1252")
    } else {
        (text.as_bytes().to_vec(), "text/plain;charset=UTF-8")
    };
    let bytes = if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = enc.write_all(&bytes);
        enc.finish().unwrap_or_default()
    } else {
        bytes
    };
    Document {
        bytes: Bytes::from(bytes),
        content_type,
        gzip,
    }
}

fn amz_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn signature(state: &State, doc: &str, date: &str, expires: &str, encoding: &str) -> String {
    let mut h = Sha256::new();
    h.update(encoding.as_bytes());
    h.update(state.url_secret);
    h.update(doc.as_bytes());
    h.update(b"\n");
    h.update(date.as_bytes());
    h.update(b"\n");
    h.update(expires.as_bytes());
    hex::encode(h.finalize())
}

pub(super) fn presign(
    state: &State,
    region: Region,
    doc: &str,
    issued: DateTime<Utc>,
    content_encoding: bool,
) -> String {
    let date = amz_date(issued);
    let expires = state.clock.real_seconds(URL_SECS).to_string();
    let encoding = if content_encoding { "gzip" } else { "" };
    let sig = signature(state, doc, &date, &expires, encoding);
    let extra = if content_encoding {
        "&response-content-encoding=gzip"
    } else {
        ""
    };
    let encoded: String = url::form_urlencoded::byte_serialize(doc.as_bytes()).collect();
    format!(
        "{base}/tortuga-prod-{r}/{encoded}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-SignedHeaders=host&X-Amz-Expires={expires}&X-Amz-Credential=ASIASIMULATOR%2F{day}%2Fus-east-1%2Fs3%2Faws4_request{extra}&X-Amz-Signature={sig}",
        base = state.base_url(),
        r = region.code(),
        day = &date[..8],
    )
}

impl State {
    fn base_url(&self) -> String {
        self.base.get().cloned().unwrap_or_default()
    }
}

pub(super) fn download(
    state: &State,
    ctx: &Ctx,
    doc: &str,
    q: &Query,
    truncate: bool,
) -> Response<Body> {
    let doc = url::form_urlencoded::parse(format!("d={doc}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (Some(date), Some(expires), Some(sig)) = (
        q.get("X-Amz-Date"),
        q.get("X-Amz-Expires"),
        q.get("X-Amz-Signature"),
    ) else {
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            "",
        );
    };
    let encoding = q.get("response-content-encoding").unwrap_or("");
    if signature(state, &doc, date, expires, encoding) != sig {
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "",
        );
    }
    let issued = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map(|d| d.and_utc())
        .unwrap_or(ctx.now);
    let expiry = issued + Duration::seconds(URL_SECS);
    if ctx.now > expiry {
        let extra = format!(
            "<X-Amz-Expires>{expires}</X-Amz-Expires><Expires>{}</Expires><ServerTime>{}</ServerTime>",
            iso(expiry),
            iso(ctx.now)
        );
        return xml_error(
            ctx,
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
            &extra,
        );
    }
    let document = lock(&state.inner).documents.get(&doc).cloned();
    let Some(document) = document else {
        return xml_error(
            ctx,
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            &format!("<Key>{doc}</Key>"),
        );
    };
    let len = document.bytes.len();
    let body = if truncate && len > 1 {
        let half = document.bytes.slice(..len / 2);
        // Pause before failing so the head and the first half reach the client.
        let stream = futures::stream::unfold(Some(half), |chunk| async move {
            match chunk {
                Some(c) => Some((Ok::<Bytes, std::io::Error>(c), None)),
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "simulated truncation",
                        )),
                        None,
                    ))
                }
            }
        });
        Body::from_stream(stream)
    } else {
        Body::from(document.bytes.clone())
    };
    let mut resp = base_response(ctx, StatusCode::OK, document.content_type, body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    if let Ok(v) = ctx.request_id.parse() {
        h.insert("x-amz-request-id", v);
    }
    if let Ok(v) = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(&document.bytes)[..16])
    )
    .parse()
    {
        h.insert(header::ETAG, v);
    }
    if document.gzip && encoding == "gzip" {
        h.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    resp
}
