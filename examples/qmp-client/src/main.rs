//! `qmp-client SOCKET`: talks to a QEMU (or any QMP server) on a Unix
//! socket with types generated from `schema/qmp.json`, and says what
//! happens: the version, the run state, events as they come, an error, and
//! what the peer supports.
//!
//! ```sh
//! qemu-system-x86_64 -S -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
//! cargo run -p qmp-client -- /tmp/qmp.sock
//! ```

use std::process::ExitCode;
use std::time::Duration;

use qapi_runtime::client::{Client, ClientBuilder, ClientError};

/// The types generated from `schema/qmp.json`.
mod qmp {
    include!(concat!(env!("OUT_DIR"), "/qmp.rs"));
}

use qmp::commands as c;

fn main() -> ExitCode {
    let Some(socket) = std::env::args_os().nth(1) else {
        eprintln!("usage: qmp-client SOCKET");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qmp-client: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(socket)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qmp-client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(socket: std::ffi::OsString) -> Result<(), ClientError> {
    // A QEMU monitor serves one client at a time: without a limit, a
    // second client would wait for the greeting for ever.
    let client: Client = ClientBuilder::qmp()
        .connect_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_secs(30))
        .connect_unix(socket)
        .await?;
    let version = client.execute(c::QueryVersion {}).await?;
    let (major, minor, micro) = (version.qemu.major, version.qemu.minor, version.qemu.micro);
    println!(
        "connected to QEMU {major}.{minor}.{micro} ({})",
        version.package
    );
    println!("out-of-band execution: {}", client.oob_enabled());

    // Read tolerantly: a value this schema does not list is kept.
    let status = client.execute(c::QueryStatus {}).await?;
    match &status.status {
        qmp::RunState::Unrecognized(name) => {
            println!("run state: {name} (a value this client's schema does not list)")
        }
        known => println!("run state: {known}"),
    }

    // Events come typed; the ones the schema does not know come too.
    let mut events = client.events::<qmp::Event>();
    client.execute(c::Cont {}).await?;
    client.execute(c::Stop {}).await?;
    client.execute(c::SystemReset {}).await?;
    for _ in 0..3 {
        let Some(event) = events.next().await else {
            break;
        };
        let event = event?;
        let at = event.timestamp;
        match event.event {
            qmp::Event::Unrecognized(other) => {
                println!(
                    "event {} at {}.{:06} (not in this client's schema)",
                    other.name, at.seconds, at.microseconds
                )
            }
            known => {
                use qapi_runtime::Events;
                println!(
                    "event {} at {}.{:06}",
                    known.name(),
                    at.seconds,
                    at.microseconds
                )
            }
        }
    }

    // Errors name the command and keep QEMU's class and text.
    if let Err(e) = client
        .execute_raw("no-such-command", Default::default())
        .await
    {
        println!("error: {e}");
    }
    match client.execute(c::QueryKvm {}).await {
        Ok(kvm) => println!("kvm: present {}, enabled {}", kvm.present, kvm.enabled),
        Err(e) => println!("kvm: {e}"),
    }

    // Ask before using what only some releases have.
    let caps = client.capabilities().await?;
    for question in [
        "query-status/ret-type/singlestep",
        "blockdev-add/arg-type/+file/aio/^io_uring",
        "query-cpus",
    ] {
        println!("supports {question}: {}", caps.query(question));
    }
    Ok(())
}
