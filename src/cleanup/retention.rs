//! What a stack's template keeps (docs/design.md#cleanup): a resource whose `DeletionPolicy` or
//! `UpdateReplacePolicy` is `Retain` or `RetainExceptOnCreate` was kept on purpose, and is never
//! the cleanup's to delete. A policy the cleanup cannot read (an intrinsic function, say) counts as
//! keeping: doubt means skip.

use std::collections::BTreeMap;

/// What a template says of keeping one logical id's resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Keeps {
    /// `DeletionPolicy` keeps it when the stack (or the resource's removal) deletes it.
    pub on_delete: bool,
    /// `UpdateReplacePolicy` keeps the old one when an update replaces it.
    pub on_replace: bool,
}

/// The template's logical ids and what each keeps, or why the template could not be read.
pub(crate) type Retention = Result<BTreeMap<String, Keeps>, String>;

/// Reads a template body as CloudFormation returns it (JSON or YAML, short-form tags allowed).
pub(crate) fn retention(template_body: &str) -> Retention {
    let template: serde_yaml_ng::Value = serde_json::from_str(template_body)
        .or_else(|_| serde_yaml_ng::from_str(template_body))
        .map_err(|_| "its template is neither JSON nor YAML".to_owned())?;
    let resources = template
        .get("Resources")
        .and_then(serde_yaml_ng::Value::as_mapping)
        .ok_or("its template has no Resources")?;
    Ok(resources
        .iter()
        .filter_map(|(logical_id, resource)| {
            let keeps = Keeps {
                on_delete: keeps(resource.get("DeletionPolicy")),
                on_replace: keeps(resource.get("UpdateReplacePolicy")),
            };
            Some((logical_id.as_str()?.to_owned(), keeps))
        })
        .collect())
}

/// Absent, `Delete` or `Snapshot` let the resource go; anything else keeps it.
fn keeps(policy: Option<&serde_yaml_ng::Value>) -> bool {
    match policy.map(|value| value.as_str()) {
        None => false,
        Some(Some("Delete" | "Snapshot")) => false,
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_policies_keep_and_delete_policies_do_not() {
        let yaml = r#"
Resources:
  Kept:
    Type: Custom::RegistryCredentials
    DeletionPolicy: Retain
    Properties: { ServiceToken: !Ref Topic }
  KeptOnReplace:
    Type: Custom::TaskDefinition
    UpdateReplacePolicy: RetainExceptOnCreate
  Plain:
    Type: Custom::FargateCluster
  Deleted:
    Type: Custom::FargateCluster
    DeletionPolicy: Delete
    UpdateReplacePolicy: Snapshot
  Conditional:
    Type: Custom::FargateCluster
    DeletionPolicy: !If [Prod, Retain, Delete]
"#;
        let kept = retention(yaml).unwrap();
        assert_eq!(
            kept["Kept"],
            Keeps {
                on_delete: true,
                on_replace: false
            }
        );
        assert_eq!(
            kept["KeptOnReplace"],
            Keeps {
                on_delete: false,
                on_replace: true
            }
        );
        assert_eq!(kept["Plain"], Keeps::default());
        assert_eq!(kept["Deleted"], Keeps::default());
        assert!(kept["Conditional"].on_delete, "doubt keeps");
    }

    #[test]
    fn json_templates_read_the_same() {
        let json = r#"{"Resources": {"Kept": {"Type": "Custom::X", "DeletionPolicy": "RetainExceptOnCreate"}}}"#;
        assert!(retention(json).unwrap()["Kept"].on_delete);
    }

    #[test]
    fn an_unreadable_template_says_why() {
        assert_eq!(
            retention("Resources: [unclosed"),
            Err("its template is neither JSON nor YAML".into())
        );
        assert_eq!(retention("{}"), Err("its template has no Resources".into()));
    }
}
