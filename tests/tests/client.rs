//! The clients against the test agent, over QGA and QMP framing: typed
//! calls, overlapping calls, errors that name the command, events typed
//! and raw (none lost before the first subscription), out-of-band calls,
//! time limits, a peer that goes away.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qapi_runtime::client::{BlockingClient, Client, ClientBuilder, ClientError};
use qapi_runtime::json::Limits;
use qapi_runtime::policy::{CompatPolicy, Policy};
use qapi_runtime::server::session::Greeting;
use qapi_runtime::server::{serve, Listener, ServerConfig};
use qapi_runtime::{ErrorClass, Events};
use qapi_tests::agent::{self, commands as c};
use qapi_tests::TestServer;
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn qga_server() -> TestServer {
    TestServer::start(
        qapi_tests::agent(Policy::default(), CompatPolicy::default()),
        Limits::default(),
    )
    .unwrap()
}

#[test]
fn blocking_client_makes_typed_calls() {
    let server = qga_server();
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
        Err(ClientError::Server { command, error }) => {
            assert_eq!(command, "guest-nope");
            assert_eq!(error.class, ErrorClass::CommandNotFound);
            assert_eq!(error.desc, "The command guest-nope has not been found");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn async_client_overlaps_calls() {
    let server = qga_server();
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
            .execute_raw("guest-sync", json!({"id": "x"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "guest-sync: GenericError: Invalid parameter type for 'id', expected: integer"
        );
    });
}

/// The test agent served with QMP framing (events from `guest-emit`).
fn qmp_server(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qmp.sock");
    let dispatcher = qapi_tests::agent(Policy::default(), CompatPolicy::default());
    let events = dispatcher.state().events.clone();
    let listener = {
        let _guard = rt.enter();
        Listener::bind_unix(&path, 0o600).unwrap()
    };
    let greeting = Greeting {
        version: (7, 2, 0),
        package: "qapi-tests".to_owned(),
        oob: true,
    };
    rt.spawn(serve(
        listener,
        dispatcher,
        ServerConfig::qmp(greeting),
        Some(events),
    ));
    (dir, path)
}

#[test]
fn qmp_clients_negotiate_and_read_the_greeting() {
    let rt = runtime();
    let (_dir, path) = qmp_server(&rt);
    let mut raw = BlockingClient::connect_qga(&path).unwrap();
    // Before negotiation only qmp_capabilities runs.
    let err = raw.execute_raw("guest-ping", json!({})).unwrap_err();
    let error = err.server_error().expect("a server error");
    assert_eq!(error.class, ErrorClass::CommandNotFound);
    assert_eq!(
        error.desc,
        "Expecting capabilities negotiation with 'qmp_capabilities'"
    );
    let mut client = BlockingClient::connect_qmp(&path).unwrap();
    let greeting = client.greeting().unwrap();
    assert_eq!(greeting.version, (7, 2, 0));
    assert_eq!(greeting.package, "qapi-tests");
    assert!(client.oob_enabled());
    assert_eq!(client.execute(c::GuestSync { id: 4 }).unwrap(), 4);
    let client = ClientBuilder::qmp()
        .oob(false)
        .blocking_unix(&path)
        .unwrap();
    assert!(!client.oob_enabled());
}

#[test]
fn events_sent_before_the_first_subscription_are_kept() {
    let rt = runtime();
    let (_dir, path) = qmp_server(&rt);
    rt.block_on(async {
        let client = Client::connect_qmp(&path).await.unwrap();
        // Three events before anyone subscribes.
        for n in 0..3 {
            client.execute(c::GuestEmit { n }).await.unwrap();
        }
        let mut events = client.events::<agent::Event>();
        client.execute(c::GuestEmit { n: 3 }).await.unwrap();
        for n in 0..4 {
            let event = tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert!(event.timestamp.seconds > 1_600_000_000);
            match event.event {
                agent::Event::Emitted(e) => assert_eq!(e.n, n),
                other => panic!("{other:?}"),
            }
        }
        // A second stream sees what comes from now on, raw and filtered.
        let mut raw = client.raw_events().only(["EMITTED"]);
        client.execute(c::GuestEmit { n: 9 }).await.unwrap();
        let event = raw.next().await.unwrap().unwrap();
        assert_eq!(
            (event.name.as_str(), event.data),
            ("EMITTED", Some(json!({"n": 9})))
        );
        assert_eq!(
            events.next().await.unwrap().unwrap().event.name(),
            "EMITTED"
        );
    });
}

#[test]
fn the_blocking_client_waits_for_events_with_a_time_limit() {
    let rt = runtime();
    let (_dir, path) = qmp_server(&rt);
    let mut client = BlockingClient::connect_qmp(&path).unwrap();
    let started = Instant::now();
    assert!(client
        .next_event(Some(Duration::from_millis(200)))
        .unwrap()
        .is_none());
    assert!(started.elapsed() >= Duration::from_millis(200));
    client.execute(c::GuestEmit { n: 1 }).unwrap();
    let event = client
        .next_event_as::<agent::Event>(Some(Duration::from_secs(10)))
        .unwrap()
        .unwrap();
    assert!(matches!(
        event.event,
        agent::Event::Emitted(agent::events::Emitted { n: 1 })
    ));
}

#[test]
fn out_of_band_calls_overtake() {
    let rt = runtime();
    let (_dir, path) = qmp_server(&rt);
    rt.block_on(async {
        let client = Arc::new(Client::connect_qmp(&path).await.unwrap());
        assert!(client.oob_enabled());
        let slow = {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.execute(c::GuestSleep { ms: 1000 }).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        client.execute_oob(c::GuestOob {}).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(!slow.is_finished());
        slow.await.unwrap().unwrap();
        let qga = Client::connect_qga(qga_server().path()).await.unwrap();
        assert!(matches!(
            qga.execute_oob(c::GuestOob {}).await,
            Err(ClientError::Unsupported(_))
        ));
    });
}

#[test]
fn a_call_times_out_and_the_client_goes_on() {
    let rt = runtime();
    let (_dir, path) = qmp_server(&rt);
    rt.block_on(async {
        let client = ClientBuilder::qmp()
            .oob(false)
            .call_timeout(Duration::from_millis(200))
            .connect_unix(&path)
            .await
            .unwrap();
        let err = client
            .execute(c::GuestSleep { ms: 1000 })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::Timeout(what) if what == "the reply to guest-sleep"),
            "{err:?}"
        );
        // The late reply is dropped; the next call (which the server runs
        // after the slow one) gets its own.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(client.execute(c::GuestSync { id: 3 }).await.unwrap(), 3);
    });
}

#[test]
fn a_connect_times_out_when_no_greeting_comes() {
    // A listener that accepts nothing: the peer of a busy QEMU monitor.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let err = ClientBuilder::qmp()
        .connect_timeout(Duration::from_millis(200))
        .blocking_unix(&path)
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Timeout(what) if what == "the greeting"),
        "{err:?}"
    );
    runtime().block_on(async {
        let err = ClientBuilder::qmp()
            .connect_timeout(Duration::from_millis(200))
            .connect_unix(&path)
            .await
            .unwrap_err();
        assert!(matches!(&err, ClientError::Timeout(_)), "{err:?}");
    });
}

