//! The client against a real QEMU 7.2 (Debian's `qemu-system-x86`),
//! reading it with the types generated from the QMP schemas of several
//! releases (2.12, 4.2, 7.2, 9.1, 10.0): version skew in both directions.
//!
//! - every `query-*` command without required arguments is run with every
//!   release's types; each outcome is printed, with the counts per
//!   release.  A reply that differs from the schema only by members or
//!   enum values the schema does not know must decode; what fails is a
//!   member the schema requires and QEMU 7.2 does not send;
//! - every event QEMU sent during the run decodes typed with every
//!   release's types, and an event emitted before the first subscription
//!   is received;
//! - `exec-oob` runs, descriptors passed with `getfd` and `add-fd` show
//!   up in `query-fdsets`, a call times out cleanly against a stopped QEMU;
//! - capability probing answers libvirt's questions.
//!
//! Needs `qemu-system-x86_64` and, when the tests are built, `QAPI_CORPUS`.

use qapi_test_support::Suite;

#[cfg(qemu_schemas)]
mod with_qemu {
    use std::time::Duration;

    use qapi_runtime::client::{
        BlockingClient, Capabilities, Client, ClientBuilder, ClientError, Mismatch,
    };
    use qapi_runtime::de::{Decode, DecodeErrorKind, Mode};
    use qapi_runtime::{Command, CommandVisitor};
    use qapi_tests::Qemu;
    use serde_json::json;

    /// The types of each release, as a client includes them.
    #[allow(dead_code, deprecated)]
    pub mod qmp {
        /// QEMU 2.12.
        pub mod v2_12 {
            include!(concat!(env!("OUT_DIR"), "/qmp_2_12.rs"));
        }
        /// QEMU 4.2.
        pub mod v4_2 {
            include!(concat!(env!("OUT_DIR"), "/qmp_4_2.rs"));
        }
        /// QEMU 7.2.
        pub mod v7_2 {
            include!(concat!(env!("OUT_DIR"), "/qmp_7_2.rs"));
        }
        /// QEMU 9.1.
        pub mod v9_1 {
            include!(concat!(env!("OUT_DIR"), "/qmp_9_1.rs"));
        }
        /// QEMU 10.0.
        pub mod v10_0 {
            include!(concat!(env!("OUT_DIR"), "/qmp_10_0.rs"));
        }
    }

    /// What happened to one query.
    enum Outcome {
        /// It needs arguments.
        Skipped,
        /// The reply decodes strictly.
        Decoded,
        /// The reply decodes only tolerantly: it has members or values the
        /// schema does not know.
        DecodedTolerantly(String),
        /// QEMU refused it (not available on this machine).
        Refused(String),
        /// The reply does not decode even tolerantly.
        Undecodable(Mismatch),
    }

