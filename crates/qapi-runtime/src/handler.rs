//! What the code of `#[qapi_runtime::handlers]` relies on: how a handler
//! function's result becomes a command's reply.

use crate::{Empty, Error};

/// A handler function's return type, for a command that returns `R`:
/// `Result<R, E>` with `E: Into<Error>`, or `Result<(), E>` for a command
/// that returns nothing (`{}` on the wire).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not what a handler of this command returns",
    label = "expected `Result<{R}, E>` where `E: Into<qapi_runtime::Error>`",
    note = "a command without `returns` takes `Result<(), E>`"
)]
pub trait HandlerReturn<R> {
    /// The command's result.
    fn into_reply(self) -> Result<R, Error>;
}

#[diagnostic::do_not_recommend]
impl<R, E: Into<Error>> HandlerReturn<R> for Result<R, E> {
    #[inline]
    fn into_reply(self) -> Result<R, Error> {
        self.map_err(Into::into)
    }
}

#[diagnostic::do_not_recommend]
impl<E: Into<Error>> HandlerReturn<Empty> for Result<(), E> {
    #[inline]
    fn into_reply(self) -> Result<Empty, Error> {
        self.map(|()| Empty {}).map_err(Into::into)
    }
}

/// A member's value as the handler parameter that receives it, of type
/// `P`: only the member's own type fits.
#[diagnostic::on_unimplemented(
    message = "the member is `{Self}`, but this parameter is `{P}`",
    label = "expected `{Self}`"
)]
pub trait IntoParam<P> {
    /// The parameter's value.
    fn into_param(self) -> P;
}

#[diagnostic::do_not_recommend]
impl<T> IntoParam<T> for T {
    #[inline]
    fn into_param(self) -> T {
        self
    }
}
