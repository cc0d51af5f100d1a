//! SigV4 shape check. Signatures are not verified (the emulator keeps no secrets for AWS keys); the credential's
//! access key id decides which account a call acts in (see `identity`), its scope's region which resources it sees,
//! and its service which awsQuery service a form post is for.

use axum::http::{header::AUTHORIZATION, HeaderMap};

/// The credential scope of a SigV4-signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) access_key_id: String,
    pub(crate) region: String,
    /// The signing name, e.g. `rds` or `redshift`.
    pub(crate) service: String,
}

/// The region of a well-formed `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`.
pub(crate) fn region(headers: &HeaderMap) -> Option<String> {
    scope(headers).map(|s| s.region)
}

/// The credential scope of a well-formed `AWS4-HMAC-SHA256` Authorization header.
pub(crate) fn scope(headers: &HeaderMap) -> Option<Scope> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let params = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let (mut signed_headers, mut signature) = (false, false);
    for param in params.split(',').map(str::trim) {
        match param.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = !v.is_empty(),
            Some(("Signature", v)) => signature = !v.is_empty(),
            _ => {}
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    match scope.as_slice() {
        [akid, date, region, service, "aws4_request"]
            if signed_headers
                && signature
                && !akid.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
                && !service.is_empty() =>
        {
            Some(Scope {
                access_key_id: (*akid).to_owned(),
                region: (*region).to_owned(),
                service: (*service).to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn takes_region_from_scope() {
        let h = with("AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/dms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef");
        assert_eq!(region(&h).as_deref(), Some("eu-west-1"));
        let h = with("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-west-2/redshift/aws4_request, SignedHeaders=host, Signature=ab");
        let expected = Scope { access_key_id: "AKID".into(), region: "us-west-2".into(), service: "redshift".into() };
        assert_eq!(scope(&h), Some(expected));
    }

    #[test]
    fn rejects_missing_or_malformed() {
        assert_eq!(region(&HeaderMap::new()), None);
        for bad in [
            "Bearer token",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/dms/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/2024/eu-west-1/dms/aws4_request, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/dms/aws4_request, SignedHeaders=host, Signature=ab",
        ] {
            assert_eq!(region(&with(bad)), None, "{bad}");
        }
    }
}
