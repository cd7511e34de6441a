//! Code generation for a validated handler. Generated code is glue: every
//! decision and error mapping lives in `rpc_core::__private`.

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
            ::core::option::Option::Some(#krate::__private::schema_for::<#ty>)),
        None => quote!(::core::option::Option::None),
    };

    let output_ty = handler.output.full_type();
    let (wrap_output, ok_ty) = match &handler.output {
        Output::Result { .. } => (
            quote!(),
            quote!(<#output_ty as #krate::__private::HandlerOutput>::Ok),
        ),
        Output::Plain(ty) => (quote!(#krate::__private::Value), quote!(#ty)),
    };

    let args = quote!(__rpc_ctx, __rpc_params);
    let (helper, handler_args) = match (&handler.context, &handler.params) {
        (Some(Context::Borrowed), Some(_)) => (quote!(call), quote!(&__rpc_ctx, __rpc_params)),
        (Some(Context::Borrowed), None) => (quote!(call), quote!(&__rpc_ctx)),
        (Some(Context::Extracted(_)), Some(_)) => (quote!(call_extracted), quote!(#args)),
        (Some(Context::Extracted(_)), None) => (quote!(call_extracted), quote!(__rpc_ctx)),
        (None, Some(_)) => (quote!(call), quote!(__rpc_params)),
        (None, None) => (quote!(call), quote!()),
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
                __rpc_raw: #krate::__private::RawParams,
            ) -> #krate::__private::BoxReply {
                #krate::__private::#helper(__rpc_conn, __rpc_raw, #decode, |#args| async move {
                    #wrap_output(#fn_ident(#handler_args).await)
                })
            }

            impl #krate::Method for #marker {
                const NAME: &'static str = #method;
                type Params = #params_ty;
                type Output = #ok_ty;
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
                    result_schema: #krate::__private::schema_for::<#ok_ty>,
                };
            }

            #krate::__private::submit! { <#marker as #krate::Method>::REGISTRATION }
        };
    }
}

/// Compile-time checks spanned at the user's own types, so a missing derive
/// is reported on `TaskStatsParams`, not inside generated code.
fn assertions(krate: &Path, handler: &Handler) -> TokenStream {
    let mut checks = Vec::new();
    if let Some(Context::Extracted(ty)) = &handler.context {
        checks.push(quote_spanned!(span_of(ty)=> #krate::__private::assert_context::<#ty>();));
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
/// given, else `rpc-core` under whatever name `Cargo.toml` gives it, else the
/// copy re-exported by `rpc-server` or `rpc-client`.
fn runtime_path(f: &RpcFn) -> Path {
    if let Some(path) = &f.attr.krate {
        return path.clone();
    }
    let found = |name: &str| crate_name(name).ok();
    if let Some(found) = found("rpc-core") {
        return match found {
            FoundCrate::Itself => syn::parse_quote!(::rpc_core),
            FoundCrate::Name(name) => {
                let ident = format_ident!("{}", name);
                syn::parse_quote!(::#ident)
            }
        };
    }
    for facade in ["rpc-server", "rpc-client"] {
        if let Some(found) = found(facade) {
            let ident = match found {
                FoundCrate::Itself => format_ident!("{}", facade.replace('-', "_")),
                FoundCrate::Name(name) => format_ident!("{}", name),
            };
            return syn::parse_quote!(::#ident::__rpc_core);
        }
    }
    syn::parse_quote!(::rpc_core)
}
