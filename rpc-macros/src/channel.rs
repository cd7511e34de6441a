//! `#[websocket_channel("chat:room:{room_id}", payload = ChatMessage)]` on
//! the struct of a family's parameters: read the arguments, check the
//! pattern against the struct's fields (every problem at once), and emit
//! the family's marker and registration.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Fields, Ident, ItemStruct, LitBool, LitStr, Path, Token, Type};

use crate::expand::runtime_path_or;
use crate::parse::doc_comment;

/// The longest channel name, in bytes (the server's limit).
const MAX_CHANNEL_LENGTH: usize = 255;

/// The attribute's arguments.
struct ChannelAttr {
    pattern: Option<LitStr>,
    payload: Option<Type>,
    validate: bool,
    krate: Option<Path>,
    errors: Vec<syn::Error>,
}

impl Parse for ChannelAttr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attr = ChannelAttr {
            pattern: None,
            payload: None,
            validate: true,
            krate: None,
            errors: Vec::new(),
        };
        while !input.is_empty() {
            if input.peek(LitStr) {
                let pattern: LitStr = input.parse()?;
                if attr.pattern.is_some() {
                    attr.errors.push(syn::Error::new(
                        pattern.span(),
                        "a family has exactly one pattern; remove this one",
                    ));
                }
                attr.pattern.get_or_insert(pattern);
            } else if input.peek(Token![crate]) {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                attr.krate = Some(input.parse()?);
            } else {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                match key.to_string().as_str() {
                    "payload" => attr.payload = Some(input.parse()?),
                    "validate" => attr.validate = input.parse::<LitBool>()?.value,
                    _ => {
                        return Err(syn::Error::new(
                            key.span(),
                            "unknown argument; `#[websocket_channel]` takes the name pattern, \
                             like `\"chat:room:{room_id}\"`, `payload = Type`, and optionally \
                             `validate = false` and `crate = path`",
                        ));
                    }
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(attr)
    }
}

/// One part of a pattern, as read.
enum Part {
    Literal(String),
    Param(String),
}

/// Reads `pattern` into parts, or says what is wrong with it.
fn read_pattern(pattern: &str) -> Result<Vec<Part>, String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".into());
    }
    if pattern.len() > MAX_CHANNEL_LENGTH {
        return Err(format!(
            "the pattern is {} bytes long; channel names stop at {MAX_CHANNEL_LENGTH}",
            pattern.len()
        ));
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("channel names hold no whitespace or control characters".into());
    }
    let mut parts = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            Some(0) if rest.starts_with('{') => {
                let Some(end) = rest.find('}') else {
                    return Err("a `{` is not closed".into());
                };
                let name = &rest[1..end];
                let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !identifier {
                    return Err(format!(
                        "`{{{name}}}` does not name a field: write `{{field_name}}`"
                    ));
                }
                if matches!(parts.last(), Some(Part::Param(_))) {
                    return Err(format!(
                        "`{{{name}}}` follows another parameter: put literal text between two \
                         parameters so a name splits one way"
                    ));
                }
                parts.push(Part::Param(name.to_owned()));
                rest = &rest[end + 1..];
            }
            Some(0) => return Err("a `}` has no `{`".into()),
            found => {
                let end = found.unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
    }
    check_anatomy(&parts)?;
    Ok(parts)
}

