//! What the awsQuery services (RDS, Redshift and STS) share: form parameters (required ones, lists of filters or
//! tags, maps), paging parameters, the common errors, and the XML envelope of answers and errors.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header::CONTENT_TYPE, StatusCode};
use axum::response::Response;

use crate::error::ApiError;
use crate::faults::Fault;
use crate::paging;
use crate::xml::escape;

/// The form's parameters (a repeated name keeps its last value).
pub(crate) fn params(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The common `InvalidParameterValue` error.
pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterValue", message)
}

/// The common `MissingParameter` error.
pub(crate) fn missing(name: &str) -> ApiError {
    ApiError::bad_request("MissingParameter", format!("The request must contain the parameter {name}"))
}

/// The common `InvalidParameterCombination` error: parameters that must not be used together, or one without another.
pub(crate) fn combination(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterCombination", message)
}

/// The `Action` parameter, checked against the actions a service serves.
pub(crate) fn action(params: &BTreeMap<String, String>, served: &[&str]) -> (String, Result<(), ApiError>) {
    let action = params.get("Action").cloned().unwrap_or_default();
    let checked = if action.is_empty() {
        Err(ApiError::bad_request("MissingAction", "The request must contain the parameter Action"))
    } else if served.contains(&action.as_str()) {
        Ok(())
    } else {
        Err(ApiError::bad_request("InvalidAction", format!("The action {action} is not valid for this web service.")))
    };
    (action, checked)
}

/// `MaxRecords` as a page size and `Marker` as the sequence number to resume after.
pub(crate) fn paging(params: &BTreeMap<String, String>) -> Result<(usize, Option<u64>), ApiError> {
    let max_records = params
        .get("MaxRecords")
        .map(|v| v.parse::<i64>().map_err(|_| invalid(format!("Invalid value for MaxRecords: {v}"))))
        .transpose()?;
    let size = paging::page_size(max_records).map_err(invalid)?;
    let after = match params.get("Marker") {
        None => None,
        Some(m) => Some(paging::decode_marker(m).ok_or_else(|| invalid("Invalid marker"))?),
    };
    Ok((size, after))
}

/// One filter of a list: its name and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
}

/// The filters `<list>.N.Name` and `<list>.N.Values.Value.M`, in N order, e.g. with `list` = `Filters.Filter`.
pub(crate) fn filters(params: &BTreeMap<String, String>, list: &str) -> Result<Vec<Filter>, ApiError> {
    let prefix = format!("{list}.");
    let mut by_index: BTreeMap<u32, (Option<&str>, BTreeMap<u32, &str>)> = BTreeMap::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let parsed = rest.split_once('.').and_then(|(n, field)| {
            let n: u32 = n.parse().ok()?;
            match field {
                "Name" => Some((n, None)),
                _ => Some((n, Some(field.strip_prefix("Values.Value.")?.parse().ok()?))),
            }
        });
        let (n, value_index) = parsed.ok_or_else(|| invalid(format!("Invalid parameter {key}")))?;
        let entry = by_index.entry(n).or_default();
        match value_index {
            None => entry.0 = Some(value),
            Some(m) => {
                entry.1.insert(m, value);
            }
        }
    }
    by_index
        .into_values()
        .map(|(name, values)| match name {
            Some(name) => {
                Ok(Filter { name: name.to_owned(), values: values.into_values().map(str::to_owned).collect() })
            }
            None => Err(invalid("Every filter needs a Name")),
        })
        .collect()
}

/// A required parameter: given and not empty, or MissingParameter.
pub(crate) fn required(params: &BTreeMap<String, String>, name: &str) -> Result<String, ApiError> {
    match params.get(name) {
        Some(value) if !value.is_empty() => Ok(value.clone()),
        _ => Err(missing(name)),
    }
}

/// The members of each element of the list or map `prefix` (`<prefix>.N.<member>`), by N; a parameter
/// `<prefix>.N` alone, or one whose N is not a number, is invalid. A parameter named just `prefix`, as botocore
/// sends an empty list, is no element.
fn elements<'a>(
    params: &'a BTreeMap<String, String>,
    prefix: &str,
) -> Result<BTreeMap<u32, BTreeMap<&'a str, &'a str>>, ApiError> {
    let dotted = format!("{prefix}.");
    let mut by_index: BTreeMap<u32, BTreeMap<&str, &str>> = BTreeMap::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix(&dotted) else {
            continue;
        };
        let (n, member) = rest
            .split_once('.')
            .and_then(|(n, member)| Some((n.parse::<u32>().ok()?, member)))
            .ok_or_else(|| invalid(format!("Invalid parameter {key}")))?;
        by_index.entry(n).or_default().insert(member, value);
    }
    Ok(by_index)
}

/// A list of tags, `<list>.N.Key` and `<list>.N.Value` (e.g. `list` = `Tags.Tag`), as a map: a tag without a Value
/// has the empty one. A tag without a Key, a member other than these, or a key given twice is InvalidParameterValue
/// (assumed: the models document no error for them).
pub(crate) fn tags(params: &BTreeMap<String, String>, list: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut tags = BTreeMap::new();
    for (n, members) in elements(params, list)? {
        if let Some(other) = members.keys().find(|m| !matches!(**m, "Key" | "Value")) {
            return Err(invalid(format!("Invalid parameter {list}.{n}.{other}")));
        }
        let key = members.get("Key").ok_or_else(|| invalid(format!("Tag {n} of {list} has no Key")))?;
        let value = members.get("Value").copied().unwrap_or_default();
        if tags.insert((*key).to_owned(), value.to_owned()).is_some() {
            return Err(invalid(format!("Duplicate tag key: {key}")));
        }
    }
    Ok(tags)
}

