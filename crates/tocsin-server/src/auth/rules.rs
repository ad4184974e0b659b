//! The access rule of every `/api/v1/` operation, and how a request's route is looked up in it.

use tocsin_auth::principal::Role;

/// The access rule of every `/api/v1/` operation: (method, route path as the router spells it,
/// minimum role). The route's scope follows from its role
/// ([`Scope::for_role`](tocsin_auth::principal::Scope::for_role)). This is the one
/// table the server enforces ([`authorize`](super::authorize) looks every request up here, and refuses a route that
/// is missing), the OpenAPI document states (each operation's `security` scope and
/// `x-required-role`), and `tests/api/route_access.rs` checks operation by operation.
pub const ROUTE_RULES: &[(&str, &str, Role)] = &[
    // Reading (viewer, scope `read`).
    ("GET", "/api/v1/threats", Role::Viewer),
    ("GET", "/api/v1/threats/:id", Role::Viewer),
    ("GET", "/api/v1/threats/:id/matches", Role::Viewer),
    ("GET", "/api/v1/threats/:id/matches/reviews", Role::Viewer),
    ("GET", "/api/v1/threats/:id/determinations", Role::Viewer),
    ("GET", "/api/v1/warnings", Role::Viewer),
    ("GET", "/api/v1/warnings/:id", Role::Viewer),
    ("GET", "/api/v1/warnings/:id/specificity", Role::Viewer),
    ("GET", "/api/v1/warnings/:id/deliveries", Role::Viewer),
    ("GET", "/api/v1/deliveries", Role::Viewer),
    ("GET", "/api/v1/posture", Role::Viewer),
    ("GET", "/api/v1/timeline", Role::Viewer),
    ("GET", "/api/v1/audit", Role::Viewer),
    ("GET", "/api/v1/entities", Role::Viewer),
    ("GET", "/api/v1/entities/:id", Role::Viewer),
    ("GET", "/api/v1/audiences", Role::Viewer),
    ("GET", "/api/v1/audiences/:id", Role::Viewer),
    ("GET", "/api/v1/dead-letters", Role::Viewer),
    ("GET", "/api/v1/jobs/:id", Role::Viewer),
    ("GET", "/api/v1/tasks", Role::Viewer),
    ("GET", "/api/v1/reports/effectiveness", Role::Viewer),
    ("GET", "/api/v1/feeds/runs", Role::Viewer),
    ("GET", "/api/v1/feeds/runs/:id", Role::Viewer),
    // Contacts and networks of every organisation: not for every reader.
    ("GET", "/api/v1/feeds/constituency", Role::Analyst),
    // Working a case (analyst, scope `write`).
    ("POST", "/api/v1/threats", Role::Analyst),
    ("POST", "/api/v1/threats/:id/determinations", Role::Analyst),
    (
        "POST",
        "/api/v1/threats/:id/determinations/waive",
        Role::Analyst,
    ),
    ("POST", "/api/v1/threats/:id/warnings", Role::Analyst),
    ("POST", "/api/v1/threats/:id/outcome", Role::Analyst),
    ("POST", "/api/v1/threats/:id/window", Role::Analyst),
    ("POST", "/api/v1/threats/:id/matches", Role::Analyst),
    ("POST", "/api/v1/threats/:id/matches/reviews", Role::Analyst),
    (
        "POST",
        "/api/v1/warnings/:id/acknowledgements",
        Role::Analyst,
    ),
    (
        "POST",
        "/api/v1/warnings/:id/posture-reports",
        Role::Analyst,
    ),
    ("POST", "/api/v1/warnings/:id/feedback", Role::Analyst),
    ("PATCH", "/api/v1/warnings/:id", Role::Analyst),
    ("POST", "/api/v1/warnings/:id/update", Role::Analyst),
    (
        "POST",
        "/api/v1/warnings/:id/release-request",
        Role::Analyst,
    ),
    ("POST", "/api/v1/tasks/:id/close", Role::Analyst),
    ("POST", "/api/v1/intake/text", Role::Analyst),
    ("POST", "/api/v1/intake/commit", Role::Analyst),
    ("POST", "/api/v1/entities", Role::Analyst),
    ("POST", "/api/v1/entities/import", Role::Analyst),
    ("PUT", "/api/v1/entities/:id", Role::Analyst),
    ("DELETE", "/api/v1/entities/:id", Role::Analyst),
    ("PUT", "/api/v1/audiences/:id", Role::Analyst),
    ("POST", "/api/v1/deliveries/:id/retry", Role::Analyst),
    // Releasing (approver, scope `approve`).
    (
        "POST",
        "/api/v1/threats/:id/determinations/approve",
        Role::Approver,
    ),
    ("POST", "/api/v1/warnings/:id/approve", Role::Approver),
    ("POST", "/api/v1/warnings/:id/queue", Role::Approver),
    ("POST", "/api/v1/warnings/:id/cancel", Role::Approver),
    // Administration (admin, scope `admin`).
    ("GET", "/api/v1/audit/events", Role::Admin),
    ("GET", "/api/v1/audit/export", Role::Admin),
    ("GET", "/api/v1/users", Role::Admin),
    ("POST", "/api/v1/users", Role::Admin),
    ("PATCH", "/api/v1/users/:id", Role::Admin),
    ("GET", "/api/v1/tokens", Role::Admin),
    ("POST", "/api/v1/tokens", Role::Admin),
    ("DELETE", "/api/v1/tokens/:id", Role::Admin),
];

/// The minimum role of an operation: `path` in the router's spelling (`/api/v1/threats/:id`) or
/// the OpenAPI one (`/api/v1/threats/{id}`). `None`: the operation has no rule (refused).
pub fn required_role(method: &str, path: &str) -> Option<Role> {
    let path = axum_path(path);
    ROUTE_RULES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, r)| *r)
}

/// The highest role any operation on `path` (router spelling) needs.
pub(crate) fn strictest_on(path: &str) -> Option<Role> {
    ROUTE_RULES
        .iter()
        .filter(|(_, p, _)| *p == path)
        .map(|(_, _, r)| *r)
        .max()
}

/// `/a/{id}/b` → `/a/:id/b`.
fn axum_path(path: &str) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}
