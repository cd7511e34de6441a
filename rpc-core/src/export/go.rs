//! Go client (`go/`): to be written.

use super::{ApiModel, ClientOptions, GeneratedFile};

/// The files of `go/`.
pub(crate) fn files(_model: &ApiModel, _options: &ClientOptions) -> Vec<GeneratedFile> {
    Vec::new()
}
