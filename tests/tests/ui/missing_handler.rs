use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent, require = ["guest-ping", "guest-sync"])]
mod handlers {
    use super::*;

    #[command]
    fn guest_ping() -> Result<(), Error> {
        Ok(())
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
