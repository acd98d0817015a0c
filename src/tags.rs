//! The tags that mark a resource as ours (docs/design.md#ownership), the changes that bring a
//! resource's user tags in line, and the services' tag types. Each resource type's module keeps
//! the calls that apply them (see `resources::tag_sync`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::protocol::Request;

pub(crate) const TAG_PREFIX: &str = "ecs-private-auth:";
pub const TAG_STACK_ID: &str = "ecs-private-auth:stack-id";
pub const TAG_LOGICAL_ID: &str = "ecs-private-auth:logical-id";
pub const TAG_CREATED_AT: &str = "ecs-private-auth:created-at";
/// A resource or stack carrying this tag is never deleted by the nightly cleanup.
pub const TAG_KEEP: &str = "ecs-private-auth:keep";
/// Stack tags that opt a stack into time-to-live deletion.
pub(crate) const TAG_EXPIRES_AT: &str = "ecs-private-auth:expires-at";
pub(crate) const TAG_TTL_HOURS: &str = "ecs-private-auth:ttl-hours";

/// A tag, `{Key, Value}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The user's tags plus the product's own.
pub(crate) fn managed_tags(request: &Request, user_tags: &[Tag], now: OffsetDateTime) -> Vec<Tag> {
    let created_at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut tags = user_tags.to_vec();
    tags.push(Tag::new(TAG_STACK_ID, &request.stack_id));
    tags.push(Tag::new(TAG_LOGICAL_ID, &request.logical_resource_id));
    tags.push(Tag::new(TAG_CREATED_AT, created_at));
    tags
}

/// Whether tags mark a resource as made by this request's stack resource.
pub(crate) fn is_ours<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    request: &Request,
) -> bool {
    let mut stack = false;
    let mut logical = false;
    for (key, value) in tags {
        stack |= key == TAG_STACK_ID && value == request.stack_id;
        logical |= key == TAG_LOGICAL_ID && value == request.logical_resource_id;
    }
    stack && logical
}

/// The user tags to add or change, and the user tag keys to remove, to turn `current` into
/// `desired`. The product's own tags and AWS's are never touched.
pub(crate) fn tag_changes(current: &[Tag], desired: &[Tag]) -> (Vec<Tag>, Vec<String>) {
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
pub(crate) fn from_ecs(tags: &[aws_sdk_ecs::types::Tag]) -> Vec<Tag> {
    tags.iter()
        .filter_map(|tag| Some(Tag::new(tag.key()?, tag.value().unwrap_or_default())))
        .collect()
}

/// The (key, value) pairs of ECS tags, for [`is_ours`].
pub(crate) fn ecs_pairs(tags: &[aws_sdk_ecs::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?, tag.value().unwrap_or_default())))
}

/// Secrets Manager's tags from ours.
pub fn secret_tags(tags: &[Tag]) -> Vec<aws_sdk_secretsmanager::types::Tag> {
    tags.iter()
        .map(|tag| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestType;
    use crate::protocol::request::tests::sample_request;

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
    fn managed_tags_mark_the_resource_as_ours() {
        let request = sample_request(RequestType::Create);
        let tags = managed_tags(
            &request,
            &[Tag::new("team", "a")],
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(tags.contains(&Tag::new("team", "a")));
        assert!(tags.contains(&Tag::new(TAG_CREATED_AT, "1970-01-01T00:00:00Z")));
        assert!(is_ours(
            tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
            &request
        ));
        let mut other = request.clone();
        other.logical_resource_id = "Other".into();
        assert!(!is_ours(
            tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
            &other
        ));
    }
}
