//! A macro for configuration structs, at the bottom of the crate so that
//! any module may use it.

/// Chained setters, one per field, for configuration structs that are
/// `#[non_exhaustive]` (so a new field is not a breaking change), which
/// code outside this crate cannot build with a struct literal:
/// `Limits::default().rpc_timeout(Duration::from_secs(5))`.
macro_rules! chained_setters {
    ($type:ty { $($field:ident: $value:ty),* $(,)? }) => {
        impl $type {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see the field).")]
                #[must_use]
                pub fn $field(mut self, $field: $value) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }
    };
}
pub(crate) use chained_setters;
