//! The binary is a Lambda runtime client: outside Lambda (no AWS_LAMBDA_RUNTIME_API) it stops at
//! once with an error instead of hanging. Having this test also makes `cargo test` build the
//! binary that the workspace's integration tests run.

#[test]
fn outside_lambda_the_binary_exits_with_an_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_on-create"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
}