    struct Query<'c>(&'c mut BlockingClient);

    impl CommandVisitor for Query<'_> {
        type Output = Outcome;

        fn visit<C: Command>(self) -> Outcome {
            if C::decode(json!({})).is_err() {
                return Outcome::Skipped;
            }
            let value = match self.0.execute_raw(C::NAME, json!({})) {
                Ok(value) => value,
                Err(ClientError::Server { error, .. }) => return Outcome::Refused(error.desc),
                Err(e) => panic!("{}: {e}", C::NAME),
            };
            let strict = match C::Returns::decode(value.clone()) {
                Ok(_) => return Outcome::Decoded,
                Err(e) => e.to_string(),
            };
            match C::Returns::decode_as(value.clone(), Mode::Tolerant) {
                Ok(_) => Outcome::DecodedTolerantly(strict),
                Err(error) => Outcome::Undecodable(Mismatch {
                    what: format!("the reply to {}", C::NAME),
                    error,
                    raw: value,
                }),
            }
        }
    }

    /// The counts of one release.
    #[derive(Default)]
    struct Counts {
        decoded: usize,
        tolerated: usize,
        refused: usize,
        undecodable: usize,
        skipped: usize,
    }

    /// Runs every query of one release's `COMMANDS` through `visit`.
    fn queries(
        release: &str,
        client: &mut BlockingClient,
        commands: &[&qapi_runtime::CommandInfo],
        visit: impl Fn(&str, Query<'_>) -> Option<Outcome>,
    ) -> Counts {
        let mut counts = Counts::default();
        for info in commands.iter().filter(|c| c.name.starts_with("query-")) {
            let Some(outcome) = visit(info.name, Query(client)) else {
                continue;
            };
            let line = match outcome {
                Outcome::Skipped => {
                    counts.skipped += 1;
                    continue;
                }
                Outcome::Decoded => {
                    counts.decoded += 1;
                    "decoded".to_owned()
                }
                Outcome::DecodedTolerantly(why) => {
                    counts.tolerated += 1;
                    format!("decoded tolerantly (strictly: {why})")
                }
                Outcome::Refused(why) => {
                    counts.refused += 1;
                    format!("refused by QEMU: {why}")
                }
                Outcome::Undecodable(e) => {
                    counts.undecodable += 1;
                    // Only a member the schema requires may be missing:
                    // unknown members and values never fail a client.
                    assert!(
                        !matches!(
                            e.error.kind(),
                            DecodeErrorKind::Unexpected | DecodeErrorKind::BadValue(_)
                        ),
                        "{release} {}: {e}",
                        info.name
                    );
                    format!("does not decode: {e}")
                }
            };
            eprintln!("  {release} {}: {line}", info.name);
        }
        eprintln!(
            "{release}: {} queries run: {} decoded, {} decoded only tolerantly, {} refused by QEMU, {} do not decode; {} need arguments",
            counts.decoded + counts.tolerated + counts.refused + counts.undecodable,
            counts.decoded,
            counts.tolerated,
            counts.refused,
            counts.undecodable,
            counts.skipped
        );
        counts
    }

    /// QEMU 7.2 with a machine, paused, and a USB controller to plug into.
    fn start(program: &std::path::Path) -> Qemu {
        Qemu::start(
            program,
            &[
                "-S",
                "-machine",
                "pc",
                "-accel",
                "tcg",
                "-m",
                "64",
                "-device",
                "qemu-xhci,id=xhci",
            ],
        )
        .expect("start QEMU")
    }

    pub fn every_release_reads_qemu_7_2(program: std::path::PathBuf) {
        let qemu = start(&program);
        let mut client = BlockingClient::connect_qmp(&qemu.socket).unwrap();
        assert_eq!(client.greeting().unwrap().version.0, 7);
        let results = [
            (
                "2.12.0",
                queries("2.12.0", &mut client, qmp::v2_12::COMMANDS, |n, q| {
                    qmp::v2_12::visit_command(n, q)
                }),
            ),
            (
                "4.2.0",
                queries("4.2.0", &mut client, qmp::v4_2::COMMANDS, |n, q| {
                    qmp::v4_2::visit_command(n, q)
                }),
            ),
            (
                "7.2.0",
                queries("7.2.0", &mut client, qmp::v7_2::COMMANDS, |n, q| {
                    qmp::v7_2::visit_command(n, q)
                }),
            ),
            (
                "9.1.0",
                queries("9.1.0", &mut client, qmp::v9_1::COMMANDS, |n, q| {
                    qmp::v9_1::visit_command(n, q)
                }),
            ),
            (
                "10.0.13",
                queries("10.0.13", &mut client, qmp::v10_0::COMMANDS, |n, q| {
                    qmp::v10_0::visit_command(n, q)
                }),
            ),
        ];
        for (release, counts) in &results {
            assert!(counts.decoded + counts.tolerated >= 35, "{release}");
        }
        // The schema QEMU 7.2 was built from reads it strictly.
        assert_eq!(results[2].1.tolerated, 0);
        assert_eq!(results[2].1.undecodable, 0);
        // Newer types read replies that lack what later releases added
        // only where a member became required; older ones tolerate what
        // 7.2 added.
        assert!(results[0].1.tolerated > 0);
    }

    /// Every event of the run, decoded with every release's types.
    fn decodes_with_every_release(event: &qapi_runtime::client::RawEvent) {
        event.decode::<qmp::v2_12::Event>(Mode::Tolerant).unwrap();
        event.decode::<qmp::v4_2::Event>(Mode::Tolerant).unwrap();
        event.decode::<qmp::v7_2::Event>(Mode::Tolerant).unwrap();
        event.decode::<qmp::v9_1::Event>(Mode::Tolerant).unwrap();
        event.decode::<qmp::v10_0::Event>(Mode::Tolerant).unwrap();
        // 7.2's own types know every one of them.
        let typed = event.decode::<qmp::v7_2::Event>(Mode::Strict).unwrap();
        assert!(
            !matches!(typed.event, qmp::v7_2::Event::Unrecognized(_)),
            "{event:?}"
        );
    }

    pub fn events_oob_fds_and_timeouts(program: std::path::PathBuf) {
        use qmp::v10_0::commands as c;
        let qemu = start(&program);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = ClientBuilder::qmp()
                .call_timeout(Duration::from_secs(30))
                .connect_unix(&qemu.socket)
                .await
                .unwrap();
            assert!(client.oob_enabled());
            // Events before anyone subscribes: RESUME, STOP, and a device
            // plugged and unplugged.
            client.execute(c::Cont {}).await.unwrap();
            client.execute(c::Stop {}).await.unwrap();
            client
                .execute_raw(
                    "device_add",
                    json!({"driver": "usb-kbd", "id": "kbd", "bus": "xhci.0"}),
                )
                .await
                .unwrap();
            client
                .execute(c::DeviceDel {
                    id: "kbd".to_owned(),
                })
                .await
                .unwrap();
            client.execute(c::SystemReset {}).await.unwrap();
            let mut events = client.raw_events();
            let mut seen: Vec<String> = Vec::new();
            let wanted = ["RESUME", "STOP", "DEVICE_DELETED", "RESET"];
            while !wanted.iter().all(|w| seen.iter().any(|n| n == w)) {
                let event = tokio::time::timeout(Duration::from_secs(10), events.next())
                    .await
                    .unwrap_or_else(|_| panic!("only these events came: {seen:?}"))
                    .unwrap()
                    .unwrap();
                decodes_with_every_release(&event);
                seen.push(event.name);
            }

            // exec-oob: yank is an out-of-band command.
            client
                .execute_oob(c::Yank { instances: vec![] })
                .await
                .unwrap();
            let err = client.execute_oob(c::QueryStatus {}).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                "query-status: GenericError: The command query-status does not support OOB"
            );

            // Descriptors: getfd keeps one by name, add-fd puts one in a
            // set that query-fdsets lists.
            let (read_end, write_end) = std::os::unix::net::UnixStream::pair().unwrap();
            use std::os::fd::AsFd;
            client
                .execute_with_fds(
                    c::Getfd {
                        fdname: "pipe".to_owned(),
                    },
                    &[read_end.as_fd()],
                )
                .await
                .unwrap();
            let added = client
                .execute_with_fds(
                    c::AddFd {
                        fdset_id: Some(7),
                        opaque: Some("qapi-rs".to_owned()),
                    },
                    &[write_end.as_fd()],
                )
                .await
                .unwrap();
            assert_eq!(added.fdset_id, 7);
            let sets = client.execute(c::QueryFdsets {}).await.unwrap();
            let set = sets.iter().find(|s| s.fdset_id == 7).expect("fdset 7");
            assert_eq!(set.fds.len(), 1);
            assert_eq!(set.fds[0].opaque.as_deref(), Some("qapi-rs"));
            client
                .execute(c::Closefd {
                    fdname: "pipe".to_owned(),
                })
                .await
                .unwrap();
        });
    }

    pub fn a_second_client_times_out_waiting_for_the_greeting(program: std::path::PathBuf) {
        let qemu = start(&program);
        let _first = BlockingClient::connect_qmp(&qemu.socket).unwrap();
        let err = ClientBuilder::qmp()
            .connect_timeout(Duration::from_millis(300))
            .blocking_unix(&qemu.socket)
            .unwrap_err();
        assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
    }

    pub fn calls_time_out_against_a_stopped_qemu(program: std::path::PathBuf) {
        let qemu = start(&program);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client: Client = ClientBuilder::qmp()
                .call_timeout(Duration::from_millis(300))
                .connect_unix(&qemu.socket)
                .await
                .unwrap();
            qemu.signal(libc::SIGSTOP);
            let err = client
                .execute(qmp::v7_2::commands::QueryStatus {})
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ClientError::Timeout(w) if w == "the reply to query-status"),
                "{err:?}"
            );
            qemu.signal(libc::SIGCONT);
            // The late reply is dropped; the next call gets its own.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let status = client
                .execute(qmp::v7_2::commands::QueryStatus {})
                .await
                .unwrap();
            assert_eq!(status.status, qmp::v7_2::RunState::Prelaunch);
        });
    }

    pub fn capability_probing_answers_libvirts_questions(program: std::path::PathBuf) {
        let qemu = start(&program);
        let mut client = BlockingClient::connect_qmp(&qemu.socket).unwrap();
        let caps: Capabilities = client.capabilities().unwrap();
        let questions = [
            ("query-status", true),
            ("query-cpus", false),
            ("query-cpus-fast", true),
            ("device_add/$json-cli", true),
            ("device_add/$json-cli-hotplug", true),
            ("query-status/ret-type/singlestep", true),
            ("query-status/ret-type/*singlestep", false),
            ("blockdev-add/arg-type/+file/*aio", true),
            ("blockdev-add/arg-type/+file/aio/^threads", true),
            ("blockdev-add/arg-type/+file/aio/^bogus", false),
            ("blockdev-add/arg-type/+qcow2/discard-no-unref", false),
            (
                "migrate-set-capabilities/arg-type/capabilities/capability/^postcopy-ram",
                true,
            ),
            (
                "migrate-set-capabilities/arg-type/capabilities/capability/^dirty-limit",
                false,
            ),
            ("SHUTDOWN/arg-type/reason/^host-qmp-quit", true),
            ("yank/arg-type/instances/+chardev/id", true),
            ("yank/arg-type/instances/+chardev/name", false),
        ];
        for (question, answer) in questions {
            assert_eq!(caps.query(question), answer, "{question}");
        }
        // The same through the generated types.
        use qmp::v10_0::{commands as c, Feature};
        assert!(caps.command::<c::QueryStatus>().exists());
        assert!(!caps
            .command::<c::QueryCpuModelComparison>()
            .arg_type()
            .member("nope")
            .exists());
        assert!(caps
            .command::<c::BlockdevAdd>()
            .arg_type()
            .variant("file")
            .member("aio")
            .has_value(qmp::v10_0::BlockdevAioOptions::Threads));
        assert!(!caps
            .command::<c::QueryStatus>()
            .has_feature(Feature::Deprecated));
        assert!(caps.has_event("SHUTDOWN") && !caps.has_command("SHUTDOWN"));
        eprintln!("{} libvirt-style questions answered", questions.len());
    }
}

