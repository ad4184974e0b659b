//! Standards exchange storage (TAXII 2.1, CAP 1.2): which audience a token speaks for, objects
//! partners share into a TAXII collection, and the status resources of those requests. Part of the
//! `Store` contract; kept in its own trait so each backend implements it in its own file.

use crate::{AuditCtx, Result};
use tocsin_core::{AudienceId, Timestamp};

/// Audit action names of this part of the store.
pub mod actions {
    pub const TOKEN_AUDIENCE: &str = "token.audience";
    pub const TAXII_ADD: &str = "taxii.add";
}

/// An object to add to a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSharedObject {
    /// The STIX id.
    pub object_id: String,
    /// Its `modified` (or `created`) timestamp as written: the TAXII version.
    pub version: String,
    /// The whole object as JSON text.
    pub json: String,
}

/// An object shared into a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedObject {
    pub collection: String,
    pub object_id: String,
    pub version: String,
    pub added_at: Timestamp,
    pub json: String,
}

pub trait Exchange {
    /// Bind a token to the audience it speaks for (`None`: a staff token again).
    fn set_token_audience(
        &self,
        token_id: i64,
        audience: Option<&AudienceId>,
        audit: &AuditCtx,
    ) -> Result<()>;
    /// The audience a token speaks for, if any.
    fn token_audience(&self, token_id: i64) -> Result<Option<AudienceId>>;
    /// Add objects to a collection (added at `audit.at`) and store the request's status resource,
    /// in one transaction with one audit event. Returns, per object, `true` when it was new and
    /// `false` when that version was already there (TAXII treats both as success).
    fn add_shared_objects(
        &self,
        collection: &str,
        objects: &[NewSharedObject],
        status_id: &str,
        status_json: &str,
        audit: &AuditCtx,
    ) -> Result<Vec<bool>>;
    /// Objects of a collection in the order they were added.
    fn shared_objects(&self, collection: &str) -> Result<Vec<SharedObject>>;
    /// A stored status resource (JSON text).
    fn taxii_status(&self, id: &str) -> Result<Option<String>>;
}
