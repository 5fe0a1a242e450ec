use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent)]
mod handlers {
    use super::*;

    #[command]
    fn guest_sync(id: i64) -> Result<String, Error> {
        Ok(id.to_string())
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