fn main() {
    let mut suite = Suite::new();
    #[cfg(qemu_schemas)]
    {
        let qemu = qapi_tests::Qemu::program;
        suite.needs(
            "every_release_reads_qemu_7_2",
            qemu(),
            with_qemu::every_release_reads_qemu_7_2,
        );
        suite.needs(
            "events_oob_fds_and_timeouts",
            qemu(),
            with_qemu::events_oob_fds_and_timeouts,
        );
        suite.needs(
            "a_second_client_times_out_waiting_for_the_greeting",
            qemu(),
            with_qemu::a_second_client_times_out_waiting_for_the_greeting,
        );
        suite.needs(
            "calls_time_out_against_a_stopped_qemu",
            qemu(),
            with_qemu::calls_time_out_against_a_stopped_qemu,
        );
        suite.needs(
            "capability_probing_answers_libvirts_questions",
            qemu(),
            with_qemu::capability_probing_answers_libvirts_questions,
        );
    }
    #[cfg(not(qemu_schemas))]
    for name in [
        "every_release_reads_qemu_7_2",
        "events_oob_fds_and_timeouts",
        "a_second_client_times_out_waiting_for_the_greeting",
        "calls_time_out_against_a_stopped_qemu",
        "capability_probing_answers_libvirts_questions",
    ] {
        suite.needs(
            name,
            Err::<(), _>(qapi_test_support::Missing::corpus(
                "QAPI_CORPUS was not set when the tests were built",
            )),
            |()| {},
        );
    }
    suite.run();
}