/// The namespace is literal, a `,` belongs to user lists only, and a `#`
/// is followed by exactly one parameter: the user.
fn check_anatomy(parts: &[Part]) -> Result<(), String> {
    let literal_prefix = match parts.first() {
        Some(Part::Literal(text)) => text.as_str(),
        _ => "",
    };
    let whole: String = parts
        .iter()
        .map(|part| match part {
            Part::Literal(text) => text.as_str(),
            Part::Param(_) => "{}",
        })
        .collect();
    if whole.contains(':') && !literal_prefix.contains(':') {
        return Err(
            "the namespace (the part before the first `:`) must be literal: the server's \
             namespace options apply to it"
                .into(),
        );
    }
    if whole.contains(',') {
        return Err(
            "`,` separates the users of a user-limited channel; use another separator".into(),
        );
    }
    let hashes = whole.matches('#').count();
    if hashes > 1 {
        return Err("a pattern has at most one `#`".into());
    }
    if hashes == 1 {
        let user_part = matches!(parts,
            [.., Part::Literal(before), Part::Param(_)] if before.ends_with('#'));
        if !user_part {
            return Err(
                "a `#` makes a user-limited channel: it must be followed by exactly one \
                 parameter, the user, and end the pattern (`tasks:{task_id}#{user}`)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// `ChatRoom` → `chat_room`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The attribute's expansion: the struct back with the marker and the
/// registration, or every error found (the caller gives the item back
/// with them).
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let item_struct: ItemStruct = syn::parse2(item).map_err(|_| {
        syn::Error::new(
            Span::call_site(),
            "`#[websocket_channel]` goes on the struct of a family's parameters, like \
             `struct ChatRoom { room_id: u64 }`",
        )
    })?;
    let attr = syn::parse2::<ChannelAttr>(attr)?;
    let plan = plan(&attr, &item_struct)?;
    Ok(emit(&attr, &item_struct, &plan))
}

/// What the checks found: the pattern's parts with each parameter's field
/// type, and the payload.
struct Plan {
    pattern: String,
    parts: Vec<(Part, Option<Type>)>,
    payload: Type,
}

fn plan(attr: &ChannelAttr, item: &ItemStruct) -> Result<Plan, syn::Error> {
    let mut errors: Vec<syn::Error> = attr.errors.clone();
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.generics,
            "a channel family's parameters cannot be generic",
        ));
    }
    // By their names without `r#`: `{type}` is the field `r#type`.
    let fields: Vec<(Ident, Type)> = match &item.fields {
        Fields::Named(named) => named
            .named
            .iter()
            .filter_map(|field| Some((field.ident.clone()?, field.ty.clone())))
            .collect(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(unnamed) => {
            errors.push(syn::Error::new_spanned(
                unnamed,
                "name the fields: the pattern refers to them by name",
            ));
            Vec::new()
        }
    };
    let mut parts = Vec::new();
    let pattern_span = attr
        .pattern
        .as_ref()
        .map_or_else(Span::call_site, LitStr::span);
    match &attr.pattern {
        None => errors.push(syn::Error::new(
            Span::call_site(),
            "missing the name pattern: `#[websocket_channel(\"chat:room:{room_id}\", payload = \
             ChatMessage)]`",
        )),
        Some(pattern) => match read_pattern(&pattern.value()) {
            Err(reason) => errors.push(syn::Error::new(pattern_span, reason)),
            Ok(read) => {
                let mut used = Vec::new();
                for part in read {
                    let ty = match &part {
                        Part::Param(name) => {
                            match fields.iter().find(|(ident, _)| ident.unraw() == name) {
                                Some((_, ty)) => Some(ty.clone()),
                                None => {
                                    let known: Vec<String> =
                                        fields.iter().map(|(ident, _)| ident.to_string()).collect();
                                    errors.push(syn::Error::new(
                                        pattern_span,
                                        format!(
                                            "`{{{name}}}`: `{}` has no field `{name}`{}",
                                            item.ident,
                                            if known.is_empty() {
                                                String::new()
                                            } else {
                                                format!(" (its fields: {})", known.join(", "))
                                            }
                                        ),
                                    ));
                                    None
                                }
                            }
                        }
                        Part::Literal(_) => None,
                    };
                    if let Part::Param(name) = &part {
                        if used.contains(name) {
                            errors.push(syn::Error::new(
                                pattern_span,
                                format!("`{{{name}}}` appears twice in the pattern"),
                            ));
                        }
                        used.push(name.clone());
                    }
                    parts.push((part, ty));
                }
                for (ident, _) in &fields {
                    let name = ident.unraw();
                    if !used.iter().any(|used| name == used) {
                        errors.push(syn::Error::new(
                            ident.span(),
                            format!(
                                "field `{name}` is not in the pattern: every field names a part \
                                 of the channel (add `{{{name}}}`, or remove the field)"
                            ),
                        ));
                    }
                }
            }
        },
    }
    if attr.payload.is_none() {
        errors.push(syn::Error::new(
            pattern_span,
            "missing `payload = Type`: what the family's publications carry",
        ));
    }
    let mut errors = errors.into_iter();
    if let Some(mut first) = errors.next() {
        first.extend(errors);
        return Err(first);
    }
    Ok(Plan {
        pattern: attr.pattern.as_ref().map(LitStr::value).unwrap_or_default(),
        parts,
        payload: attr
            .payload
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(())),
    })
}

