use super::*;

fn pseudo() -> Pseudo {
    Pseudo::new("lab", "us-east-1", "123456789012")
}

fn lab_template() -> Template {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).unwrap()
}

fn values(pairs: &[(&str, &str)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), json!(value)))
        .collect()
}

fn scope_with(template: &Template, pairs: &[(&str, &str)]) -> Scope {
    Scope {
        parameters: template.parameters(&values(pairs)).unwrap(),
        ..Scope::default()
    }
}

const LAB: &[(&str, &str)] = &[
    ("Image", "127.0.0.1:5000/lab/hello:1.0"),
    ("RegistryUrl", "http://127.0.0.1:5000"),
    ("RegistryUsername", "robot"),
    (
        "RegistryPasswordParameterName",
        "/ecs-private-auth/lab/registry-password",
    ),
    ("Subnets", "subnet-0a1b"),
    ("SecurityGroups", "sg-0a1b"),
];

#[test]
fn the_lab_resolves_in_dependency_order_with_its_parameters() {
    let template = lab_template();
    let scope = scope_with(&template, LAB);
    template.check_rules(&scope, &pseudo()).unwrap();
    let order: Vec<String> = template
        .custom_resources(&scope, &pseudo())
        .unwrap()
        .into_iter()
        .map(|resource| resource.logical_id)
        .collect();
    assert_eq!(
        order,
        [
            "Cluster",
            "RegistryCredentials",
            "ExecutionRole",
            "TaskDefinition",
            "Service"
        ]
    );
    let credentials = template
        .properties("RegistryCredentials", &scope, &pseudo())
        .unwrap();
    assert_eq!(
        credentials["PasswordParameterName"],
        "/ecs-private-auth/lab/registry-password"
    );
    assert!(
        credentials.get("Password").is_none(),
        "AWS::NoValue drops the inline password"
    );
    assert_eq!(credentials["VerifyImage"], "127.0.0.1:5000/lab/hello:1.0");
    assert_eq!(
        credentials["ServiceToken"], "arn:aws:sns:us-east-1:123456789012:lab-RequestTopic",
        "the topic stands in with an ARN of its shape"
    );
}

#[test]
fn a_lab_deploy_without_its_parameters_fails_validation_naming_each() {
    let template = lab_template();
    let scope = scope_with(&template, &[]);
    let error = template
        .check_rules(&scope, &pseudo())
        .unwrap_err()
        .to_string();
    for name in [
        "Image is required",
        "RegistryUsername is required",
        "RegistryPasswordParameterName (preferred) or RegistryPassword is required",
        "Subnets is required",
        "SecurityGroups is required",
    ] {
        assert!(error.contains(name), "{name} in: {error}");
    }
}

#[test]
fn the_provider_alone_needs_no_parameter_and_holds_no_custom_resource() {
    let template = lab_template();
    let scope = scope_with(&template, &[("DeployLab", "false")]);
    template.check_rules(&scope, &pseudo()).unwrap();
    assert_eq!(
        template.custom_resources(&scope, &pseudo()).unwrap(),
        vec![]
    );
    let outputs = template.outputs(&scope, &pseudo()).unwrap();
    let token = outputs
        .iter()
        .find(|output| output.key == "ServiceToken")
        .unwrap();
    assert_eq!(token.export.as_deref(), Some("lab-ServiceToken"));
    assert!(
        outputs
            .iter()
            .all(|output| !output.key.ends_with("Arn") || output.key.contains("Function")),
        "no lab output without the lab: {outputs:?}"
    );
}

#[test]
fn parameters_are_checked_as_cloudformation_checks_them() {
    let template = lab_template();
    let error =
        |pairs: &[(&str, &str)]| template.parameters(&values(pairs)).unwrap_err().to_string();
    assert!(error(&[("DeployLab", "maybe")]).contains("DeployLab is \"maybe\", not one of"));
    assert!(error(&[("Image", "Not An Image")]).contains("Image \"Not An Image\" does not match"));
    assert!(error(&[("CleanupSecretRecoveryDays", "3")]).contains("below its MinValue"));
    assert!(error(&[("DesiredCount", "two")]).contains("not a number"));
    assert!(error(&[("Imagee", "x")]).contains("Imagee is not a parameter"));
}

#[test]
fn an_intrinsic_the_local_run_does_not_know_fails_naming_it() {
    let template = Template::parse(
        "Resources:\n  Thing:\n    Type: Custom::FargateCluster\n    Properties:\n      ClusterName: !FindInMap [Names, Lab, Cluster]\n",
    )
    .unwrap();
    let error = template
        .properties("Thing", &Scope::default(), &pseudo())
        .unwrap_err()
        .to_string();
    assert!(error.contains("Fn::FindInMap is not supported"), "{error}");
}

#[test]
fn imports_resolve_from_exports_and_fail_clearly_without_them() {
    let template = Template::parse(
        "Resources:\n  Cluster:\n    Type: Custom::FargateCluster\n    Properties:\n      ServiceToken: !ImportValue ecs-private-auth-ServiceToken\n",
    )
    .unwrap();
    let error = template
        .properties("Cluster", &Scope::default(), &pseudo())
        .unwrap_err()
        .to_string();
    assert!(error.contains("no stack exports it"), "{error}");
    let scope = Scope {
        exports: BTreeMap::from([(
            "ecs-private-auth-ServiceToken".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:topic".to_owned(),
        )]),
        ..Scope::default()
    };
    let properties = template.properties("Cluster", &scope, &pseudo()).unwrap();
    assert_eq!(
        properties["ServiceToken"],
        "arn:aws:sns:us-east-1:123456789012:topic"
    );
}

#[test]
fn a_reference_to_a_custom_resource_not_yet_made_fails() {
    let template = Template::parse(
        "Resources:\n  Role:\n    Type: Custom::TaskExecutionRole\n  Definition:\n    Type: Custom::TaskDefinition\n    Properties:\n      ExecutionRoleArn: !GetAtt Role.Arn\n",
    )
    .unwrap();
    let error = template
        .properties("Definition", &Scope::default(), &pseudo())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Role is referenced before it was created"),
        "{error}"
    );
}
