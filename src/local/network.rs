//! The VPC, subnet and security group an awsvpc service needs, made in moto's EC2 through its
//! query API (moto reads the service from the credential scope and checks no signature).

use super::{LocalError, REGION};

pub struct Network {
    pub subnet: String,
    pub security_group: String,
}

pub async fn create(endpoint: &str) -> Result<Network, LocalError> {
    let vpc = call(
        endpoint,
        &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
        "vpcId",
    )
    .await?;
    let subnet = call(
        endpoint,
        &[
            ("Action", "CreateSubnet"),
            ("VpcId", &vpc),
            ("CidrBlock", "10.0.1.0/24"),
        ],
        "subnetId",
    )
    .await?;
    let security_group = call(
        endpoint,
        &[
            ("Action", "CreateSecurityGroup"),
            ("VpcId", &vpc),
            ("GroupName", "lab-web"),
            ("GroupDescription", "lab web service"),
        ],
        "groupId",
    )
    .await?;
    Ok(Network {
        subnet,
        security_group,
    })
}

async fn call(endpoint: &str, params: &[(&str, &str)], field: &str) -> Result<String, LocalError> {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("Version", "2016-11-15"));
    let body = form
        .iter()
        .map(|(key, value)| format!("{key}={}", url_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let answer = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20261126/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body)
        .send()
        .await
        .map_err(|err| LocalError::unexpected("calling moto's EC2", err))?
        .text()
        .await
        .map_err(|err| LocalError::unexpected("reading moto's EC2 answer", err))?;
    let open = format!("<{field}>");
    let value = answer
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(value, _)| value.to_owned());
    value.ok_or_else(|| LocalError::unexpected(format!("moto's EC2 gave no {field}"), answer))
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
