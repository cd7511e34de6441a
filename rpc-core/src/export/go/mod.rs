//! The Go module (`go/`): the types, the connection over centrifuge-go (a
//! fixed runtime file) and `APIClient` with one method per RPC method.
//!
//! The Go forms of the model (the README repeats them for users):
//! - structs: exported fields named `names::pascal(wire name)` with the wire
//!   name in the `json` tag. A field that may be absent gets `omitempty`
//!   and a pointer, unless nil already means absent (slices, maps,
//!   `json.RawMessage`): a zero there must still reach the server.
//! - unit enums: `type Status string` and one constant per value.
//! - tagged unions: `type Event struct { Value EventVariant }`, whose JSON
//!   methods write and read the tag; `EventVariant` is a sealed interface
//!   with one struct per variant (`EventMoved`; newtype variants embed their
//!   struct, unit variants are empty). A wrapper struct rather than a bare
//!   interface, so `[]Event`, `*Event` and `map[string]Event` decode
//!   without help.
//! - tuples: generic `Tuple2[A, B]` (fields `V0`, `V1`), a JSON array.
//! - `serde_json::Value`: `json.RawMessage`, the JSON verbatim.
//! - `Vec<u8>`: `Uint8List[uint8]`, as encoding/json writes `[]uint8` as
//!   base64.
//!
//! The text is byte for byte what gofmt prints: struct fields and constants
//! are aligned as its tabwriter aligns them, and doc comments are laid out
//! as go/doc/comment reformats them (`doc_lines`).

mod client;
mod doc;
mod layout;
mod plan;
mod publisher;
#[cfg(test)]
mod stress;
#[cfg(test)]
mod tests;
mod types;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{ApiModel, ClientOptions, GeneratedFile, HEADER, TypeRef, readme};
use plan::Go;

const RUNTIME: &str = include_str!("../templates/rpc_client.go");

/// The runtime template's package clause, replaced by the real one (the
/// template stays a Go file that gofmt and vet can check on its own).
const RUNTIME_PACKAGE: &str = "package wirecall\n";

/// The SDK and everything it needs, so that `go mod tidy` only has to
/// write go.sum (and a regenerated go.mod matches the tidied one).
const GO_MOD_REQUIRE: &str = "go 1.25.0

require github.com/centrifugal/centrifuge-go v0.12.1

require (
\tgithub.com/centrifugal/protocol v0.21.0 // indirect
\tgithub.com/gorilla/websocket v1.5.3 // indirect
\tgithub.com/josharian/intern v1.0.0 // indirect
\tgithub.com/jpillora/backoff v1.0.0 // indirect
\tgithub.com/mailru/easyjson v0.9.2 // indirect
\tgithub.com/planetscale/vtprotobuf v0.6.0 // indirect
\tgithub.com/segmentio/asm v1.2.1 // indirect
\tgithub.com/segmentio/encoding v0.5.4 // indirect
\tgithub.com/shadowspore/fossil-delta v0.0.0-20241213113458-1d797d70cbe3 // indirect
\tgithub.com/valyala/bytebufferpool v1.0.0 // indirect
\tgolang.org/x/sys v0.44.0 // indirect
\tgoogle.golang.org/protobuf v1.36.11 // indirect
)
";

/// The files of `go/`.
pub(crate) fn files(model: &ApiModel, options: &ClientOptions) -> Vec<GeneratedFile> {
    let go = Go::new(model);
    let package = options.go_package();
    let runtime = RUNTIME.strip_prefix(RUNTIME_PACKAGE).unwrap_or(RUNTIME);
    vec![
        GeneratedFile::new("go/README.md", readme::go(model, options)),
        GeneratedFile::new("go/client.go", go.client_file(&package, &options.name)),
        GeneratedFile::new(
            "go/go.mod",
            format!(
                "// {HEADER}\n\nmodule {}\n\n{GO_MOD_REQUIRE}",
                options.go_module()
            ),
        ),
        GeneratedFile::new(
            "go/rpc_client.go",
            format!("// {HEADER}\n\npackage {package}\n{runtime}"),
        ),
        GeneratedFile::new("go/publisher.go", go.publisher_file(&package, options)),
        GeneratedFile::new("go/types.go", go.types_file(&package)),
    ]
}

/// The Go signature of every method (`TasksGetStats(ctx context.Context,
/// params TaskStatsParams) (*TaskStats, error)`), by wire name.
pub(crate) fn signatures(model: &ApiModel) -> BTreeMap<String, String> {
    let go = Go::new(model);
    model
        .methods
        .iter()
        .zip(&go.methods)
        .map(|(method, name)| (method.name.clone(), go.signature(name, method)))
        .collect()
}

/// The README's example call, indented for `main`: a method without
/// params when there is one, then the error check.
pub(crate) fn example_call(model: &ApiModel, package: &str) -> Option<String> {
    let go = Go::new(model);
    let methods = || model.methods.iter().zip(&go.methods);
    let (method, name) = methods()
        .find(|(m, _)| m.params.is_none())
        .or_else(|| methods().next())?;
    let mut out = String::new();
    let args = match &method.params {
        Some(ty) => {
            let _ = writeln!(out, "\t// params: the method's params, a {}", go.ty(ty));
            ", params"
        }
        None => "",
    };
    let result = !matches!(method.result, TypeRef::Unit);
    let assign = if result { "result, err" } else { "err" };
    let _ = write!(
        out,
        "\t{assign} := client.{name}(ctx{args})\n\tvar rpcErr *{package}.RPCError\n\tif errors.As(err, &rpcErr) {{\n\t\tlog.Fatalf(\"error reply %d: %s\", rpcErr.Code, rpcErr.Message)\n\t}} else if err != nil {{\n\t\tlog.Fatal(err)\n\t}}\n"
    );
    if result {
        out.push_str("\tlog.Println(result)\n");
    }
    Some(out)
}
