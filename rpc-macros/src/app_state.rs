//! `#[derive(AppState)]`: a service's state as one struct, each field
//! shared with handlers by its type (`State<Db>` for a field of type `Db`;
//! a field `Arc<Cache>` is shared as it is, for `State<Cache>`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

use crate::expand::runtime_path_or;

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(AppState)] needs a concrete struct: handlers find state by type",
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(AppState)] is for structs whose fields are the shared values",
        ));
    };
    let krate = runtime_path_or(None);
    let name = &input.ident;
    let mut seen: Vec<(String, &Type)> = Vec::new();
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut adds = Vec::new();
    for (index, field) in data.fields.iter().enumerate() {
        let access = match &field.ident {
            Some(ident) => quote!(#ident),
            None => {
                let index = syn::Index::from(index);
                quote!(#index)
            }
        };
        let (shared, arc) = match arc_inner(&field.ty) {
            Some(inner) => (inner, true),
            None => (&field.ty, false),
        };
        let key = quote!(#shared).to_string();
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            let mut error = syn::Error::new(
                field.ty.span(),
                format!(
                    "two fields share the type `{key}`: State<{key}> could not tell them apart; \
                     wrap one in a newtype"
                ),
            );
            error.combine(syn::Error::new(first.span(), "the first one is here"));
            errors.push(error);
            continue;
        }
        seen.push((key, shared));
        adds.push(if arc {
            quote_spanned!(field.ty.span()=> .with_arc(value.#access))
        } else {
            quote_spanned!(field.ty.span()=> .with(value.#access))
        });
    }
    if let Some(error) = errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    }) {
        return Err(error);
    }
    if matches!(data.fields, Fields::Unit) {
        return Err(syn::Error::new_spanned(
            name,
            "#[derive(AppState)] needs fields: each is shared with handlers by its type",
        ));
    }
    Ok(quote! {
        impl ::core::convert::From<#name> for #krate::AppState {
            fn from(value: #name) -> Self {
                #krate::AppState::new() #(#adds)*
            }
        }
    })
}

/// `T` of a field typed `Arc<T>` (any path ending in `Arc`).
fn arc_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Arc" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
