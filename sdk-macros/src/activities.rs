//! `#[activities]` on an impl block: every method is an activity (`#[activity(name = "...")]`
//! renames one); async methods run on the runtime, plain `fn`s on the blocking pool.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{FnArg, ImplItem, ItemImpl, LitStr, Pat, Type};

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            "#[activities] takes no arguments; rename one activity with #[activity(name = \"...\")]",
        ));
    }
    let mut block: ItemImpl = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), "#[activities] goes on an `impl` block"))?;
    if block.trait_.is_some() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "#[activities] goes on an inherent `impl` block",
        ));
    }
    let self_ty = block.self_ty.clone();
    let mut registrations = Vec::new();
    let mut table = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut errors: Vec<syn::Error> = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let mut name = method.sig.ident.to_string();
        let mut attr_error = None;
        method.attrs.retain(|a| {
            if !a.path().is_ident("activity") {
                return true;
            }
            if !matches!(a.meta, syn::Meta::Path(_)) {
                let result = a.parse_nested_meta(|meta| {
                    if meta.path.is_ident("name") {
                        let lit: LitStr = meta.value()?.parse()?;
                        name = lit.value();
                        Ok(())
                    } else {
                        Err(meta.error("expected `name = \"...\"`"))
                    }
                });
                if let Err(e) = result {
                    attr_error = Some(e);
                }
            }
            false
        });
        if let Some(e) = attr_error {
            errors.push(e);
            continue;
        }
        let sig = &method.sig;
        let mut inputs = sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
            _ => {
                errors.push(syn::Error::new_spanned(&sig.ident, "an activity takes `&self` first (the group's shared state), then `ctx: ActivityContext`"));
                continue;
            }
        }
        if !matches!(inputs.next(), Some(FnArg::Typed(_))) {
            errors.push(syn::Error::new_spanned(
                &sig.ident,
                "the second parameter of an activity is `ctx: ActivityContext`",
            ));
            continue;
        }
        let mut tys: Vec<Type> = Vec::new();
        for input in inputs {
            let FnArg::Typed(pt) = input else { continue };
            if !matches!(&*pt.pat, Pat::Ident(_) | Pat::Wild(_)) {
                errors.push(syn::Error::new_spanned(
                    &pt.pat,
                    "activity arguments must be plain names",
                ));
            }
            if matches!(&*pt.ty, Type::Reference(_)) {
                errors.push(syn::Error::new_spanned(&pt.ty, "activity arguments arrive owned (they are decoded from payloads): take `T`, not `&T`"));
            }
            tys.push((*pt.ty).clone());
        }
        if let Some(prev) = names.insert(name.clone(), sig.ident.clone()) {
            errors.push(syn::Error::new_spanned(
                &sig.ident,
                format!("activity name {name:?} is also used by `{prev}`"),
            ));
        }
        let ident = &sig.ident;
        let a: Vec<syn::Ident> = (0..tys.len()).map(|i| format_ident!("__a{i}")).collect();
        let body = if sig.asyncness.is_some() {
            quote! { async move { __t.#ident(__ctx, #(#a),*).await } }
        } else {
            quote! { ::reprise::__private::run_blocking(move || __t.#ident(__ctx, #(#a),*)) }
        };
        registrations.push(quote! {{
            let __g = ::std::sync::Arc::clone(&self);
            __registry.register(#name, move |__ctx: ::reprise::__private::ActivityContext, (#(#a,)*): (#(#tys,)*)| {
                let __t = ::std::sync::Arc::clone(&__g);
                #body
            })?;
        }});
        table.push(quote! { if __id == ::reprise::__private::method_id(&<#self_ty>::#ident) { return ::std::option::Option::Some(#name); } });
    }
    if registrations.is_empty() && errors.is_empty() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[activities] found no activity methods in this impl block",
        ));
    }
    if !errors.is_empty() {
        let errors = errors.iter().map(syn::Error::to_compile_error);
        return Ok(quote! { #block #(#errors)* });
    }
    Ok(quote! {
        #block

        impl ::reprise::__private::ActivityDefinitions for #self_ty {
            fn __register(
                self: ::std::sync::Arc<Self>,
                __registry: &mut ::reprise::__private::ActivityRegistry,
            ) -> ::std::result::Result<(), ::reprise::__private::RegistrationError> {
                #(#registrations)*
                ::std::result::Result::Ok(())
            }

            fn __activity_name(__id: ::std::any::TypeId) -> ::std::option::Option<&'static str> {
                #(#table)*
                ::std::option::Option::None
            }
        }
    })
}
