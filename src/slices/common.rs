//! Helpers every slice uses: tag differences and ECS tags, names from ARNs, SDK builders.

use crate::Error;
use crate::naming::TAG_PREFIX;
use crate::properties::Tag;

/// The user tags to add or change, and the user tag keys to remove, to turn `current` into
/// `desired`. The product's own tags and AWS's are never touched.
pub fn tag_changes(current: &[Tag], desired: &[Tag]) -> (Vec<Tag>, Vec<String>) {
    let to_set: Vec<Tag> = desired
        .iter()
        .filter(|tag| !current.contains(tag))
        .cloned()
        .collect();
    let to_remove: Vec<String> = current
        .iter()
        .filter(|tag| !tag.key.starts_with(TAG_PREFIX) && !tag.key.starts_with("aws:"))
        .filter(|tag| !desired.iter().any(|wanted| wanted.key == tag.key))
        .map(|tag| tag.key.clone())
        .collect();
    (to_set, to_remove)
}

/// The last segment of an ARN's resource part (`arn:…:cluster/lab` → `lab`), or the input
/// when it is a plain name.
pub fn name_from_arn(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}

pub use crate::wait::retry_until;

/// Whether a resource's own ARN is exactly the id a Delete names. The provider answers every
/// resource with its full ARN, so a Delete that names one any other way (a bare name, a partial
/// ARN, another case) is not one CloudFormation sent for it, and touches nothing
/// (docs/design.md#genuine-requests).
pub fn named_exactly(resource_arn: Option<&str>, request: &crate::protocol::Request) -> bool {
    let named = resource_arn == Some(request.physical_id());
    if !named {
        tracing::warn!(
            resource = resource_arn.unwrap_or_default(),
            "the Delete names this resource other than by its exact ARN: left untouched"
        );
    }
    named
}

/// ECS's tags from ours.
pub fn ecs_tags(tags: &[Tag]) -> Vec<aws_sdk_ecs::types::Tag> {
    tags.iter()
        .map(|tag| {
            aws_sdk_ecs::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
        })
        .collect()
}

/// Ours from ECS's (a tag without a key is no tag).
pub fn tags_from_ecs(tags: &[aws_sdk_ecs::types::Tag]) -> Vec<Tag> {
    tags.iter()
        .filter_map(|tag| Some(Tag::new(tag.key()?, tag.value().unwrap_or_default())))
        .collect()
}

/// The (key, value) pairs of ECS tags, for [`crate::naming::is_ours`].
pub fn ecs_tag_pairs(tags: &[aws_sdk_ecs::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?, tag.value().unwrap_or_default())))
}

/// Brings the user tags of an ECS resource (`what`, for messages: "ECS cluster") in line.
pub async fn sync_ecs_tags(
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

/// Builds an SDK value whose builder can fail (a required member missing): a bug of ours, not
/// the user's, reported as such rather than with `unwrap`.
pub fn built<T, E: std::fmt::Display>(
    what: &'static str,
    result: Result<T, E>,
) -> Result<T, Error> {
    result.map_err(|err| Error::Internal(format!("building {what}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_leave_managed_tags_alone() {
        let current = vec![
            Tag::new("team", "a"),
            Tag::new("old", "x"),
            Tag::new("ecs-private-auth:stack-id", "s"),
            Tag::new("aws:cloudformation:stack-name", "lab"),
        ];
        let desired = vec![Tag::new("team", "b"), Tag::new("env", "dev")];
        let (set, remove) = tag_changes(&current, &desired);
        assert_eq!(set, desired);
        assert_eq!(remove, vec!["old".to_owned()]);
    }

    #[test]
    fn names_come_from_arns_or_stay_names() {
        assert_eq!(
            name_from_arn("arn:aws:ecs:us-east-1:123456789012:cluster/lab"),
            "lab"
        );
        assert_eq!(name_from_arn("lab"), "lab");
    }
}
