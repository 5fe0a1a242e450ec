//! Events a QMP server sends to every negotiated connection.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokio::sync::broadcast;

use super::session::{event_message, Protocol};
use crate::json;
use crate::Event;

/// Sends events to every QMP connection that has negotiated capabilities.
/// An event emitted while a command runs reaches that command's client
/// before the command's reply, as from QEMU.  A connection that falls
/// more than `backlog` events behind loses the oldest, so a stuck peer
/// cannot make memory grow.
#[derive(Clone, Debug)]
pub struct EventSender(broadcast::Sender<Arc<[u8]>>);

impl EventSender {
    /// A sender keeping up to `backlog` events per connection.
    pub fn new(backlog: usize) -> Self {
        EventSender(broadcast::channel(backlog.max(1)).0)
    }

    /// Emits `event` now.  Its data is left out when it has no members.
    pub fn emit<E: Event>(&self, event: &E) -> Result<(), serde_json::Error> {
        let data = serde_json::to_value(event)?;
        let data = match &data {
            Value::Object(map) if map.is_empty() => None,
            _ => Some(data),
        };
        self.emit_raw(E::NAME, data);
        Ok(())
    }

    /// Emits an event by name.
    pub fn emit_raw(&self, name: &str, data: Option<Value>) {
        let mut bytes = json::to_vec(&event_message(name, data, SystemTime::now()));
        bytes.extend_from_slice(Protocol::Qmp(Default::default()).terminator());
        // No receivers is fine: nobody listens yet.
        let _ = self.0.send(bytes.into());
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<[u8]>> {
        self.0.subscribe()
    }
}
