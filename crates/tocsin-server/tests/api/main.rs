//! The server's integration tests: one binary, a module per area, the request helpers and the
//! reference-case set-up they share in `common`.

mod common;

mod access;
mod actions;
mod basics;
mod crawl;
mod credential_clock;
mod posture_cancel;
mod recipient;
mod resources;
mod route_access;
mod specificity;
mod standards;
