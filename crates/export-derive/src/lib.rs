//! `#[derive(Module)]`: writes `Module::visit` from a struct's fields, in declaration order, as
//! PyTorch registers attributes in `__init__`:
//!
//! - `Parameter`, `Buffer`, `Constant` fields (or `Option`s of them) are the module's state;
//! - `Vec<T>` fields are lists of submodules named `0`, `1`, ... (`nn.ModuleList`);
//! - every other field is a submodule, except plain values (numbers, `bool`, `String`, arrays)
//!   and fields marked `#[module(skip)]`;
//! - `#[module(type_name = "torch.nn.modules.linear.Linear")]` on the struct sets the name
//!   `nn_module_stack` records.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use proc_macro_crate::{crate_name, FoundCrate};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

fn last_segment(ty: &Type) -> Option<(String, Option<Type>)> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let inner = match &seg.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| if let GenericArgument::Type(t) = g { Some(t.clone()) } else { None }),
        _ => None,
    };
    Some((seg.ident.to_string(), inner))
}

const PLAIN: &[&str] = &["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize", "f32", "f64", "bool", "String", "DType"];

fn has_flag(attrs: &[syn::Attribute], flag: &str) -> bool {
    attrs.iter().filter(|a| a.path().is_ident("module")).any(|a| {
        let mut found = false;
        let _ = a.parse_nested_meta(|m| {
            if m.path.is_ident(flag) {
                found = true;
            }
            if m.input.peek(syn::Token![=]) {
                let _: syn::LitStr = m.value()?.parse()?;
            }
            Ok(())
        });
        found
    })
}

fn type_name(attrs: &[syn::Attribute]) -> Option<String> {
    let mut out = None;
    for a in attrs.iter().filter(|a| a.path().is_ident("module")) {
        let _ = a.parse_nested_meta(|m| {
            if m.path.is_ident("type_name") {
                out = Some(m.value()?.parse::<syn::LitStr>()?.value());
            }
            Ok(())
        });
    }
    out
}

/// The path of the front-end crate as the deriving crate sees it: `::export` where it depends
/// on `pt2-export` (whose library is named `export`), `::pt2::frontend` where it depends only on
/// the `pt2` facade, or whatever either was renamed to in its `Cargo.toml`.
fn front_end() -> Tokens {
    match crate_name("pt2-export") {
        Ok(FoundCrate::Name(n)) if n != "pt2_export" => {
            let n = format_ident!("{n}");
            return quote!(::#n);
        }
        Ok(_) => return quote!(::export),
        Err(_) => {}
    }
    match crate_name("pt2") {
        Ok(FoundCrate::Name(n)) => {
            let n = format_ident!("{n}");
            quote!(::#n::frontend)
        }
        Ok(FoundCrate::Itself) => quote!(crate::frontend),
        Err(_) => quote!(::export),
    }
}

#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return syn::Error::new_spanned(name, "#[derive(Module)] works on structs").to_compile_error().into();
    };
    let export = front_end();
    let mut visits = Vec::new();
    if let Fields::Named(fields) = &data.fields {
        for f in &fields.named {
            let ident = f.ident.as_ref().expect("named field");
            let key = ident.to_string();
            if has_flag(&f.attrs, "skip") {
                continue;
            }
            let Some((seg, inner)) = last_segment(&f.ty) else { continue };
            let inner_seg = inner.as_ref().and_then(last_segment).map(|(s, _)| s);
            let visit = match (seg.as_str(), inner_seg.as_deref()) {
                ("Parameter", _) => quote! { v.parameter(#key, &self.#ident); },
                ("Buffer", _) => quote! { v.buffer(#key, &self.#ident); },
                ("Constant", _) => quote! { v.constant(#key, &self.#ident); },
                ("Option", Some("Parameter")) => quote! { if let Some(x) = &self.#ident { v.parameter(#key, x); } },
                ("Option", Some("Buffer")) => quote! { if let Some(x) = &self.#ident { v.buffer(#key, x); } },
                ("Option", Some("Constant")) => quote! { if let Some(x) = &self.#ident { v.constant(#key, x); } },
                ("Option", Some(s)) if PLAIN.contains(&s) => continue,
                ("Option", _) => quote! { if let Some(x) = &self.#ident { v.module(#key, x); } },
                ("Vec", Some(s)) if PLAIN.contains(&s) => continue,
                ("Vec", _) => quote! { v.module_list(#key, self.#ident.iter().map(|m| m as &dyn #export::Module)); },
                (s, _) if PLAIN.contains(&s) => continue,
                _ => quote! { v.module(#key, &self.#ident); },
            };
            visits.push(visit);
        }
    }
    let type_name = match type_name(&input.attrs) {
        Some(t) => quote! { fn type_name(&self) -> String { #t.to_string() } },
        None => quote! {},
    };
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    quote! {
        impl #impl_g #export::Module for #name #ty_g #where_g {
            fn visit<'a>(&'a self, v: &mut #export::Visitor<'a>) {
                #(#visits)*
            }
            #type_name
        }
    }
    .into()
}

/// `#[derive(PyTree)]`: a struct travels as a dict node of its fields (in declaration order);
/// every field's type implements `PyTree` (tensors, or other derived structs).
#[proc_macro_derive(PyTree)]
pub fn derive_pytree(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return syn::Error::new_spanned(name, "#[derive(PyTree)] works on structs").to_compile_error().into();
    };
    let export = front_end();
    let Fields::Named(fields) = &data.fields else {
        return syn::Error::new_spanned(name, "#[derive(PyTree)] needs named fields").to_compile_error().into();
    };
    let idents: Vec<_> = fields.named.iter().map(|f| f.ident.clone().expect("named")).collect();
    let keys: Vec<String> = idents.iter().map(|i| i.to_string()).collect();
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    quote! {
        impl #impl_g #export::tree::PyTree for #name #ty_g #where_g {
            fn into_tree(self) -> #export::Tree {
                #export::Tree::Dict(vec![#((#keys.to_string(), #export::tree::PyTree::into_tree(self.#idents))),*])
            }
            fn from_tree(tree: &#export::Tree) -> #export::Result<Self> {
                Ok(Self {
                    #(#idents: #export::tree::PyTree::from_tree(tree.get(#keys).ok_or_else(|| #export::Error::msg(format!("{} has no field `{}`", stringify!(#name), #keys)))?)?,)*
                })
            }
        }
    }
    .into()
}
