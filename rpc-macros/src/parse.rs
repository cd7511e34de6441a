//! Reading the attribute arguments and the annotated function.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, LitStr, Path, Token};

/// Everything the attribute was given, not yet validated.
pub(crate) struct RpcFn {
    pub(crate) attr: RpcAttr,
    pub(crate) func: ItemFn,
}

/// The attribute's own arguments: `("tasks.get_stats", crate = path)`.
pub(crate) struct RpcAttr {
    /// The method name literal, if one was given.
    pub(crate) method: Option<LitStr>,
    /// `crate = path`: where the runtime crate lives, overriding the lookup.
    pub(crate) krate: Option<Path>,
    /// Arguments that could not be understood; reported by `check`.
    pub(crate) errors: Vec<syn::Error>,
}

impl RpcFn {
    /// Fails only when the item is not a function; everything else is left
    /// for `check` so that all problems are reported together.
    pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Self> {
        let func: ItemFn = syn::parse2(item)?;
        let attr = match syn::parse2::<RpcAttr>(attr) {
            Ok(attr) => attr,
            Err(error) => RpcAttr {
                method: None,
                krate: None,
                errors: vec![error],
            },
        };
        Ok(Self { attr, func })
    }

    /// The handler's doc comment, one line per `///` line, outer blank lines
    /// removed: it becomes the method's documentation in generated clients.
    pub(crate) fn doc(&self) -> String {
        doc_comment(&self.func.attrs)
    }

    /// The span to blame for problems with the attribute as a whole.
    pub(crate) fn attr_span(&self) -> Span {
        self.attr
            .method
            .as_ref()
            .map_or_else(Span::call_site, LitStr::span)
    }
}

impl Parse for RpcAttr {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attr = RpcAttr {
            method: None,
            krate: None,
            errors: Vec::new(),
        };
        for arg in Punctuated::<Expr, Token![,]>::parse_terminated(input)? {
            match ungroup(arg) {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) if attr.method.is_none() => attr.method = Some(name),
                Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) => attr.errors.push(syn::Error::new(
                    name.span(),
                    "a handler has exactly one method name; remove this one",
                )),
                Expr::Lit(lit) => attr.errors.push(syn::Error::new_spanned(
                    lit,
                    "the method name must be a string literal, like \"tasks.get_stats\"",
                )),
                Expr::Assign(assign) if is_crate_keyword(&assign.left) => match *assign.right {
                    Expr::Path(path) => attr.krate = Some(path.path),
                    other => attr.errors.push(syn::Error::new_spanned(
                        other,
                        "expected a path, like `crate = ::wirecall_server::__wirecall_core`",
                    )),
                },
                other => attr.errors.push(syn::Error::new_spanned(
                    other,
                    "unknown argument; `#[websocket_rpc]` takes the method name, like \
                     `#[websocket_rpc(\"tasks.get_stats\")]`, and optionally `crate = path`",
                )),
            }
        }
        Ok(attr)
    }
}

/// An item's doc comment, one line per `///` line, outer blank lines
/// removed.
pub(crate) fn doc_comment(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned()
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// A `$name:literal` passed through `macro_rules!` arrives wrapped in an
/// invisible group; the name inside is what counts.
fn ungroup(mut expr: Expr) -> Expr {
    while let Expr::Group(group) = expr {
        expr = *group.expr;
    }
    expr
}

fn is_crate_keyword(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.segments.len() == 1
        && p.path.segments.first().is_some_and(|s| s.ident == "crate"))
}