fn emit(attr: &ChannelAttr, item: &ItemStruct, plan: &Plan) -> TokenStream {
    let krate = runtime_path_or(attr.krate.as_ref());
    let ident = &item.ident;
    let vis = &item.vis;
    let family = snake_case(&ident.to_string());
    let marker = format_ident!("{}", family, span = ident.span());
    let pattern = &plan.pattern;
    let payload = &plan.payload;
    let doc = doc_comment(&item.attrs);
    let marker_doc = format!(
        "Typed marker of the channel family `{pattern}` (parameters `{ident}`): \
         `publisher.channel::<{family}>({ident} {{ .. }}).publish(&payload)`."
    );
    let segments = plan.parts.iter().map(|(part, ty)| match (part, ty) {
        (Part::Literal(text), _) => quote!(#krate::Segment::Literal(#text)),
        (Part::Param(name), Some(ty)) => quote!(#krate::Segment::Param {
            name: #name,
            kind: <#ty as #krate::ChannelParam>::KIND,
        }),
        (Part::Param(_), None) => quote!(),
    });
    let values = plan.parts.iter().filter_map(|(part, _)| match part {
        Part::Param(name) => {
            let field = syn::Ident::new_raw(name, proc_macro2::Span::call_site());
            Some(quote!(&params.#field as &dyn ::core::fmt::Display))
        }
        Part::Literal(_) => None,
    });
    let param_checks = plan.parts.iter().filter_map(|(_, ty)| {
        let ty = ty.as_ref()?;
        Some(quote_spanned!(ty.span()=> #krate::__private::assert_channel_param::<#ty>();))
    });
    let payload_span = payload.span();
    let checked = if attr.validate {
        Some(
            quote_spanned!(payload_span=> #krate::__private::assert_checked_payload::<#payload>();),
        )
    } else {
        None
    };
    let check = if attr.validate {
        quote_spanned!(payload_span=>
            ::core::option::Option::Some(#krate::__private::check_publication::<#payload>))
    } else {
        quote!(::core::option::Option::None)
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    quote! {
        #item

        #[doc = #marker_doc]
        #[allow(non_camel_case_types)]
        #vis enum #marker {}

        const _: () = {
            #[allow(dead_code)]
            fn __channel_assert_bounds() {
                #(#param_checks)*
                #krate::__private::assert_channel_payload::<#payload>();
                #checked
            }

            impl #krate::ChannelFamily for #marker {
                const NAME: &'static str = #family;
                const PATTERN: &'static str = #pattern;
                const SEGMENTS: &'static [#krate::Segment] = &[#(#segments),*];
                type Params = #ident;
                type Payload = #payload;

                #[allow(unused_variables)]
                fn channel(params: &#ident) -> ::core::result::Result<::std::string::String, #krate::RpcError> {
                    #krate::channel_name(Self::SEGMENTS, &[#(#values),*])
                }
            }

            #krate::__private::submit! {
                #krate::ChannelRegistration {
                    name: #family,
                    pattern: #pattern,
                    segments: <#marker as #krate::ChannelFamily>::SEGMENTS,
                    doc: #doc,
                    payload_schema: #krate::__private::payload_schema::<#payload>,
                    check: #check,
                    location: #krate::Location {
                        file: ::core::file!(),
                        line: #line,
                        module: ::core::module_path!(),
                    },
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(pattern: &str) -> Result<usize, String> {
        read_pattern(pattern).map(|parts| parts.len())
    }

    #[test]
    fn patterns() {
        assert_eq!(reads("chat:room:{room_id}"), Ok(2));
        assert_eq!(reads("tasks:{task_id}#{user}"), Ok(4));
        assert_eq!(reads("news"), Ok(1));
        assert_eq!(reads("docs:{doc}.viewers"), Ok(3));
        for bad in [
            "",
            "chat:{a}{b}",
            "{ns}:x",
            "chat:{a",
            "chat:a}",
            "chat:{1a}",
            "chat:#{user}x",
            "chat:{a}#lit",
            "chat:x#{a}#{b}",
            "chat:a,{b}",
            "chat: {a}",
        ] {
            assert!(reads(bad).is_err(), "{bad}");
        }
        assert_eq!(snake_case("ChatRoom"), "chat_room");
        assert_eq!(snake_case("Task"), "task");
    }
}
