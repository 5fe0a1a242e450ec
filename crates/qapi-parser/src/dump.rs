//! The text dump of a checked schema, in exactly the format of QEMU's
//! schema test harness (`tests/qapi-schema/test-qapi.py`).

use std::fmt::Write;

use crate::model::{Branch, EntityKind, Feature, IfCond, Schema};

/// Renders `schema` as QEMU's test harness prints it: every module with
/// its entities, then every documentation block.
pub fn dump(schema: &Schema) -> String {
    let mut out = String::new();
    for module in schema.modules() {
        line(&mut out, format_args!("module {}", module.name));
        for &id in &module.entities {
            let e = schema.entity(id);
            match &e.kind {
                EntityKind::Include => line(&mut out, format_args!("include {}", e.name)),
                EntityKind::Builtin(_) => {}
                EntityKind::Enum(en) => {
                    line(&mut out, format_args!("enum {}", e.name));
                    if let Some(p) = en.prefix.as_deref().filter(|p| !p.is_empty()) {
                        line(&mut out, format_args!("    prefix {p}"));
                    }
                    for v in &en.values {
                        line(&mut out, format_args!("    member {}", v.name));
                        ifcond(&mut out, &v.ifcond, 8);
                        features(&mut out, &v.features, 8);
                    }
                    ifcond(&mut out, &e.ifcond, 4);
                    features(&mut out, &e.features, 4);
                }
                EntityKind::Array(a) => {
                    // Built-in arrays are not printed.
                    if e.info.is_some() {
                        let element = &schema.entity(a.element).name;
                        line(&mut out, format_args!("array {} {element}", e.name));
                        ifcond(&mut out, &schema.entity(a.element).ifcond, 4);
                    }
                }
                EntityKind::Object(o) => {
                    line(&mut out, format_args!("object {}", e.name));
                    if let Some(base) = o.base {
                        line(
                            &mut out,
                            format_args!("    base {}", schema.entity(base).name),
                        );
                    }
                    for m in &o.local_members {
                        let optional = if m.optional { "True" } else { "False" };
                        let ty = &schema.entity(m.ty).name;
                        line(
                            &mut out,
                            format_args!("    member {}: {ty} optional={optional}", m.name),
                        );
                        ifcond(&mut out, &m.ifcond, 8);
                        features(&mut out, &m.features, 8);
                    }
                    if let Some(u) = &o.union {
                        branches(&mut out, schema, &u.discriminator, &u.branches);
                    }
                    ifcond(&mut out, &e.ifcond, 4);
                    features(&mut out, &e.features, 4);
                }
                EntityKind::Alternate(a) => {
                    line(&mut out, format_args!("alternate {}", e.name));
                    branches(&mut out, schema, "type", &a.branches);
                    ifcond(&mut out, &e.ifcond, 4);
                    features(&mut out, &e.features, 4);
                }
                EntityKind::Command(c) => {
                    let arg = c
                        .arg_type
                        .map_or("None", |t| schema.entity(t).name.as_str());
                    let ret = c
                        .ret_type
                        .map_or("None", |t| schema.entity(t).name.as_str());
                    line(&mut out, format_args!("command {} {arg} -> {ret}", e.name));
                    line(
                        &mut out,
                        format_args!(
                            "    gen={} success_response={} boxed={} oob={} preconfig={}{}",
                            py_bool(c.gen),
                            py_bool(c.success_response),
                            py_bool(c.boxed),
                            py_bool(c.allow_oob),
                            py_bool(c.allow_preconfig),
                            if c.coroutine { " coroutine=True" } else { "" }
                        ),
                    );
                    ifcond(&mut out, &e.ifcond, 4);
                    features(&mut out, &e.features, 4);
                }
                EntityKind::Event(ev) => {
                    let arg = ev
                        .arg_type
                        .map_or("None", |t| schema.entity(t).name.as_str());
                    line(&mut out, format_args!("event {} {arg}", e.name));
                    line(&mut out, format_args!("    boxed={}", py_bool(ev.boxed)));
                    ifcond(&mut out, &e.ifcond, 4);
                    features(&mut out, &e.features, 4);
                }
            }
        }
    }
    for doc in &schema.docs {
        match &doc.symbol {
            Some(s) => line(&mut out, format_args!("doc symbol={s}")),
            None => out.push_str("doc freeform\n"),
        }
        line(&mut out, format_args!("    body=\n{}", doc.body().text));
        for arg in doc.args() {
            let name = arg.name.as_deref().unwrap_or_default();
            line(&mut out, format_args!("    arg={name}\n{}", arg.text));
        }
        for feat in doc.features() {
            let name = feat.name.as_deref().unwrap_or_default();
            line(&mut out, format_args!("    feature={name}\n{}", feat.text));
        }
        for section in doc.sections() {
            line(
                &mut out,
                format_args!("    section={}\n{}", section.kind, section.text),
            );
        }
    }
    out
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
    out.push('\n');
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn ifcond(out: &mut String, cond: &Option<IfCond>, indent: usize) {
    if let Some(c) = cond {
        line(out, format_args!("{:indent$}if {}", "", c.to_python()));
    }
}

fn features(out: &mut String, features: &[Feature], indent: usize) {
    for f in features {
        line(out, format_args!("{:indent$}feature {}", "", f.name));
        ifcond(out, &f.ifcond, indent + 4);
    }
}

fn branches(out: &mut String, schema: &Schema, tag: &str, branches: &[Branch]) {
    line(out, format_args!("    tag {tag}"));
    for b in branches {
        line(
            out,
            format_args!("    case {}: {}", b.name, schema.entity(b.ty).name),
        );
        ifcond(out, &b.ifcond, 8);
    }
}
