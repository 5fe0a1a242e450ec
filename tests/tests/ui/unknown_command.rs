use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent)]
mod handlers {
    use super::*;

    #[command("guest-synk")]
    fn sync(id: i64) -> Result<i64, Error> {
        Ok(id)
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
