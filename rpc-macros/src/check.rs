//! Validation: turns an [`RpcFn`] into a [`Handler`] plan, or into every
//! problem found, each spanned at the smallest offending tokens.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, PathArguments, ReturnType, Type};

use crate::parse::RpcFn;

/// What the expansion needs to know about a valid handler.
pub(crate) struct Handler {
    pub(crate) method: String,
    /// The arguments before the params, in order: the connection and
    /// extractors.
    pub(crate) context: Vec<Context>,
    pub(crate) params: Option<Type>,
    pub(crate) output: Output,
}

/// How the handler receives one context argument.
// Lives for one macro expansion; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Context {
    /// `conn: &Conn`: a borrow of the connection.
    Borrowed,
    /// `State(db): State<Db>` or `conn: Conn`: a value built by `FromConn`.
    Extracted(Type),
}

/// Context arguments a handler may take: the tuples `FromConn` is
/// implemented for go up to four.
const MAX_CONTEXT_ARGS: usize = 4;

/// The handler's declared return type.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Output {
    /// `-> Result<T, E>`: `ok` is `T` and `err` is `E` when written out.
    Result {
        ty: Type,
        ok: Option<Type>,
        err: Option<Type>,
    },
    /// `-> T` (or no return type, which is `()`).
    Plain(Type),
}

impl Output {
    /// The type whose schema describes the method's result.
    pub(crate) fn full_type(&self) -> &Type {
        match self {
            Output::Result { ty, .. } | Output::Plain(ty) => ty,
        }
    }
}

pub(crate) fn check(f: &RpcFn) -> syn::Result<Handler> {
    let mut errors: Vec<syn::Error> = f.attr.errors.clone();
    let sig = &f.func.sig;

    let method = match &f.attr.method {
        None if f.attr.errors.is_empty() => {
            errors.push(syn::Error::new(
                Span::call_site(),
                "missing method name; write `#[websocket_rpc(\"namespace.method\")]`",
            ));
            String::new()
        }
        None => String::new(),
        Some(lit) => {
            let name = lit.value();
            if let Err(why) = validate_method_name(&name) {
                errors.push(syn::Error::new(lit.span(), why));
            }
            name
        }
    };

    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "expected an `async fn`; add `async`",
        ));
    }
    if let Some(receiver) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            receiver,
            "handlers are free functions; remove `self` and move the function out of the `impl` block",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "handlers cannot be generic: the registry needs one concrete params and result type; \
             remove the generic parameters",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "handlers cannot be variadic",
        ));
    }

    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(pat),
            FnArg::Receiver(_) => None,
        })
        .collect();
    for extra in typed.iter().skip(MAX_CONTEXT_ARGS + 1) {
        errors.push(syn::Error::new_spanned(
            extra,
            "too many arguments; a handler takes at most four context arguments (`&Conn`, \
             extractors such as `State<T>`) and one params value (put several values in one \
             params struct)",
        ));
    }
    for arg in &typed {
        if let Type::ImplTrait(it) = &*arg.ty {
            errors.push(syn::Error::new_spanned(
                it,
                "handlers cannot be generic; name a concrete type instead of `impl Trait`",
            ));
        }
    }

    // Only the connection is borrowed; an extractor is a value.
    let context_args = match typed.as_slice() {
        [only] => &typed[..usize::from(matches!(&*only.ty, Type::Reference(_)))],
        [context @ .., _] => context,
        [] => &[],
    };
    for arg in context_args {
        if let Type::Reference(reference) = &*arg.ty
            && !is_conn(&reference.elem)
        {
            errors.push(syn::Error::new_spanned(
                reference,
                "only the connection is borrowed (`conn: &Conn`); take extractors by value, \
                 like `State(db): State<Db>`",
            ));
        }
    }

    let (context, params) = match typed.as_slice() {
        [] => (Vec::new(), None),
        // One argument: a borrow is the context, a value is the params.
        [only] => match &*only.ty {
            Type::Reference(_) => (vec![Context::Borrowed], None),
            ty => (Vec::new(), Some(ty.clone())),
        },
        // Several: the last is the params, the ones before are context.
        [context @ .., params] => {
            let context = context
                .iter()
                .take(MAX_CONTEXT_ARGS)
                .map(|arg| match &*arg.ty {
                    Type::Reference(_) => Context::Borrowed,
                    ty => Context::Extracted(ty.clone()),
                })
                .collect();
            if let Type::Reference(reference) = &*params.ty {
                errors.push(syn::Error::new_spanned(
                    reference,
                    "params are decoded fresh for each call and must be taken by value; \
                     remove the `&`",
                ));
            }
            (context, Some((*params.ty).clone()))
        }
    };

    let output = match &sig.output {
        ReturnType::Default => Output::Plain(syn::parse_quote!(())),
        ReturnType::Type(_, ty) => classify_output(ty),
    };

    match errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    }) {
        Some(error) => Err(error),
        None => Ok(Handler {
            method,
            context,
            params,
            output,
        }),
    }
}

/// Whether `ty` names the connection context (`Conn`, at any path).
fn is_conn(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "Conn"))
}

/// `Result<T, E>` (any path ending in `Result`, including aliases such as
/// `wirecall_core::Result<T>`) is a fallible handler; anything else is a value.
fn classify_output(ty: &Type) -> Output {
    if let Type::Path(path) = ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
    {
        let mut args = match &last.arguments {
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .into_iter(),
            _ => Vec::new().into_iter(),
        };
        return Output::Result {
            ty: ty.clone(),
            ok: args.next(),
            err: args.next(),
        };
    }
    Output::Plain(ty.clone())
}

/// Method names are `segment(.segment)*` with segments of `[a-z0-9_]+`.
fn validate_method_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the method name is empty; name it like \"tasks.get_stats\"".into());
    }
    if name.split('.').any(str::is_empty) {
        return Err(format!(
            "invalid method name {name:?}: empty segment; segments are separated by single dots, \
             like \"tasks.get_stats\""
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '.'))
    {
        return Err(format!(
            "invalid method name {name:?}: {bad:?} is not allowed; use lowercase letters, digits \
             and `_` in dot-separated segments, like \"tasks.get_stats\""
        ));
    }
    Ok(())
}

/// The span of a type, for `quote_spanned!` assertions that blame it.
pub(crate) fn span_of(ty: &Type) -> Span {
    ty.span()
}

#[cfg(test)]
mod tests {
    use super::validate_method_name;

    #[test]
    fn method_names() {
        for ok in ["tasks.get_stats", "users.v2.get", "ping", "a_b.c9"] {
            assert!(validate_method_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Tasks.x",
            "tasks..x",
            "tasks get",
            ".x",
            "x.",
            "a-b",
            "tâches.x",
        ] {
            assert!(validate_method_name(bad).is_err(), "{bad}");
        }
    }
}
