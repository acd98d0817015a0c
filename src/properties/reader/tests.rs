use super::*;
use serde_json::json;

fn props(value: &Value) -> Props<'_> {
    Props::top_level(value, &["DesiredCount", "Enabled", "Name", "Subnets"]).unwrap()
}

#[test]
fn unknown_name_suggests_the_nearest_known_one() {
    let value = json!({"DesiredCont": "2"});
    let err = Props::top_level(&value, &["DesiredCount", "Cluster"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown property DesiredCont (did you mean DesiredCount?)"
    );
}

#[test]
fn unknown_name_far_from_every_known_name_has_no_suggestion() {
    let value = json!({"Zebra": "1"});
    let err = Props::top_level(&value, &["DesiredCount", "Cluster"]).unwrap_err();
    assert_eq!(err.to_string(), "unknown property Zebra");
}

#[test]
fn unknown_name_never_echoes_its_value() {
    let value = json!({"Pasword": "hunter2-secret"});
    let err = Props::top_level(&value, &["Password", "Username"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown property Pasword (did you mean Password?)"
    );
}

#[test]
fn protocol_properties_are_accepted_everywhere() {
    let value =
        json!({"ServiceToken": "arn:aws:sns:us-east-1:123456789012:t", "ServiceTimeout": "300"});
    assert!(Props::top_level(&value, &[]).is_ok());
}

#[test]
fn cloudformation_strings_coerce_to_booleans() {
    for (text, expected) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("TRUE", true),
    ] {
        let value = json!({ "Enabled": text });
        assert_eq!(
            props(&value).bool("Enabled").unwrap(),
            Some(expected),
            "{text}"
        );
    }
    let value = json!({ "Enabled": true });
    assert_eq!(props(&value).bool("Enabled").unwrap(), Some(true));
}

#[test]
fn two_is_no_boolean() {
    let value = json!({ "Enabled": "2" });
    let err = props(&value).bool("Enabled").unwrap_err();
    assert_eq!(err.to_string(), "property Enabled must be true or false");
}

#[test]
fn cloudformation_strings_coerce_to_numbers() {
    for (value, expected) in [
        (json!({"DesiredCount": "2"}), 2),
        (json!({"DesiredCount": 2}), 2),
        (json!({"DesiredCount": " 0 "}), 0),
    ] {
        assert_eq!(
            props(&value).integer("DesiredCount", 0..=10).unwrap(),
            Some(expected)
        );
    }
}

#[test]
fn a_string_that_is_no_number_fails_naming_the_property() {
    let value = json!({ "DesiredCount": "two" });
    let err = props(&value).integer("DesiredCount", 0..=10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "property DesiredCount must be a whole number from 0 to 10"
    );
    assert!(!err.to_string().contains("two"));
}

#[test]
fn a_number_out_of_range_fails() {
    let value = json!({ "DesiredCount": "11" });
    assert!(props(&value).integer("DesiredCount", 0..=10).is_err());
}

#[test]
fn missing_required_property_is_named() {
    let value = json!({});
    let err = props(&value).required_string("Name").unwrap_err();
    assert_eq!(err.to_string(), "missing required property Name");
}

#[test]
fn null_means_absent() {
    let value = json!({ "Name": null });
    assert_eq!(props(&value).string("Name").unwrap(), None);
}

#[test]
fn string_lists_accept_comma_delimited_text() {
    let value = json!({ "Subnets": "subnet-1, subnet-2" });
    assert_eq!(
        props(&value).string_list("Subnets").unwrap(),
        Some(vec!["subnet-1".to_owned(), "subnet-2".to_owned()])
    );
}

#[test]
fn nested_errors_carry_their_path() {
    let value = json!({ "Items": [{"Port": "80"}, {"Prot": "x"}] });
    let top = Props::top_level(&value, &["Items"]).unwrap();
    let err = top.object_list("Items", &["Port"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown property Items[1].Prot (did you mean Port?)"
    );
}

#[test]
fn enum_errors_list_allowed_values() {
    let value = json!({ "Name": "MAYBE" });
    let err = props(&value)
        .one_of("Name", &[("ENABLED", true), ("DISABLED", false)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "property Name must be one of ENABLED, DISABLED"
    );
}

#[test]
fn very_long_unknown_names_are_shortened_in_the_error() {
    let name = "X".repeat(6000);
    let value = json!({ name: "1" });
    let err = Props::top_level(&value, &["Name"]).unwrap_err();
    assert!(err.to_string().len() < 200, "{}", err.to_string().len());
}
