//! What runs the product without AWS: the pieces that play CloudFormation's side for the tests
//! and the local run. Built only with the `local` feature, never into a Lambda function.

pub mod cloudformation;
