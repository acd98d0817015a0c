//! Bringing a resource's user tags in line with its properties: one small function per service,
//! each applying [`tag_changes`] with that service's calls.

use crate::Error;
use crate::tags::{Tag, ecs_tags, secret_tags, tag_changes};

/// IAM's tags from ours.
pub(crate) fn iam_tags(tags: &[Tag]) -> Result<Vec<aws_sdk_iam::types::Tag>, Error> {
    tags.iter()
        .map(|tag| {
            aws_sdk_iam::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
                .map_err(|err| Error::Internal(format!("building an IAM tag: {err}")))
        })
        .collect()
}

/// Brings the user tags of an ECS resource (`what`, for messages: "ECS cluster") in line.
pub(crate) async fn sync_ecs(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    what: &str,
    current: &[Tag],
    desired: &[Tag],
) -> Result<(), Error> {
    let (to_set, to_remove) = tag_changes(current, desired);
    if !to_set.is_empty() {
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(&to_set)))
            .send()
            .await
            .map_err(|err| Error::aws(format!("tagging {what}"), arn, err))?;
    }
    if !to_remove.is_empty() {
        ecs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(to_remove))
            .send()
            .await
            .map_err(|err| Error::aws(format!("untagging {what}"), arn, err))?;
    }
    Ok(())
}

/// Brings the user tags of an IAM role in line.
pub(crate) async fn sync_iam_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    current: &[Tag],
    desired: &[Tag],
) -> Result<(), Error> {
    let (to_set, to_remove) = tag_changes(current, desired);
    if !to_set.is_empty() {
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(iam_tags(&to_set)?))
            .send()
            .await
            .map_err(|err| Error::aws("tagging IAM role", name, err))?;
    }
    if !to_remove.is_empty() {
        iam.untag_role()
            .role_name(name)
            .set_tag_keys(Some(to_remove))
            .send()
            .await
            .map_err(|err| Error::aws("untagging IAM role", name, err))?;
    }
    Ok(())
}

/// Brings the user tags of a secret in line.
pub(crate) async fn sync_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    arn: &str,
    current: &[Tag],
    desired: &[Tag],
) -> Result<(), Error> {
    let (to_set, to_remove) = tag_changes(current, desired);
    if !to_set.is_empty() {
        secrets
            .tag_resource()
            .secret_id(arn)
            .set_tags(Some(secret_tags(&to_set)))
            .send()
            .await
            .map_err(|err| Error::aws("tagging Secrets Manager secret", arn, err))?;
    }
    if !to_remove.is_empty() {
        secrets
            .untag_resource()
            .secret_id(arn)
            .set_tag_keys(Some(to_remove))
            .send()
            .await
            .map_err(|err| Error::aws("untagging Secrets Manager secret", arn, err))?;
    }
    Ok(())
}
