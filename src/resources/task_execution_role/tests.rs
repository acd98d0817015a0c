use super::*;
use serde_json::json;

fn props(value: Value) -> TaskExecutionRoleProperties {
    TaskExecutionRoleProperties::parse(&value).unwrap()
}

const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn the_policy_grants_exactly_the_secrets_and_no_kms_without_keys() {
    let policy = inline_policy(&props(json!({"SecretArns": [SECRET]})));
    assert_eq!(
        policy,
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "ReadRegistryCredentials", "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue", "Resource": [SECRET]}]})
    );
}

#[test]
fn keys_add_exactly_one_decrypt_statement() {
    let policy = inline_policy(&props(json!({"SecretArns": [SECRET], "KmsKeyArns": [KEY]})));
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1]["Action"], "kms:Decrypt");
    assert_eq!(statements[1]["Resource"], json!([KEY]));
    assert!(!policy.to_string().contains('*'));
}
