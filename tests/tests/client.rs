//! The clients against the test agent, over QGA and QMP framing, and the
//! QMP session's negotiation, OOB and events.

use std::sync::Arc;
use std::time::Duration;

use qapi_runtime::client::{BlockingClient, Client, ClientError};
use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::server::session::Greeting;
use qapi_runtime::server::{serve, EventSender, ServerConfig};
use qapi_runtime::ErrorClass;
use qapi_tests::agent::{self, commands as c};
use qapi_tests::TestServer;
use serde_json::{json, Value};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn blocking_client_makes_typed_calls() {
    let server = TestServer::start(
        qapi_tests::agent(Policy::default(), CompatPolicy::default()),
        Limits::default(),
    )
    .unwrap();
    let mut client = BlockingClient::connect_qga(server.path()).unwrap();
    assert_eq!(client.execute(c::GuestSync { id: 5 }).unwrap(), 5);
    assert_eq!(client.execute(c::GuestSyncDelimited { id: 6 }).unwrap(), 6);
    let info = client.execute(c::GuestInfo {}).unwrap();
    assert!(info
        .supported_commands
        .iter()
        .any(|e| e.name == "guest-ping" && e.enabled));
    let seek = client
        .execute(c::GuestFileSeek {
            handle: 1,
            offset: 10,
            whence: agent::FileWhence::Name(agent::Whence::Set),
        })
        .unwrap();
    assert_eq!(seek.position, 10);
    match client.execute_raw("guest-nope", json!({})) {
        Err(ClientError::Server(e)) => {
            assert_eq!(e.class, ErrorClass::CommandNotFound);
            assert_eq!(e.desc, "The command guest-nope has not been found");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn async_client_overlaps_calls() {
    let server = TestServer::start(
        qapi_tests::agent(Policy::default(), CompatPolicy::default()),
        Limits::default(),
    )
    .unwrap();
    runtime().block_on(async {
        let client = Arc::new(Client::connect_qga(server.path()).await.unwrap());
        let calls: Vec<_> = (0..50)
            .map(|i| {
                let client = Arc::clone(&client);
                tokio::spawn(async move { client.execute(c::GuestSync { id: i }).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.unwrap().unwrap(), i as i64);
        }
        let err = client
            .execute(c::GuestSync { id: 1 })
            .await
            .map(|_| ())
            .and(client.execute_raw("guest-sync", json!({"id": "x"})).await.map(|_| ()));
        assert!(
            matches!(&err, Err(ClientError::Server(e)) if e.desc == "Invalid parameter type for 'id', expected: integer"),
            "{err:?}"
        );
    });
}

/// The test agent served with QMP framing, and an event sender.
fn qmp_server(
    rt: &tokio::runtime::Runtime,
) -> (tempfile::TempDir, std::path::PathBuf, EventSender) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qmp.sock");
    let events = EventSender::new(16);
    let listener = {
        let _guard = rt.enter();
        tokio::net::UnixListener::bind(&path).unwrap()
    };
    let greeting = Greeting {
        version: (7, 2, 0),
        package: "qapi-tests".to_owned(),
        oob: true,
    };
    rt.spawn(serve(
        listener,
        qapi_tests::agent(Policy::default(), CompatPolicy::default()),
        ServerConfig::qmp(greeting),
        Some(events.clone()),
    ));
    (dir, path, events)
}

#[test]
fn qmp_sessions_negotiate_then_dispatch() {
    let rt = runtime();
    let (_dir, path, _events) = qmp_server(&rt);
    let mut raw = BlockingClient::connect_qga(&path).unwrap();
    // Before negotiation only qmp_capabilities runs.
    let err = raw.execute_raw("guest-ping", json!({})).unwrap_err();
    assert!(
        matches!(&err, ClientError::Server(e) if e.class == ErrorClass::CommandNotFound
            && e.desc == "Expecting capabilities negotiation with 'qmp_capabilities'"),
        "{err:?}"
    );
    let err = raw
        .execute_raw("qmp_capabilities", json!({"enable": ["bogus"]}))
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Server(e) if e.desc == "Parameter 'null' does not accept value 'bogus'"),
        "{err:?}"
    );
    raw.execute_raw("qmp_capabilities", json!({"enable": ["oob"]}))
        .unwrap();
    let err = raw.execute_raw("qmp_capabilities", json!({})).unwrap_err();
    assert!(
        matches!(&err, ClientError::Server(e) if e.desc == "Capabilities negotiation is already complete, command ignored"),
        "{err:?}"
    );
    assert_eq!(raw.execute(c::GuestSync { id: 3 }).unwrap(), 3);

    let mut client = BlockingClient::connect_qmp(&path).unwrap();
    let greeting = client.greeting().unwrap();
    assert_eq!(greeting["QMP"]["version"]["qemu"]["major"], 7);
    assert_eq!(greeting["QMP"]["capabilities"], json!(["oob"]));
    assert_eq!(client.execute(c::GuestSync { id: 4 }).unwrap(), 4);
}

#[test]
fn qmp_oob_needs_the_capability_and_a_command_that_allows_it() {
    use std::io::{BufRead, BufReader, Write};
    let rt = runtime();
    let (_dir, path, _events) = qmp_server(&rt);
    let stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = || {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        serde_json::from_str::<Value>(&l).unwrap()
    };
    assert!(line().get("QMP").is_some());
    writer
        .write_all(br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"#)
        .unwrap();
    assert_eq!(line(), json!({"return": {}}));
    writer
        .write_all(br#"{"exec-oob":"guest-oob","id":1}"#)
        .unwrap();
    assert_eq!(line(), json!({"return": {}, "id": 1}));
    writer
        .write_all(br#"{"exec-oob":"guest-ping","id":2}"#)
        .unwrap();
    assert_eq!(
        line(),
        json!({"id": 2, "error": {"class": "GenericError", "desc": "The command guest-ping does not support OOB"}})
    );
}

#[test]
fn qmp_events_reach_negotiated_clients_with_timestamps() {
    let rt = runtime();
    let (_dir, path, events) = qmp_server(&rt);
    rt.block_on(async {
        let client = Client::connect_qmp(&path).await.unwrap();
        let mut rx = client.events();
        events.emit_raw("SHUTDOWN", Some(json!({"guest": true})));
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event["event"], "SHUTDOWN");
        assert_eq!(event["data"], json!({"guest": true}));
        assert!(event["timestamp"]["seconds"].as_u64().unwrap() > 1_600_000_000);
        assert!(event["timestamp"]["microseconds"].as_u64().unwrap() < 1_000_000);
        // Calls still work beside events.
        assert_eq!(client.execute(c::GuestSync { id: 8 }).await.unwrap(), 8);
    });
}
