//! How a client connects: protocol, capabilities, decoding mode, time
//! limits and event backlog.

use std::time::Duration;

use crate::de::Mode;

/// How a client connects.  Start with [`ClientBuilder::qmp`] or
/// [`ClientBuilder::qga`], then connect with one of the `connect_*`
/// methods (async, feature `tokio`) or `blocking_*` ones.
///
/// ```no_run
/// # async fn f() -> Result<(), qapi_runtime::client::ClientError> {
/// use std::time::Duration;
/// use qapi_runtime::client::ClientBuilder;
///
/// let client = ClientBuilder::qmp()
///     .connect_timeout(Duration::from_secs(5))
///     .call_timeout(Duration::from_secs(30))
///     .connect_unix("/run/qemu/vm1.qmp")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientBuilder {
    pub(super) qmp: bool,
    pub(super) oob: bool,
    pub(super) mode: Mode,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) call_timeout: Option<Duration>,
    pub(super) event_backlog: usize,
}

impl ClientBuilder {
    /// A QMP client: reads the greeting and negotiates capabilities
    /// (`oob` when the server offers it).
    pub fn qmp() -> Self {
        ClientBuilder {
            qmp: true,
            oob: true,
            mode: Mode::Tolerant,
            connect_timeout: None,
            call_timeout: None,
            event_backlog: 1024,
        }
    }

    /// A guest agent client: no greeting, no negotiation.
    pub fn qga() -> Self {
        ClientBuilder {
            qmp: false,
            oob: false,
            ..ClientBuilder::qmp()
        }
    }

    /// Whether to enable `oob` when the server offers it (default: yes).
    ///
    /// ```
    /// let builder = qapi_runtime::client::ClientBuilder::qmp().oob(false);
    /// ```
    pub fn oob(mut self, enable: bool) -> Self {
        self.oob = enable;
        self
    }

    /// Read replies and events strictly, as a server reads arguments:
    /// members and values the schema does not know are errors.  For tests
    /// that want to catch schema drift; the default is tolerant, because
    /// the peer may be another release.
    ///
    /// ```
    /// let builder = qapi_runtime::client::ClientBuilder::qmp().strict(true);
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.mode = if strict { Mode::Strict } else { Mode::Tolerant };
        self
    }

    /// How long connecting, the greeting and negotiation may take
    /// (default: no limit).  QEMU's monitor serves one client at a time: a
    /// second one connects but gets no greeting until the first leaves.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = qapi_runtime::client::ClientBuilder::qmp().connect_timeout(Duration::from_secs(5));
    /// ```
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = Some(limit);
        self
    }

    /// How long a call may wait for its reply (default: no limit).  A call
    /// that times out is forgotten; its reply, if it comes, is dropped.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = qapi_runtime::client::ClientBuilder::qga().call_timeout(Duration::from_secs(10));
    /// ```
    pub fn call_timeout(mut self, limit: Duration) -> Self {
        self.call_timeout = Some(limit);
        self
    }

    /// How many events are kept while nobody reads them (default 1024);
    /// see the [client docs](super#events) for the rule.
    ///
    /// ```
    /// let builder = qapi_runtime::client::ClientBuilder::qmp().event_backlog(10_000);
    /// ```
    pub fn event_backlog(mut self, events: usize) -> Self {
        self.event_backlog = events.max(1);
        self
    }
}
