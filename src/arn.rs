//! ARNs, read in one place: `arn:<partition>:<service>:<region>:<account>:<resource>`.

use std::fmt;

/// An ARN in its parts. The resource keeps its own inner structure (`role/path/name`,
/// `secret:name-AbCdEf`, `cluster/name`): each service reads it its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// The text is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ARN")]
pub struct NotAnArn;

impl Arn {
    pub fn parse(text: &str) -> Result<Self, NotAnArn> {
        let mut parts = text.splitn(6, ':');
        let mut next = || parts.next().ok_or(NotAnArn);
        let (prefix, partition, service, region, account, resource) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        if prefix != "arn"
            || !partition.starts_with("aws")
            || service.is_empty()
            || resource.is_empty()
        {
            return Err(NotAnArn);
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// The last `/`-separated segment of the resource: a role's, cluster's or service's name.
    pub(crate) fn resource_name(&self) -> &str {
        self.resource.rsplit('/').next().unwrap_or(&self.resource)
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts_and_back() {
        let text = "arn:aws:iam::123456789012:role/ecs-private-auth/lab-Role-x";
        let arn = Arn::parse(text).unwrap();
        assert_eq!(
            (
                arn.service.as_str(),
                arn.region.as_str(),
                arn.account.as_str()
            ),
            ("iam", "", "123456789012")
        );
        assert_eq!(arn.resource_name(), "lab-Role-x");
        assert_eq!(arn.to_string(), text);
        let secret = Arn::parse("arn:aws-cn:secretsmanager:cn-north-1:1:secret:a:b").unwrap();
        assert_eq!(secret.resource, "secret:a:b");
    }

    #[test]
    fn anything_else_is_not_an_arn() {
        for text in [
            "",
            "lab",
            "arn:aws:iam",
            "arn:aws:s3:::",
            "urn:aws:iam::1:role/x",
            "arn:x:iam::1:role/x",
        ] {
            assert_eq!(Arn::parse(text), Err(NotAnArn), "{text}");
        }
    }
}
