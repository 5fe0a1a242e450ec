use qapi_runtime::{Dispatcher, Error};

// `require_all` asks for `unix-only` where `cfg(unix)` holds, and not
// for `windows-only`, which is compiled out here.
#[qapi_runtime::handlers(schema = "conditional", types = qapi_tests::conditional, require_all)]
mod handlers {
    use super::*;

    #[command]
    fn ping() -> Result<(), Error> {
        Ok(())
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::conditional::SCHEMA));
}
