//! Member accounts over real TCP: STS hands out credentials, calls signed with them act in the member's fleet, and
//! Organizations lists the accounts.

use std::net::SocketAddr;

use common::{http, Reply};
use emulator::{
    Connection, Emulator, Fleet, Integration, OrgAccount, Organization, StsPolicy, GENERATED_MEMBER_OU,
    MANAGEMENT_ACCOUNT,
};

mod common;

const MEMBER: &str = "210987654321";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");

/// Credentials as a caller holds them.
struct Credentials {
    key: String,
    token: Option<String>,
}

impl Credentials {
    fn management() -> Credentials {
        Credentials { key: "AKIDEXAMPLE".to_owned(), token: None }
    }

    fn authorization(&self, service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff",
            self.key
        )
    }
}

async fn query(addr: SocketAddr, who: &Credentials, service: &str, body: &str) -> Reply {
    let auth = who.authorization(service);
    let mut headers = vec![FORM, ("Authorization", auth.as_str())];
    headers.extend(who.token.as_deref().map(|t| ("X-Amz-Security-Token", t)));
    http(addr, "POST", "/", &headers, body).await
}

async fn json(addr: SocketAddr, who: &Credentials, service: &str, target: &str, body: &str) -> Reply {
    let auth = who.authorization(service);
    let mut headers = vec![
        ("X-Amz-Target", target),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Authorization", auth.as_str()),
    ];
    headers.extend(who.token.as_deref().map(|t| ("X-Amz-Security-Token", t)));
    http(addr, "POST", "/", &headers, body).await
}

async fn describe_connections(addr: SocketAddr, who: &Credentials) -> Reply {
    json(addr, who, "dms", "AmazonDMSv20160101.DescribeConnections", "{}").await
}

/// The text of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).map(|i| i + open.len()).unwrap_or_else(|| panic!("no {name} in {xml}"));
    &xml[start..start + xml[start..].find('<').unwrap()]
}

fn endpoint_arns(reply: &Reply) -> Vec<String> {
    let json = reply.json();
    let connections = json["Connections"].as_array().unwrap_or_else(|| panic!("{}", reply.body));
    connections.iter().map(|c| c["EndpointArn"].as_str().unwrap().to_owned()).collect()
}

fn connection(account: &str, name: &str) -> Connection {
    Connection::new(
        "us-east-1",
        &format!("arn:aws:dms:us-east-1:{account}:endpoint:{name}"),
        &format!("arn:aws:dms:us-east-1:{account}:rep:RI"),
    )
}

fn organization_fleet() -> Fleet {
    let member = Fleet { connections: vec![connection(MEMBER, "MEMBEREP")], ..Fleet::default() };
    let accounts = vec![
        OrgAccount::new(MANAGEMENT_ACCOUNT, "management", "r-root"),
        OrgAccount::new(MEMBER, "member", GENERATED_MEMBER_OU),
    ];
    Fleet {
        connections: vec![connection(MANAGEMENT_ACCOUNT, "MGMTEP")],
        member_accounts: [(MEMBER.to_owned(), member)].into(),
        sts: StsPolicy { member_role: Some("Janitor".to_owned()), ..StsPolicy::default() },
        organization: Some(Organization { id: "o-abcdefghij".to_owned(), root_id: "r-root".to_owned(), accounts }),
        ..Fleet::default()
    }
}

async fn list_accounts(addr: SocketAddr, who: &Credentials, body: &str) -> Reply {
    json(addr, who, "organizations", "AWSOrganizationsV20161128.ListAccounts", body).await
}

async fn assume(addr: SocketAddr, account: &str) -> Reply {
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::{account}:role/Janitor&RoleSessionName=sweep"
    );
    query(addr, &Credentials::management(), "sts", &body).await
}