/// A map as awsQuery sends one (not flattened): `<name>.entry.N.key` and `<name>.entry.N.value`. An entry without
/// both, a member other than these, or a key given twice is InvalidParameterValue.
pub(crate) fn map(params: &BTreeMap<String, String>, name: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let list = format!("{name}.entry");
    let mut map = BTreeMap::new();
    for (n, members) in elements(params, &list)? {
        if let Some(other) = members.keys().find(|m| !matches!(**m, "key" | "value")) {
            return Err(invalid(format!("Invalid parameter {list}.{n}.{other}")));
        }
        let (Some(key), Some(value)) = (members.get("key"), members.get("value")) else {
            return Err(invalid(format!("Entry {n} of {name} needs a key and a value")));
        };
        if map.insert((*key).to_owned(), (*value).to_owned()).is_some() {
            return Err(invalid(format!("Duplicate key in {name}: {key}")));
        }
    }
    Ok(map)
}

/// The common errors for an injected fault.
pub(crate) fn fault(fault: Fault) -> ApiError {
    match fault {
        Fault::Throttle => ApiError::bad_request("Throttling", "Rate exceeded"),
        Fault::Unavailable => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "Service is temporarily unavailable")
        }
        Fault::Denied => ApiError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "User is not authorized to perform this action because no identity-based policy allows it",
        ),
    }
}

/// The XML answer: `<{operation}Response>` around `<{operation}Result>` and the request id, or an `ErrorResponse`.
pub(crate) fn respond(
    namespace: &str,
    operation: &str,
    result: Result<String, ApiError>,
    request_id: &str,
) -> Response {
    let (status, body) = match result {
        Ok(inner) => (
            StatusCode::OK,
            format!(
                "<{operation}Response xmlns=\"{namespace}\">\n  <{operation}Result>{inner}</{operation}Result>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</{operation}Response>\n"
            ),
        ),
        Err(e) => {
            let kind = if e.status.is_server_error() { "Receiver" } else { "Sender" };
            (
                e.status,
                format!(
                    "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
                    escape(e.code),
                    escape(&e.message)
                ),
            )
        }
    };
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/xml")
        .header("x-amzn-requestid", request_id)
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> BTreeMap<String, String> {
        params(body.as_bytes())
    }

    #[test]
    fn filters_are_read_in_order_with_their_values() {
        let p = form(
            "Filters.F.2.Name=b&Filters.F.2.Values.Value.1=y&Filters.F.1.Name=a&Filters.F.1.Values.Value.2=x2\
             &Filters.F.1.Values.Value.1=x1&Other.1.Name=c",
        );
        let got = filters(&p, "Filters.F").unwrap();
        assert_eq!(
            got,
            [
                Filter { name: "a".into(), values: vec!["x1".into(), "x2".into()] },
                Filter { name: "b".into(), values: vec!["y".into()] },
            ]
        );
        for bad in ["Filters.F.1.Values.Value.1=x", "Filters.F.x.Name=a", "Filters.F.1.Value.1=x"] {
            assert_eq!(filters(&form(bad), "Filters.F").unwrap_err().code, "InvalidParameterValue", "{bad}");
        }
    }

    #[test]
    fn tags_are_read_as_botocore_sends_them() {
        let got = tags(&form("Tags.Tag.2.Key=b&Tags.Tag.1.Key=a&Tags.Tag.1.Value=x%26y&Other.1.Key=c"), "Tags.Tag");
        assert_eq!(got, Ok([("a".to_owned(), "x&y".to_owned()), ("b".to_owned(), String::new())].into()));
        assert_eq!(tags(&form("Tags="), "Tags.Tag"), Ok(BTreeMap::new()), "an empty list");
        assert_eq!(tags(&form(""), "Tags.Tag"), Ok(BTreeMap::new()));
        for bad in ["Tags.Tag.1.Value=x", "Tags.Tag.x.Key=a", "Tags.Tag.1=a", "Tags.Tag.1.Key=a&Tags.Tag.1.Name=b"] {
            assert_eq!(tags(&form(bad), "Tags.Tag").unwrap_err().code, "InvalidParameterValue", "{bad}");
        }
        let twice = tags(&form("Tags.Tag.1.Key=a&Tags.Tag.2.Key=a"), "Tags.Tag").unwrap_err();
        assert_eq!(twice.message, "Duplicate tag key: a");
    }

    #[test]
    fn maps_are_read_as_entries() {
        let p = form("C.entry.2.key=b&C.entry.2.value=2&C.entry.1.key=a&C.entry.1.value=1&C=");
        assert_eq!(map(&p, "C"), Ok([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())].into()));
        assert_eq!(map(&form("D.entry.1.key=a"), "C"), Ok(BTreeMap::new()));
        for bad in ["C.entry.1.key=a", "C.entry.1.value=1", "C.entry.1.key=a&C.entry.1.value=1&C.entry.1.x=2"] {
            assert_eq!(map(&form(bad), "C").unwrap_err().code, "InvalidParameterValue", "{bad}");
        }
    }

    #[test]
    fn required_parameters_are_given_and_not_empty() {
        assert_eq!(required(&form("A=x"), "A"), Ok("x".to_owned()));
        for bad in ["A=", "B=x"] {
            assert_eq!(required(&form(bad), "A").unwrap_err().code, "MissingParameter", "{bad}");
        }
    }

    #[test]
    fn actions_are_checked() {
        let served = ["DescribeIntegrations"];
        assert_eq!(action(&form("Action=DescribeIntegrations"), &served).1, Ok(()));
        assert_eq!(action(&form("Action=ModifyIntegration"), &served).1.unwrap_err().code, "InvalidAction");
        assert_eq!(action(&form("Version=1"), &served).1.unwrap_err().code, "MissingAction");
    }
}
