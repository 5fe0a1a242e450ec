use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent)]
mod handlers {
    use super::*;

    #[command]
    fn guest_seek_echo(position: i64, eof: bool) -> Result<qapi_tests::agent::SeekResult, Error> {
        Ok(qapi_tests::agent::SeekResult { position, eof })
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
