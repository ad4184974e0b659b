//! The `file` channel: one JSON envelope per delivery, for audit-friendly outboxes and the demo.

use crate::{Channel, SendError};
use std::path::{Path, PathBuf};
use tocsin_core::tracking::{Delivery, Warning};
use tocsin_core::ChannelKind;

/// Writes each warning as a JSON envelope into `root/<address>/<idempotency_key>.json`. Writing to
/// a temporary name and renaming makes a half-written file impossible; re-sending overwrites the
/// same file, so duplicates collapse.
pub struct FileChannel {
    root: PathBuf,
}

impl FileChannel {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn dir_for(&self, address: &str) -> Result<PathBuf, SendError> {
        let bad = |reason: &str| SendError::BadAddress {
            channel: "file",
            address: address.into(),
            reason: reason.into(),
        };
        let rel = Path::new(address);
        // Addresses come from audience files: never let one escape the outbox root.
        if address.is_empty()
            || rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(bad("must be a relative path without '..'"));
        }
        Ok(self.root.join(rel))
    }
}

/// `<key>.json`: the file name of a delivery, from its idempotency key (a hash, or
/// `feed:<run>:<org>`). A key that could leave its folder or hide there (`/`, `\\`, a leading
/// `.`, control characters) is refused.
fn file_name(key: &str) -> Result<String, String> {
    if key.is_empty()
        || key.starts_with('.')
        || key
            .chars()
            .any(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(format!("idempotency key {key:?} is not a safe file name"));
    }
    Ok(format!("{key}.json"))
}

impl Channel for FileChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::File
    }

    fn send(&self, d: &Delivery, w: &Warning) -> Result<(), SendError> {
        let dir = self.dir_for(&d.channel.address)?;
        let name = file_name(&d.idempotency_key).map_err(|reason| SendError::BadAddress {
            channel: "file",
            address: d.channel.address.clone(),
            reason,
        })?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SendError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let envelope = serde_json::json!({
            "idempotency_key": d.idempotency_key,
            "warning_id": w.id,
            "version": w.version,
            "audience": w.audience_id,
            "tlp": w.tlp.label(),
            "banner": w.banner,
            "headline": w.headline,
            "valid_from": w.valid.from,
            "valid_until": w.valid.until,
            "text": w.text,
            // `reminder`, `escalation` or `cancel` for a follow-up about the warning; absent for the warning itself.
            "notice": d.notice.as_ref().map(|n| n.kind.as_str()),
        });
        let path = dir.join(name);
        let tmp = dir.join(format!(".{}.tmp", d.idempotency_key));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&envelope).unwrap_or_default(),
        )
        .map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_channel_refuses_escaping_addresses() {
        let ch = FileChannel::new("/tmp/x");
        for bad in ["", "/etc", "../up", "a/../../b"] {
            assert!(
                matches!(ch.dir_for(bad), Err(SendError::BadAddress { .. })),
                "{bad}"
            );
        }
        assert!(ch.dir_for("operators/crocus").is_ok());
    }

    #[test]
    fn file_names_cannot_leave_their_folder() {
        for bad in ["", "../x", "a/b", "..", ".hidden", "a\\b", "a\nb"] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            file_name("feed:run1:klinik").unwrap(),
            "feed:run1:klinik.json"
        );
        assert_eq!(file_name("0a1b2c").unwrap(), "0a1b2c.json");
    }
}
