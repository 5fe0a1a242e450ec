use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent)]
mod handlers {
    use super::*;

    #[command]
    fn guest_sync(id: i64, timeout: i64) -> Result<i64, Error> {
        Ok(id + timeout)
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
