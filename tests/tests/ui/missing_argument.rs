use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "agent", types = qapi_tests::agent)]
mod handlers {
    use super::*;

    #[command]
    fn guest_file_seek(handle: i64) -> Result<qapi_tests::agent::SeekResult, Error> {
        let _ = handle;
        unimplemented!()
    }
}

fn main() {
    let _ = handlers::register(Dispatcher::<()>::builder(qapi_tests::agent::SCHEMA));
}
