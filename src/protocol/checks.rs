//! The checks made before any work (docs/design.md#request-checks). A request that fails them is
//! logged and dropped: nothing is PUT anywhere, as the ResponseURL itself is not to be trusted.

use url::Url;

use super::Request;
use crate::arn::Arn;

/// The partition, region and account a function runs in, from its invoked ARN
/// (`arn:aws:lambda:us-east-1:123456789012:function:name[:alias]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionIdentity {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl FunctionIdentity {
    pub fn from_function_arn(arn: &str) -> Option<Self> {
        let arn = Arn::parse(arn).ok()?;
        let named = arn
            .resource
            .strip_prefix("function:")
            .is_some_and(|name| !name.is_empty());
        (arn.service == "lambda" && named).then(|| location_of(arn))
    }

    /// Who this invocation runs as: the invoked ARN, which Lambda sets. Only under a local
    /// emulator does the environment's identity count: when the ARN is a placeholder
    /// (`cargo lambda watch`), or when sam local says it hands an account of its own.
    pub fn of_invocation(invoked_arn: &str, emulated: Option<&EmulatedIdentity>) -> Option<Self> {
        match (Self::from_function_arn(invoked_arn), emulated) {
            (_, Some(emulated)) if emulated.replaces_arn => Some(emulated.identity.clone()),
            (Some(own), _) => Some(own),
            (None, emulated) => emulated.map(|emulated| emulated.identity.clone()),
        }
    }
}

/// The identity a local Lambda emulator's environment gives a function (`LOCAL_ACCOUNT_ID` and
/// `AWS_REGION`); no deployed function has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedIdentity {
    pub identity: FunctionIdentity,
    /// `AWS_SAM_LOCAL=true`: sam local hands a well-formed ARN of an account of its own, so
    /// the environment's identity replaces it; otherwise only a placeholder ARN gives way.
    pub replaces_arn: bool,
}

/// Why a request was dropped unanswered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error(
        "the function's own ARN could not be read, so no request can be trusted (under a local emulator, set LOCAL_ACCOUNT_ID and AWS_REGION)"
    )]
    UnknownFunction,
    #[error("StackId is not a CloudFormation stack ARN")]
    BadStackId,
    #[error("the stack is in {stack}, not in this function's {function}")]
    ForeignStack { stack: String, function: String },
    #[error(
        "ResponseURL {origin} is neither CloudFormation's response host over https nor under an allowed prefix"
    )]
    ResponseUrlNotAllowed { origin: String },
}

/// The stack's partition, region and account, from
/// `arn:aws:cloudformation:us-east-1:123456789012:stack/name/uuid`.
pub(crate) fn stack_location(stack_id: &str) -> Option<FunctionIdentity> {
    let arn = Arn::parse(stack_id).ok()?;
    let is_stack = arn.service == "cloudformation" && arn.resource.starts_with("stack/");
    (is_stack && !arn.region.is_empty() && !arn.account.is_empty()).then(|| location_of(arn))
}

fn location_of(arn: Arn) -> FunctionIdentity {
    FunctionIdentity {
        partition: arn.partition,
        region: arn.region,
        account: arn.account,
    }
}

/// Checks a request against the function's own identity and the allowed response prefixes.
pub fn check_request(
    request: &Request,
    function: Option<&FunctionIdentity>,
    allowed_prefixes: &[String],
) -> Result<(), Rejection> {
    let function = function.ok_or(Rejection::UnknownFunction)?;
    let stack = stack_location(&request.stack_id).ok_or(Rejection::BadStackId)?;
    if stack != *function {
        return Err(Rejection::ForeignStack {
            stack: format!("{}/{}/{}", stack.partition, stack.account, stack.region),
            function: format!(
                "{}/{}/{}",
                function.partition, function.account, function.region
            ),
        });
    }
    check_response_url(&request.response_url, &function.region, allowed_prefixes)
}

/// CloudFormation's pre-signed S3 response bucket of the function's region over https, or a URL
/// under an allowed prefix.
pub(crate) fn check_response_url(
    response_url: &str,
    region: &str,
    allowed_prefixes: &[String],
) -> Result<(), Rejection> {
    let not_allowed = || Rejection::ResponseUrlNotAllowed {
        origin: super::redact::url_origin(response_url),
    };
    let url = Url::parse(response_url).map_err(|_| not_allowed())?;
    // A user-info part would let `http://127.0.0.1:1@evil.example/` pass a string prefix test.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(not_allowed());
    }
    if url.scheme() == "https"
        && url.port().is_none()
        && is_cloudformation_response_host(url.host_str(), region)
    {
        return Ok(());
    }
    // Compare the normalised form, so that escapes cannot dress one host up as another.
    let normalised = url.as_str();
    let allowed = allowed_prefixes
        .iter()
        .filter(|prefix| !prefix.is_empty())
        .any(|prefix| {
            normalised.starts_with(prefix.as_str()) && response_url.starts_with(prefix.as_str())
        });
    if allowed { Ok(()) } else { Err(not_allowed()) }
}

