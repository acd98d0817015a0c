//! A stack's time to live, from its tags (docs/design.md#cleanup): `ecs-private-auth:expires-at`
//! (RFC 3339) or `ecs-private-auth:ttl-hours` (from the stack's creation). A tag that cannot be
//! read is reported, never acted on, and never stops the run.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::tags::{TAG_EXPIRES_AT, TAG_TTL_HOURS};

/// Longer than this is no time to live but a mistake (ten years).
pub(crate) const MAX_TTL_HOURS: f64 = 87_600.0;

/// When a stack expires. `None` when it has neither tag.
pub(crate) fn expiry(
    tags: &BTreeMap<String, String>,
    created_at: Option<OffsetDateTime>,
) -> Option<Result<OffsetDateTime, String>> {
    if let Some(at) = tags.get(TAG_EXPIRES_AT) {
        return Some(
            OffsetDateTime::parse(at.trim(), &Rfc3339)
                .map_err(|_| format!("{TAG_EXPIRES_AT} is not an RFC 3339 time")),
        );
    }
    let hours = tags.get(TAG_TTL_HOURS)?;
    Some(ttl_expiry(hours, created_at))
}

fn ttl_expiry(hours: &str, created_at: Option<OffsetDateTime>) -> Result<OffsetDateTime, String> {
    let hours: f64 = hours
        .trim()
        .parse()
        .map_err(|_| format!("{TAG_TTL_HOURS} is not a number"))?;
    if !hours.is_finite() || hours < 0.0 {
        return Err(format!("{TAG_TTL_HOURS} is not a positive number"));
    }
    if hours > MAX_TTL_HOURS {
        return Err(format!(
            "{TAG_TTL_HOURS} is more than {MAX_TTL_HOURS} hours (ten years)"
        ));
    }
    let created = created_at.ok_or("the stack's creation time is unknown")?;
    let lifetime = time::Duration::checked_seconds_f64(hours * 3600.0)
        .ok_or_else(|| format!("{TAG_TTL_HOURS} is out of range"))?;
    created
        .checked_add(lifetime)
        .ok_or_else(|| format!("{TAG_TTL_HOURS} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CREATED: OffsetDateTime = datetime!(2026-11-25 03:00 UTC);

    fn tags(key: &str, value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(key.to_owned(), value.to_owned())])
    }

    #[test]
    fn ttl_hours_count_from_the_stacks_creation() {
        assert_eq!(
            expiry(&tags(TAG_TTL_HOURS, "24"), Some(CREATED)),
            Some(Ok(datetime!(2026-11-26 03:00 UTC)))
        );
        assert_eq!(
            expiry(&tags(TAG_TTL_HOURS, " 1.5 "), Some(CREATED)),
            Some(Ok(datetime!(2026-11-25 04:30 UTC)))
        );
    }

    #[test]
    fn expires_at_wins_and_must_be_rfc_3339() {
        let mut both = tags(TAG_EXPIRES_AT, "2026-12-24T18:00:00Z");
        both.insert(TAG_TTL_HOURS.into(), "1".into());
        assert_eq!(
            expiry(&both, Some(CREATED)),
            Some(Ok(datetime!(2026-12-24 18:00 UTC)))
        );
        assert_eq!(
            expiry(&tags(TAG_EXPIRES_AT, "next tuesday"), Some(CREATED)),
            Some(Err(
                "ecs-private-auth:expires-at is not an RFC 3339 time".into()
            ))
        );
    }

    #[test]
    fn unreadable_ttl_tags_are_errors_not_panics() {
        for (value, says) in [
            ("soon", "is not a number"),
            ("-3", "is not a positive number"),
            ("NaN", "is not a positive number"),
            ("inf", "is not a positive number"),
            ("999999999", "is more than"),
            ("1e300", "is more than"),
        ] {
            let result = expiry(&tags(TAG_TTL_HOURS, value), Some(CREATED));
            let error = result.unwrap().unwrap_err();
            assert!(error.contains(says), "{value}: {error}");
        }
        assert_eq!(
            expiry(&tags(TAG_TTL_HOURS, "24"), None),
            Some(Err("the stack's creation time is unknown".into()))
        );
        assert_eq!(expiry(&BTreeMap::new(), Some(CREATED)), None);
    }
}
