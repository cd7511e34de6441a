//! `publisher.go`: the backend publisher (a fixed runtime file), then one
//! typed `Publish<Family>` per declared channel family.

use std::fmt::Write as _;

use super::super::publishers::{ParamCheck, param_checks, personal_namespace};
use super::super::{ChannelAddress, ChannelModel, ClientOptions, HEADER, TypeRef};
use super::RUNTIME_PACKAGE;
use super::client::pattern_name;
use super::doc::write_doc;
use super::layout::wrap;
use super::plan::{Go, Scope, exported, go_string};

pub(super) const PUBLISHER: &str = include_str!("../templates/publisher.go");

/// The template's default personal namespace, replaced by the server's.
pub(super) const NAMESPACE: &str = "const PersonalNamespace = \"personal\"\n";

/// `Publisher`'s own methods: typed ones never take them.
const PUBLISHER_MEMBERS: &[&str] = &[
    "BroadcastMessage",
    "Call",
    "IsConnected",
    "Publish",
    "SendFile",
    "SendMessage",
    "SendNotification",
    "Task",
];

impl Go<'_> {
    pub(super) fn publisher_file(&self, package: &str, options: &ClientOptions) -> String {
        let runtime = PUBLISHER
            .strip_prefix(RUNTIME_PACKAGE)
            .unwrap_or(PUBLISHER)
            .replacen(
                NAMESPACE,
                &format!(
                    "const PersonalNamespace = {}\n",
                    go_string(personal_namespace(options))
                ),
                1,
            );
        let mut out = format!("// {HEADER}\n\npackage {package}\n{runtime}");
        let mut members = Scope::with(PUBLISHER_MEMBERS);
        for family in &self.model.channels {
            if family.address == ChannelAddress::Pattern {
                let name = members.claim(&format!("Publish{}", exported(&family.name)));
                self.write_publish(&mut out, family, &name);
            }
        }
        out
    }

    /// `Publish<Family>(ctx, params…, payload) (uint64, error)`: the name
    /// built from typed parameters, string and UUID ones checked first.
    fn write_publish(&self, out: &mut String, family: &ChannelModel, name: &str) {
        let payload = self.ty(&family.payload);
        let (params, signature) = self.family_signature(family, format!("payload {payload}"));
        let mut summary = format!(
            "{name} publishes payload into the channel {} of the {} family; its offset (0 without history).",
            family.pattern, family.name
        );
        if family
            .params()
            .any(|(_, ty)| matches!(ty, TypeRef::String | TypeRef::Uuid))
        {
            summary.push_str(" A parameter that would make another channel's name (or none) fails with ErrInvalidArgument before anything is sent.");
        }
        let mut doc = wrap(&summary);
        if !family.doc.is_empty() {
            let _ = write!(doc, "\n\n{}", family.doc);
        }
        out.push('\n');
        write_doc(out, &doc, "");
        let _ = writeln!(
            out,
            "func (p *Publisher) {name}({signature}) (uint64, error) {{"
        );
        for ((param, check), (go_param, _)) in param_checks(family).zip(&params) {
            let check = match check {
                ParamCheck::String { refused } => format!(
                    "channelPart({}, {go_param}, {})",
                    go_string(param),
                    go_string(refused)
                ),
                ParamCheck::Uuid => format!("channelUUID({}, {go_param})", go_string(param)),
                // Go's integer types hold exactly the Rust type's range.
                ParamCheck::Integer { .. } => continue,
            };
            let _ = writeln!(
                out,
                "\tif err := {check}; err != nil {{\n\t\treturn 0, err\n\t}}"
            );
        }
        let _ = writeln!(
            out,
            "\treturn p.Publish(ctx, {}, payload)\n}}",
            pattern_name(family, &params)
        );
    }
}