#[test]
fn a_closed_peer_fails_every_pending_and_later_call_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("closing.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let peer = std::thread::spawn(move || {
        // Reads one request, then goes away without answering.
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let _ = std::io::Read::read(&mut stream, &mut buf);
    });
    runtime().block_on(async {
        let client = Arc::new(Client::connect_qga(&path).await.unwrap());
        let pending = {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.execute(c::GuestPing {}).await })
        };
        assert!(matches!(pending.await.unwrap(), Err(ClientError::Closed)));
        assert!(client.is_closed());
        assert!(matches!(
            client.execute(c::GuestPing {}).await,
            Err(ClientError::Closed)
        ));
    });
    peer.join().unwrap();
}

#[test]
fn any_stream_will_do() {
    let server = qga_server();
    runtime().block_on(async {
        let stream = tokio::net::UnixStream::connect(server.path())
            .await
            .unwrap();
        let client = ClientBuilder::qga().connect_stream(stream).await.unwrap();
        assert_eq!(client.execute(c::GuestSync { id: 8 }).await.unwrap(), 8);
        let fd = std::os::fd::OwnedFd::from(
            std::os::unix::net::UnixStream::connect(server.path()).unwrap(),
        );
        let client = ClientBuilder::qga().connect_fd(fd).await.unwrap();
        assert_eq!(client.execute(c::GuestSync { id: 9 }).await.unwrap(), 9);
    });
}
