//! `require_all` over commands under conditions: a handler under the
//! command's own `#[cfg]` satisfies it, and a command compiled out here
//! needs none (the failing case is `tests/ui/missing_conditional_handler.rs`).

use qapi_runtime::{Dispatcher, Error};

#[qapi_runtime::handlers(schema = "conditional", types = qapi_tests::conditional, require_all)]
mod handlers {
    use super::*;

    #[command]
    fn ping() -> Result<(), Error> {
        Ok(())
    }

    #[cfg(unix)]
    #[command]
    fn unix_only() -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn handlers_under_the_commands_cfg_satisfy_require_all() {
    let dispatcher = handlers::register(Dispatcher::builder(qapi_tests::conditional::SCHEMA))
        .build(())
        .expect("every handler is registered once");
    assert!(handlers::COMMANDS.contains(&"unix-only"));
    assert!(!handlers::COMMANDS.contains(&"windows-only"));
    let reply = dispatcher.dispatch_blocking(serde_json::json!({"execute": "unix-only"}), false);
    assert_eq!(reply, Some(serde_json::json!({"return": {}})));
}
