//! Code generation for a validated handler. Generated code is glue: every
//! decision and error mapping lives in `wirecall_core::__private`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Path, Type};

use crate::check::{Context, Handler, Output, span_of};
use crate::parse::RpcFn;

pub(crate) fn expand(f: &RpcFn, handler: &Handler) -> TokenStream {
    let krate = runtime_path(f);
    let func = &f.func;
    let vis = &func.vis;
    let fn_ident = &func.sig.ident;
    let method = &handler.method;
    let marker = marker_ident(method, f.attr_span());
    let doc = f.doc();
    let marker_doc = format!(
        "Typed marker of the `{method}` RPC method (handler `{fn_ident}`): names the method, its \
         params and its result type for typed clients, e.g. `client.call::<{marker}>(params)`."
    );

    let params_ty: Type = handler
        .params
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(()));
    let decode = match &handler.params {
        Some(ty) => quote_spanned!(span_of(ty)=> #krate::__private::decode_params::<#ty>),
        None => quote!(#krate::__private::decode_no_params),
    };
    let params_schema = match &handler.params {
        Some(ty) => quote_spanned!(span_of(ty)=>
            ::core::option::Option::Some(#krate::__private::params_schema::<#ty>)),
        None => quote!(::core::option::Option::None),
    };

    let output_ty = handler.output.full_type();
    // Every use of the user's types is spanned at them, with the same bound
    // as the assertions below, so a missing derive is one error on the type.
    let output_span = span_of(output_ty);
    let (wrap_output, ok_ty) = match &handler.output {
        Output::Result { ok: Some(ok), .. } => (quote!(), quote!(#ok)),
        Output::Result { ok: None, .. } => (
            quote!(),
            quote_spanned!(output_span=> <#output_ty as #krate::__private::HandlerOutput>::Ok),
        ),
        Output::Plain(ty) => (
            quote_spanned!(output_span=> #krate::__private::Value),
            quote!(#ty),
        ),
    };
    let result_schema = quote_spanned!(output_span=> #krate::__private::result_schema::<#ok_ty>);

    // `&Conn` alone is borrowed from the connection (`call`); otherwise
    // every context argument is extracted, several as one tuple, and a
    // `&Conn` among them is an extracted `Conn` passed by reference.
    let params_arg = handler.params.as_ref().map(|_| quote!(__rpc_params));
    let (helper, closure_args, handler_args, extracted) = match handler.context.as_slice() {
        [] | [Context::Borrowed] => {
            let ctx = (!handler.context.is_empty()).then(|| quote!(&__rpc_ctx));
            let args = ctx.into_iter().chain(params_arg.clone());
            (
                quote!(call),
                quote!(__rpc_ctx, __rpc_params),
                quote!(#(#args),*),
                None,
            )
        }
        context => {
            let names: Vec<Ident> = (0..context.len())
                .map(|n| format_ident!("__rpc_ctx{n}"))
                .collect();
            let types = context.iter().map(|arg| match arg {
                Context::Borrowed => quote!(#krate::Conn),
                Context::Extracted(ty) => quote!(#ty),
            });
            let passed = context.iter().zip(&names).map(|(arg, name)| match arg {
                Context::Borrowed => quote!(&#name),
                Context::Extracted(_) => quote!(#name),
            });
            let args = passed.chain(params_arg.clone());
            let (pattern, extracted) = if let [name] = names.as_slice() {
                (quote!(#name), quote!(#(#types)*))
            } else {
                (quote!((#(#names,)*)), quote!((#(#types,)*)))
            };
            (
                quote!(call_extracted),
                quote!(#pattern, __rpc_params),
                quote!(#(#args),*),
                Some(extracted),
            )
        }
    };
    let check_state = match &extracted {
        Some(ty) => quote!(<#ty as #krate::FromConn>::check_state),
        None => quote!(#krate::__private::no_state),
    };
    let turbofish = extracted.as_ref().map(|ty| quote!(::<#ty, _, _, _, _>));
    let awaited = quote!(#fn_ident(#handler_args).await);
    let body = if wrap_output.is_empty() {
        awaited
    } else {
        quote!(#wrap_output(#awaited))
    };
    let helper_ident = Ident::new(&helper.to_string(), output_span);
    let spanned_krate = respan(quote!(#krate), output_span);
    // Spanned at the return type: if it is not a valid output, that is where
    // the compiler points.
    // The variables keep the call-site span: under `macro_rules!` the
    // return type's span has the macro's hygiene, and they would not match
    // their declarations below.
    let (conn_var, raw_var) = (quote!(__rpc_conn), quote!(__rpc_raw));
    let dispatch = quote_spanned! {output_span=>
        #spanned_krate::__private::#helper_ident #turbofish(#conn_var, #raw_var, #decode, |#closure_args| async move {
            #body
        })
    };

    let assertions = assertions(&krate, handler);
    let line = quote_spanned!(fn_ident.span()=> ::core::line!());

    quote! {
        #func

        #[doc = #marker_doc]
        #[allow(non_camel_case_types)]
        #vis enum #marker {}

        const _: () = {
            #assertions

            #[allow(unused_variables)]
            fn __rpc_call(
                __rpc_conn: #krate::Conn,
                __rpc_raw: #krate::__private::RawParams<'_>,
            ) -> #krate::__private::BoxReply {
                #dispatch
            }

            impl #krate::Method for #marker {
                const NAME: &'static str = #method;
                type Params = #params_ty;
                type Output = #ok_ty;
            }

            impl #krate::Handler for #marker {
                const REGISTRATION: #krate::Registration = #krate::Registration {
                    method: #method,
                    doc: #doc,
                    handler: ::core::stringify!(#fn_ident),
                    location: #krate::Location {
                        file: ::core::file!(),
                        line: #line,
                        module: ::core::module_path!(),
                    },
                    call: __rpc_call,
                    params_schema: #params_schema,
                    result_schema: #result_schema,
                    check_state: #check_state,
                };
            }

            #krate::__private::submit! { <#marker as #krate::Handler>::REGISTRATION }
        };
    }
}

/// Compile-time checks spanned at the user's own types, so a missing derive
/// is reported on `TaskStatsParams`, not inside generated code.
fn assertions(krate: &Path, handler: &Handler) -> TokenStream {
    let mut checks = Vec::new();
    for arg in &handler.context {
        if let Context::Extracted(ty) = arg {
            checks.push(quote_spanned!(span_of(ty)=> #krate::__private::assert_context::<#ty>();));
        }
    }
    if let Some(ty) = &handler.params {
        checks.push(quote_spanned!(span_of(ty)=> #krate::__private::assert_params::<#ty>();));
    }
    match &handler.output {
        Output::Plain(ty) => {
            checks.push(quote_spanned!(span_of(ty)=> #krate::__private::assert_result::<#ty>();));
        }
        Output::Result { ty, ok, err } => {
            match ok {
                Some(ok) => checks
                    .push(quote_spanned!(span_of(ok)=> #krate::__private::assert_result::<#ok>();)),
                None => checks.push(quote_spanned!(span_of(ty)=>
                    #krate::__private::assert_result::<<#ty as #krate::__private::HandlerOutput>::Ok>();)),
            }
            if let Some(err) = err {
                checks.push(
                    quote_spanned!(span_of(err)=> #krate::__private::assert_error::<#err>();),
                );
            }
        }
    }
    quote! {
        #[allow(dead_code)]
        fn __rpc_assert_bounds() { #(#checks)* }
    }
}

/// The same tokens with every span set to `span`, so that the compiler
/// attributes an expression built from them to the user's type.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// `tasks.get_stats` → `tasks_get_stats`; a leading digit gets a `_` prefix
/// and keywords become raw identifiers, so every valid method has a marker.
fn marker_ident(method: &str, span: Span) -> Ident {
    let mut name = method.replace('.', "_");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.is_empty() {
        return format_ident!("__rpc_unnamed", span = span);
    }
    match syn::parse_str::<Ident>(&name) {
        Ok(mut ident) => {
            ident.set_span(span);
            ident
        }
        Err(_) if matches!(name.as_str(), "crate" | "self" | "super") => {
            format_ident!("{}_", name, span = span)
        }
        Err(_) => Ident::new_raw(&name, span),
    }
}

/// Where the runtime lives from the user's point of view: `crate = path` if
/// given, else `wirecall-core` under whatever name `Cargo.toml` gives it, else the
/// copy re-exported by `wirecall-server` or `wirecall-client`.
fn runtime_path(f: &RpcFn) -> Path {
    runtime_path_or(f.attr.krate.as_ref())
}

/// [`runtime_path`] with the user's override, if any.
pub(crate) fn runtime_path_or(krate: Option<&Path>) -> Path {
    if let Some(path) = krate {
        return path.clone();
    }
    let found = |name: &str| crate_name(name).ok();
    if let Some(found) = found("wirecall-core") {
        return match found {
            FoundCrate::Itself => syn::parse_quote!(::wirecall_core),
            FoundCrate::Name(name) => {
                let ident = format_ident!("{}", name);
                syn::parse_quote!(::#ident)
            }
        };
    }
    for facade in ["wirecall-server", "wirecall-client"] {
        if let Some(found) = found(facade) {
            let ident = match found {
                FoundCrate::Itself => format_ident!("{}", facade.replace('-', "_")),
                FoundCrate::Name(name) => format_ident!("{}", name),
            };
            return syn::parse_quote!(::#ident::__wirecall_core);
        }
    }
    syn::parse_quote!(::wirecall_core)
}
