//! CloudFormation's custom-resource protocol, apart from any resource type: what a request is, which
//! requests may be answered, the one response per request, and what never leaves.

pub mod checks;
pub mod continuation;
pub mod genuine;
pub mod guard;
pub mod marker;
pub mod pipeline;
pub mod redact;
pub mod request;
pub mod response;

pub use checks::{EmulatedIdentity, FunctionIdentity, Rejection};
pub use guard::{Deadline, Outcome, Progress};
pub use request::{Incoming, Malformed, Request, RequestType, parse_invocation};
pub use response::{Response, ResponseSender, Status};