#[tokio::test]
async fn assumed_credentials_act_in_the_member_accounts_fleet_only() {
    let emu = Emulator::start(organization_fleet()).await.unwrap();
    let addr = emu.addr();
    let assumed = assume(addr, MEMBER).await;
    assert_eq!(assumed.status, 200, "{}", assumed.body);
    assert!(assumed.body.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    let member = Credentials {
        key: element(&assumed.body, "AccessKeyId").to_owned(),
        token: Some(element(&assumed.body, "SessionToken").to_owned()),
    };

    let mine = describe_connections(addr, &member).await;
    assert_eq!(endpoint_arns(&mine), [format!("arn:aws:dms:us-east-1:{MEMBER}:endpoint:MEMBEREP")]);
    let management = describe_connections(addr, &Credentials::management()).await;
    assert_eq!(endpoint_arns(&management), [format!("arn:aws:dms:us-east-1:{MANAGEMENT_ACCOUNT}:endpoint:MGMTEP")]);
    let identity = query(addr, &member, "sts", "Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(element(&identity.body, "Account"), MEMBER);

    let delete = format!(
        r#"{{"EndpointArn":"arn:aws:dms:us-east-1:{MEMBER}:endpoint:MEMBEREP","ReplicationInstanceArn":"arn:aws:dms:us-east-1:{MEMBER}:rep:RI"}}"#
    );
    let deleted = json(addr, &member, "dms", "AmazonDMSv20160101.DeleteConnection", &delete).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let fleet = emu.fleet();
    assert!(fleet.member_accounts[MEMBER].connections.is_empty(), "the member's connection is gone");
    assert_eq!(fleet.connections.len(), 1, "the management account's stays");

    let tokenless = Credentials { key: member.key.clone(), token: None };
    let refused = describe_connections(addr, &tokenless).await;
    assert_eq!((refused.status, refused.json()["__type"].as_str()), (403, Some("UnrecognizedClientException")));
    let forged = Credentials { key: member.key.clone(), token: Some("forged".to_owned()) };
    let refused = query(addr, &forged, "rds", "Action=DescribeIntegrations&Version=2014-10-31").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("<Code>InvalidClientTokenId</Code>"), "{}", refused.body);

    let calls = emu.calls();
    let accounts: Vec<(&str, &str)> = calls.iter().map(|c| (c.operation.as_str(), c.account.as_str())).collect();
    assert_eq!(
        accounts,
        [
            ("AssumeRole", MANAGEMENT_ACCOUNT),
            ("DescribeConnections", MEMBER),
            ("DescribeConnections", MANAGEMENT_ACCOUNT),
            ("GetCallerIdentity", MEMBER),
            ("DeleteConnection", MEMBER),
            ("DescribeConnections", ""),
            ("DescribeIntegrations", ""),
        ]
    );
    assert_eq!(calls[0].target.as_deref(), Some("arn:aws:iam::210987654321:role/Janitor"));
}

#[tokio::test]
async fn glue_calls_act_in_the_account_of_their_credentials() {
    let mut fleet = organization_fleet();
    fleet.glue_integrations = vec![Integration::glue("us-east-1", 1)];
    fleet = Fleet { member_accounts: [(MEMBER.to_owned(), fleet.in_account(MEMBER))].into(), ..fleet };
    let emu = Emulator::start(fleet).await.unwrap();
    let addr = emu.addr();
    let assumed = assume(addr, MEMBER).await;
    let member = Credentials {
        key: element(&assumed.body, "AccessKeyId").to_owned(),
        token: Some(element(&assumed.body, "SessionToken").to_owned()),
    };
    let member_arn = Integration::glue_arn("us-east-1", 1).replace(MANAGEMENT_ACCOUNT, MEMBER);
    let listed = json(addr, &member, "glue", "AWSGlue.DescribeIntegrations", "{}").await;
    assert_eq!(listed.json()["Integrations"][0]["IntegrationArn"], member_arn.as_str(), "{}", listed.body);
    let body = format!(r#"{{"IntegrationIdentifier":"{member_arn}"}}"#);
    let deleted = json(addr, &member, "glue", "AWSGlue.DeleteIntegration", &body).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let fleet = emu.fleet();
    assert!(fleet.member_accounts[MEMBER].glue_integrations.is_empty(), "the member's integration is gone");
    assert_eq!(fleet.glue_integrations.len(), 1, "the management account's stays");
    emu.expire_sessions();
    let expired = json(addr, &member, "glue", "AWSGlue.DescribeIntegrations", "{}").await;
    assert_eq!((expired.status, expired.json()["__type"].as_str()), (403, Some("ExpiredTokenException")));
    let calls: Vec<_> = emu.calls().into_iter().filter(|c| c.service == "glue").collect();
    let seen: Vec<_> = calls.iter().map(|c| (c.operation.as_str(), c.account.as_str())).collect();
    assert_eq!(seen, [("DescribeIntegrations", MEMBER), ("DeleteIntegration", MEMBER), ("DescribeIntegrations", "")]);
    assert_eq!(calls[1].target.as_deref(), Some(member_arn.as_str()));
}

#[tokio::test]
async fn expired_credentials_are_refused_until_the_role_is_assumed_again() {
    let emu = Emulator::start(organization_fleet()).await.unwrap();
    let addr = emu.addr();
    let assumed = assume(addr, MEMBER).await;
    let member = Credentials {
        key: element(&assumed.body, "AccessKeyId").to_owned(),
        token: Some(element(&assumed.body, "SessionToken").to_owned()),
    };
    assert_eq!(describe_connections(addr, &member).await.status, 200);
    emu.expire_sessions();
    let expired = describe_connections(addr, &member).await;
    assert_eq!((expired.status, expired.json()["__type"].as_str()), (403, Some("ExpiredTokenException")));
    let expired = query(addr, &member, "rds", "Action=DescribeIntegrations&Version=2014-10-31").await;
    assert_eq!(expired.status, 403);
    assert!(expired.body.contains("<Code>ExpiredToken</Code>"), "{}", expired.body);
    assert_eq!(describe_connections(addr, &Credentials::management()).await.status, 200, "long-term keys never expire");

    let again = assume(addr, MEMBER).await;
    let renewed = Credentials {
        key: element(&again.body, "AccessKeyId").to_owned(),
        token: Some(element(&again.body, "SessionToken").to_owned()),
    };
    assert_ne!(renewed.key, member.key);
    assert_eq!(describe_connections(addr, &renewed).await.status, 200);
    let expire = http(addr, "POST", "/_admin/sessions/expire", &[], "").await;
    assert_eq!(expire.status, 204);
    assert_eq!(describe_connections(addr, &renewed).await.status, 403, "the admin API expires them too");
}

#[tokio::test]
async fn roles_the_policy_refuses_answer_access_denied() {
    let emu = Emulator::start(organization_fleet()).await.unwrap();
    let denied = assume(emu.addr(), "999999999999").await;
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("<Code>AccessDenied</Code>"), "{}", denied.body);
    let wrong_role = query(
        emu.addr(),
        &Credentials::management(),
        "sts",
        &format!("Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:role/Admin&RoleSessionName=sweep"),
    )
    .await;
    assert_eq!(wrong_role.status, 403);
    let too_long = query(
        emu.addr(),
        &Credentials::management(),
        "sts",
        &format!(
            "Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:role/Janitor&RoleSessionName=s1&DurationSeconds=43201"
        ),
    )
    .await;
    assert_eq!(too_long.status, 400);
    assert!(too_long.body.contains("<Code>ValidationError</Code>"), "{}", too_long.body);
}

#[tokio::test]
async fn organizations_lists_accounts_to_the_management_account_only() {
    let emu = Emulator::start(organization_fleet()).await.unwrap();
    let addr = emu.addr();
    let first = list_accounts(addr, &Credentials::management(), r#"{"MaxResults":1}"#).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("content-type"), Some("application/x-amz-json-1.1"));
    let first = first.json();
    assert_eq!(first["Accounts"][0]["Id"], MANAGEMENT_ACCOUNT);
    let token = first["NextToken"].as_str().unwrap();
    let second =
        list_accounts(addr, &Credentials::management(), &format!(r#"{{"MaxResults":1,"NextToken":"{token}"}}"#))
            .await
            .json();
    assert_eq!((second["Accounts"][0]["Id"].as_str(), second.get("NextToken")), (Some(MEMBER), None));
    let for_parent = json(
        addr,
        &Credentials::management(),
        "organizations",
        "AWSOrganizationsV20161128.ListAccountsForParent",
        r#"{"ParentId":"ou-root-nosuchunit"}"#,
    )
    .await;
    assert_eq!((for_parent.status, for_parent.json()["__type"].as_str()), (400, Some("ParentNotFoundException")));
    let bad = list_accounts(addr, &Credentials::management(), r#"{"MaxResults":21}"#).await;
    assert_eq!(bad.header("x-amzn-errortype"), Some("InvalidInputException"));
    assert_eq!(bad.json()["Reason"], "MAX_VALUE_EXCEEDED");
    assert!(bad.json()["Message"].is_string());

    let assumed = assume(addr, MEMBER).await;
    let member = Credentials {
        key: element(&assumed.body, "AccessKeyId").to_owned(),
        token: Some(element(&assumed.body, "SessionToken").to_owned()),
    };
    let denied = list_accounts(addr, &member, "{}").await;
    assert_eq!((denied.status, denied.json()["__type"].as_str()), (400, Some("AccessDeniedException")));

    emu.set_fleet(Fleet { organization: None, ..organization_fleet() });
    let alone = list_accounts(addr, &Credentials::management(), "{}").await;
    assert_eq!(alone.json()["__type"], "AWSOrganizationsNotInUseException");
    let organizations: Vec<_> = emu.calls().into_iter().filter(|c| c.service == "organizations").collect();
    assert_eq!(organizations.len(), 6);
    assert_eq!(organizations[2].target.as_deref(), Some("ou-root-nosuchunit"));
}

#[tokio::test]
async fn the_admin_api_carries_member_accounts_and_a_new_fleet_keeps_sessions_of_remaining_accounts() {
    let emu = Emulator::start(Fleet::default()).await.unwrap();
    let addr = emu.addr();
    let fleet = organization_fleet();
    let put = http(addr, "PUT", "/_admin/fleet", &[], &serde_json::to_string(&fleet).unwrap()).await;
    assert_eq!(put.status, 204, "{}", put.body);
    let got = Fleet::from_json(&http(addr, "GET", "/_admin/fleet", &[], "").await.body).unwrap();
    assert_eq!(got.member_accounts[MEMBER].connections, fleet.member_accounts[MEMBER].connections);
    assert_eq!((got.sts, got.organization.map(|o| o.accounts.len())), (fleet.sts.clone(), Some(2)));
    let bad_member = format!(
        r#"{{"memberAccounts":{{"{MEMBER}":{{"connections":[{{"EndpointArn":"arn:aws:dms:us-east-1:{MANAGEMENT_ACCOUNT}:endpoint:E","ReplicationInstanceArn":"arn:aws:dms:us-east-1:{MEMBER}:rep:R"}}]}}}}}}"#
    );
    let refused = http(addr, "PUT", "/_admin/fleet", &[], &bad_member).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("names another account"), "{}", refused.body);

    let assumed = assume(addr, MEMBER).await;
    let member = Credentials {
        key: element(&assumed.body, "AccessKeyId").to_owned(),
        token: Some(element(&assumed.body, "SessionToken").to_owned()),
    };
    let mut refreshed = organization_fleet();
    refreshed.member_accounts.insert(MEMBER.to_owned(), Fleet::default());
    emu.set_fleet(refreshed);
    let still = describe_connections(addr, &member).await;
    assert_eq!((still.status, endpoint_arns(&still).len()), (200, 0), "the same account, its new fleet");
    emu.set_fleet(Fleet::default());
    let gone = describe_connections(addr, &member).await;
    assert_eq!((gone.status, gone.json()["__type"].as_str()), (403, Some("UnrecognizedClientException")));
}