/// `cloudformation-custom-resource-response-<region without hyphens>` under S3's hosts: the
/// bucket CloudFormation itself owns in that region. Any other bucket name, even one that merely
/// starts the same way, could belong to anyone (bucket names are global).
fn is_cloudformation_response_host(host: Option<&str>, region: &str) -> bool {
    let Some(host) = host else { return false };
    let host = host.to_ascii_lowercase();
    let Some((bucket, rest)) = host.split_once('.') else {
        return false;
    };
    let under_amazonaws = |suffix: &str| rest == suffix || rest.ends_with(&format!(".{suffix}"));
    let own_bucket = format!(
        "cloudformation-custom-resource-response-{}",
        region.replace('-', "")
    );
    bucket == own_bucket
        && rest.starts_with("s3")
        && (under_amazonaws("amazonaws.com") || under_amazonaws("amazonaws.com.cn"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;

    fn identity() -> FunctionIdentity {
        FunctionIdentity::from_function_arn(
            "arn:aws:lambda:us-east-1:123456789012:function:on-create",
        )
        .unwrap()
    }

    fn local() -> Vec<String> {
        vec!["http://127.0.0.1:".to_owned()]
    }

    #[test]
    fn a_request_from_the_functions_own_account_and_region_passes() {
        let request = sample_request(RequestType::Create);
        assert_eq!(check_request(&request, Some(&identity()), &[]), Ok(()));
    }

    #[test]
    fn a_stack_of_another_account_is_rejected() {
        let mut request = sample_request(RequestType::Create);
        request.stack_id = request.stack_id.replace("123456789012", "999999999999");
        assert!(matches!(
            check_request(&request, Some(&identity()), &[]),
            Err(Rejection::ForeignStack { .. })
        ));
    }

    #[test]
    fn a_stack_of_another_region_is_rejected() {
        let mut request = sample_request(RequestType::Create);
        request.stack_id = request.stack_id.replace("us-east-1", "eu-west-1");
        assert!(matches!(
            check_request(&request, Some(&identity()), &[]),
            Err(Rejection::ForeignStack { .. })
        ));
    }

    #[test]
    fn a_stack_id_that_is_no_stack_arn_is_rejected() {
        let mut request = sample_request(RequestType::Create);
        request.stack_id = "lab".into();
        assert_eq!(
            check_request(&request, Some(&identity()), &[]),
            Err(Rejection::BadStackId)
        );
    }

    #[test]
    fn only_cloudformations_own_bucket_of_the_region_passes_over_https() {
        for (region, url, ok) in [
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
                true,
            ),
            (
                "us-west-2",
                "https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/x",
                true,
            ),
            (
                "cn-north-1",
                "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x",
                true,
            ),
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/x",
                false,
            ),
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-useast1-evil.s3.amazonaws.com/x",
                false,
            ),
            (
                "us-east-1",
                "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
                false,
            ),
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/x",
                false,
            ),
            (
                "us-east-1",
                "https://evil.example/cloudformation-custom-resource-response-useast1.s3.amazonaws.com",
                false,
            ),
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-useast1.evilamazonaws.com/x",
                false,
            ),
            (
                "us-east-1",
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/x",
                false,
            ),
            ("us-east-1", "http://127.0.0.1:9000/response", false),
        ] {
            assert_eq!(
                check_response_url(url, region, &[]).is_ok(),
                ok,
                "{region}: {url}"
            );
        }
    }

    #[test]
    fn allowed_prefixes_admit_local_receivers() {
        assert!(
            check_response_url(
                "http://127.0.0.1:9000/response?sig=1",
                "us-east-1",
                &local()
            )
            .is_ok()
        );
        assert!(
            check_response_url("http://127.0.0.2:9000/response", "us-east-1", &local()).is_err()
        );
    }

    #[test]
    fn user_info_cannot_smuggle_another_host_past_a_prefix() {
        assert!(
            check_response_url("http://127.0.0.1:9000@evil.example/", "us-east-1", &local())
                .is_err()
        );
        assert!(
            check_response_url("http://127.0.0.1:@evil.example/", "us-east-1", &local()).is_err()
        );
    }

    #[test]
    fn the_rejection_names_only_the_origin() {
        let err = check_response_url(
            "https://evil.example/path?X-Amz-Signature=abc",
            "us-east-1",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ResponseURL https://evil.example is neither CloudFormation's response host over https nor under an allowed prefix"
        );
    }

    #[test]
    fn function_identity_reads_aliases_and_rejects_junk() {
        let alias = FunctionIdentity::from_function_arn(
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live",
        )
        .unwrap();
        assert_eq!(alias.partition, "aws-cn");
        assert_eq!(FunctionIdentity::from_function_arn("nope"), None);
    }

    #[test]
    fn the_environment_gives_way_to_a_real_invoked_arn_unless_sam_local_says_otherwise() {
        let own = "arn:aws:lambda:us-east-1:123456789012:function:on-create";
        let local = |replaces_arn| EmulatedIdentity {
            identity: FunctionIdentity {
                partition: "aws".into(),
                region: "eu-west-1".into(),
                account: "210987654321".into(),
            },
            replaces_arn,
        };
        let of = FunctionIdentity::of_invocation;
        assert_eq!(
            of(own, Some(&local(false))).unwrap().account,
            "123456789012"
        );
        assert_eq!(of(own, None).unwrap().account, "123456789012");
        assert_eq!(
            of("function-arn", Some(&local(false))).unwrap().account,
            "210987654321"
        );
        assert_eq!(of(own, Some(&local(true))).unwrap().region, "eu-west-1");
        assert_eq!(of("function-arn", None), None);
        assert_eq!(
            check_request(&sample_request(RequestType::Create), None, &[]),
            Err(Rejection::UnknownFunction)
        );
    }
}
