//! `#[workflow]` on an impl block: finds the handlers, checks their shapes and bodies, and
//! implements `WorkflowDefinition` (the run entry point with its handlers registered first, and
//! the method → name table behind typed references).

use crate::determinism;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, Type};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Run,
    Signal,
    Query,
    Update,
    Validator,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Signal => "signal",
            Kind::Query => "query",
            Kind::Update => "update",
            Kind::Validator => "update_validator",
        }
    }
}

struct Handler {
    kind: Kind,
    ident: syn::Ident,
    name: String,
    is_async: bool,
    arg_types: Vec<Type>,
    /// For validators: the update method they validate.
    validates: Option<syn::Ident>,
}

/// `name = "..."` from an attribute's arguments.
fn name_arg(attr: &syn::Attribute) -> syn::Result<Option<String>> {
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return Ok(None);
    }
    let mut name = None;
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "the name must not be empty"));
            }
            name = Some(lit.value());
            Ok(())
        } else {
            Err(meta.error("expected `name = \"...\"`"))
        }
    })?;
    Ok(name)
}

fn handler_of(method: &mut ImplItemFn) -> syn::Result<Option<Handler>> {
    let mut found: Option<(Kind, Option<String>, Option<syn::Ident>, Span)> = None;
    let mut error: Option<syn::Error> = None;
    method.attrs.retain(|attr| {
        let kind = [
            Kind::Run,
            Kind::Signal,
            Kind::Query,
            Kind::Update,
            Kind::Validator,
        ]
        .into_iter()
        .find(|k| attr.path().is_ident(k.attr()));
        let Some(kind) = kind else { return true };
        if found.is_some() {
            error = Some(syn::Error::new_spanned(
                attr,
                "a method can have only one handler attribute",
            ));
            return false;
        }
        if kind == Kind::Validator {
            match attr.parse_args::<syn::Ident>() {
                Ok(target) => found = Some((kind, None, Some(target), attr.span())),
                Err(_) => {
                    error = Some(syn::Error::new_spanned(
                        attr,
                        "write `#[update_validator(update_method)]`",
                    ))
                }
            }
        } else {
            match name_arg(attr) {
                Ok(name) => found = Some((kind, name, None, attr.span())),
                Err(e) => error = Some(e),
            }
        }
        false
    });
    if let Some(e) = error {
        return Err(e);
    }
    let Some((kind, name, validates, _span)) = found else {
        return Ok(None);
    };
    let sig = &method.sig;
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        Some(FnArg::Receiver(r)) if r.mutability.is_some() => {
            return Err(syn::Error::new_spanned(
                r,
                "workflow handlers take `&self`: keep state that handlers change in `reprise::workflow::State<T>` fields (a borrow of them cannot be held across an `.await`)",
            ));
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                "a workflow handler takes `&self` first, then `ctx: &WorkflowContext`",
            ));
        }
    }
    match inputs.next() {
        Some(FnArg::Typed(pt)) if matches!(&*pt.ty, Type::Reference(_)) => {}
        Some(other) => {
            return Err(syn::Error::new_spanned(
                other,
                "the second parameter of a workflow handler is `ctx: &WorkflowContext`",
            ));
        }
        None => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                "a workflow handler takes `&self, ctx: &WorkflowContext` and then its arguments",
            ));
        }
    }
    let mut arg_types = Vec::new();
    for input in inputs {
        let FnArg::Typed(pt) = input else { continue };
        if kind == Kind::Validator {
            // Validators see `&A`; the argument type is the referent.
            match &*pt.ty {
                Type::Reference(r) => arg_types.push((*r.elem).clone()),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "validator arguments are references to the update's arguments (`&T`)",
                    ));
                }
            }
        } else {
            if !matches!(&*pt.pat, Pat::Ident(_) | Pat::Wild(_)) {
                return Err(syn::Error::new_spanned(
                    &pt.pat,
                    "handler arguments must be plain names",
                ));
            }
            arg_types.push((*pt.ty).clone());
        }
    }
    let is_async = sig.asyncness.is_some();
    match kind {
        Kind::Run if !is_async => {
            return Err(syn::Error::new_spanned(
                sig.fn_token,
                "the `#[run]` method must be `async`",
            ));
        }
        Kind::Query if is_async => {
            return Err(syn::Error::new_spanned(
                sig.asyncness,
                "queries answer from state at once: a `#[query]` method must not be `async`",
            ));
        }
        Kind::Validator if is_async => {
            return Err(syn::Error::new_spanned(
                sig.asyncness,
                "an update validator must not be `async`",
            ));
        }
        _ => {}
    }
    let name = name.unwrap_or_else(|| sig.ident.to_string());
    Ok(Some(Handler {
        kind,
        ident: sig.ident.clone(),
        name,
        is_async,
        arg_types,
        validates,
    }))
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut workflow_name: Option<String> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            workflow_name = Some(lit.value());
            Ok(())
        } else {
            Err(meta.error("expected `name = \"...\"`"))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    let mut block: ItemImpl = match syn::parse2(item.clone()) {
        Ok(b) => b,
        Err(_) => {
            // On the struct itself: nothing to generate; the impl block carries the definition.
            if let Ok(s) = syn::parse2::<syn::ItemStruct>(item.clone()) {
                return Ok(quote!(#s));
            }
            return Err(syn::Error::new(
                Span::call_site(),
                "#[workflow] goes on the `impl` block of the workflow type",
            ));
        }
    };
    if block.trait_.is_some() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "#[workflow] goes on an inherent `impl` block, not a trait impl",
        ));
    }
    let self_ty = block.self_ty.clone();
    let type_name = match &*self_ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[workflow] needs a named type",
            ));
        }
    };
    let mut handlers = Vec::new();
    let mut errors: Vec<syn::Error> = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        errors.extend(determinism::check(method));
        determinism::strip(method);
        match handler_of(method) {
            Ok(Some(h)) => handlers.push(h),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    let runs: Vec<&Handler> = handlers.iter().filter(|h| h.kind == Kind::Run).collect();
    if runs.is_empty() && errors.is_empty() {
        errors.push(syn::Error::new_spanned(&block.self_ty, "a workflow needs one `#[run]` method (`async fn run(&self, ctx: &WorkflowContext, ...)`)"));
    }
    if runs.len() > 1 {
        errors.push(syn::Error::new_spanned(
            &runs[1].ident,
            "a workflow has exactly one `#[run]` method",
        ));
    }
    let mut seen = std::collections::HashMap::new();
    for h in handlers
        .iter()
        .filter(|h| matches!(h.kind, Kind::Signal | Kind::Query | Kind::Update))
    {
        if let Some(prev) = seen.insert((h.kind == Kind::Query, h.name.clone()), h.ident.clone()) {
            errors.push(syn::Error::new_spanned(
                &h.ident,
                format!("handler name {:?} is also used by `{prev}`", h.name),
            ));
        }
    }
    for v in handlers.iter().filter(|h| h.kind == Kind::Validator) {
        let target = v.validates.as_ref();
        if !handlers
            .iter()
            .any(|h| h.kind == Kind::Update && Some(&h.ident) == target)
        {
            let t = target.map(|t| t.to_string()).unwrap_or_default();
            errors.push(syn::Error::new_spanned(
                &v.ident,
                format!("`{t}` is not an `#[update]` method of this workflow"),
            ));
        }
    }
    if !errors.is_empty() {
        // Keep the (attribute-stripped) impl block so that the only errors are ours.
        let errors = errors.iter().map(syn::Error::to_compile_error);
        return Ok(quote! { #block #(#errors)* });
    }
    let run = runs[0];
    let name = workflow_name.unwrap_or(type_name);
    let args = |n: usize| -> Vec<syn::Ident> { (0..n).map(|i| format_ident!("__a{i}")).collect() };
    let run_ident = &run.ident;
    let run_tys = &run.arg_types;
    let run_args = args(run_tys.len());

    let mut registrations = Vec::new();
    for h in &handlers {
        let (ident, hname, tys) = (&h.ident, &h.name, &h.arg_types);
        let a = args(tys.len());
        let reg = match (h.kind, h.is_async) {
            (Kind::Signal, false) => quote! {
                __ctx.on_signal(#hname, move |(#(#a,)*): (#(#tys,)*)| { __t.#ident(&__c, #(#a),*); });
            },
            (Kind::Signal, true) => quote! {
                __ctx.on_signal(#hname, move |(#(#a,)*): (#(#tys,)*)| {
                    let (__t, __c2) = (__t.clone(), __c.clone());
                    __c.spawn(async move { __t.#ident(&__c2, #(#a),*).await; });
                });
            },
            (Kind::Query, _) => quote! {
                __ctx.on_query(#hname, move |(#(#a,)*): (#(#tys,)*)| __t.#ident(&__c, #(#a),*));
            },
            (Kind::Update, is_async) => {
                let call = if is_async {
                    quote! { let (__t, __c) = (__t.clone(), __c.clone()); async move { __t.#ident(&__c, #(#a),*).await } }
                } else {
                    quote! { let __r = __t.#ident(&__c, #(#a),*); async move { __r } }
                };
                let validator = handlers
                    .iter()
                    .find(|v| v.kind == Kind::Validator && v.validates.as_ref() == Some(ident));
                match validator {
                    Some(v) => {
                        let vident = &v.ident;
                        quote! {
                            let (__vt, __vc) = (__t.clone(), __c.clone());
                            __ctx.on_update_validated(
                                #hname,
                                move |__args: &(#(#tys,)*)| { let (#(ref #a,)*) = *__args; __vt.#vident(&__vc, #(#a),*) },
                                move |(#(#a,)*): (#(#tys,)*)| { #call },
                            );
                        }
                    }
                    None => quote! {
                        __ctx.on_update(#hname, move |(#(#a,)*): (#(#tys,)*)| { #call });
                    },
                }
            }
            _ => continue,
        };
        registrations.push(quote! {{
            let (__t, __c) = (::std::rc::Rc::clone(__this), ::std::clone::Clone::clone(__ctx));
            #reg
        }});
    }
    let table: Vec<TokenStream> = handlers
        .iter()
        .filter(|h| matches!(h.kind, Kind::Run | Kind::Signal | Kind::Query | Kind::Update))
        .map(|h| {
            let (ident, hname) = (&h.ident, &h.name);
            quote! { if __id == ::reprise::__private::method_id(&<#self_ty>::#ident) { return ::std::option::Option::Some(#hname); } }
        })
        .collect();
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    Ok(quote! {
        #block

        impl #impl_generics ::reprise::__private::WorkflowDefinition for #self_ty #where_clause {
            const NAME: &'static str = #name;

            fn __run_fn() -> ::reprise::__private::WorkflowEntry {
                ::reprise::__private::workflow_run_fn::<#self_ty, (#(#run_tys,)*), _, _, _, _>(
                    |__this: &::std::rc::Rc<#self_ty>, __ctx: &::reprise::__private::WorkflowContext| {
                        #(#registrations)*
                    },
                    |__this: ::std::rc::Rc<#self_ty>, __ctx: ::reprise::__private::WorkflowContext, (#(#run_args,)*): (#(#run_tys,)*)| async move {
                        __this.#run_ident(&__ctx, #(#run_args),*).await
                    },
                )
            }

            fn __handler_name(__id: ::std::any::TypeId) -> ::std::option::Option<&'static str> {
                #(#table)*
                ::std::option::Option::None
            }
        }
    })
}
