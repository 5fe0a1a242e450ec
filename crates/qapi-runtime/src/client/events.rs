//! Events on their way from the connection to the streams that read
//! them.
//!
//! The rule: while no stream is open, events are kept, the most recent
//! `backlog` of them (older ones are dropped and counted), and the next
//! stream opened gets them first, with [`ClientError::EventsLost`] for
//! the dropped ones; so nothing sent between the greeting and the first
//! subscription is missed.  Every stream then gets every event from the
//! moment it opened; one that falls more than `backlog` events behind
//! loses the oldest, reported the same way.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use super::error::ClientError;
use super::wire::{RawEvent, TypedEvent};
use crate::de::Mode;
use crate::Events;

/// Events between the connection and the streams.
#[derive(Debug)]
pub(super) struct EventHub {
    state: Mutex<HubState>,
    backlog: usize,
}

#[derive(Debug)]
struct HubState {
    /// Kept while no stream is open.
    kept: VecDeque<Arc<RawEvent>>,
    /// Dropped from `kept`.
    dropped: u64,
    /// Open streams; `None` once the connection closed.
    live: Option<broadcast::Sender<Arc<RawEvent>>>,
}

impl EventHub {
    pub(super) fn new(backlog: usize) -> Self {
        let backlog = backlog.max(1);
        EventHub {
            state: Mutex::new(HubState {
                kept: VecDeque::new(),
                dropped: 0,
                live: Some(broadcast::channel(backlog).0),
            }),
            backlog,
        }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        // The state stays valid whatever panicked while holding it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands an event to the open streams, or keeps it.
    pub(super) fn publish(&self, event: RawEvent) {
        let mut state = self.state();
        let event = Arc::new(event);
        let Some(live) = &state.live else { return };
        if live.receiver_count() > 0 {
            let _ = live.send(event);
            return;
        }
        if state.kept.len() == self.backlog {
            state.kept.pop_front();
            state.dropped += 1;
        }
        state.kept.push_back(event);
    }

    /// The connection closed: streams end once they have read what came.
    pub(super) fn close(&self) {
        self.state().live = None;
    }

    /// A stream of every event from now on, the kept ones first.
    pub(super) fn subscribe(&self) -> RawEvents {
        let mut state = self.state();
        RawEvents {
            kept: std::mem::take(&mut state.kept),
            lost: std::mem::take(&mut state.dropped),
            live: state.live.as_ref().map(broadcast::Sender::subscribe),
            names: None,
        }
    }
}

/// The events of a connection as they came; see the [client docs](super#events)
/// for what is kept.
#[derive(Debug)]
pub struct RawEvents {
    kept: VecDeque<Arc<RawEvent>>,
    lost: u64,
    live: Option<broadcast::Receiver<Arc<RawEvent>>>,
    names: Option<Vec<String>>,
}

impl RawEvents {
    /// Only the events with these names.
    pub fn only<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    fn wanted(&self, event: &RawEvent) -> bool {
        self.names
            .as_ref()
            .is_none_or(|names| names.contains(&event.name))
    }

    /// The next event; `None` once the connection closed and every event
    /// was read.  `Err(EventsLost(n))` says `n` were dropped before it.
    pub async fn next(&mut self) -> Option<Result<RawEvent, ClientError>> {
        loop {
            if self.lost > 0 {
                return Some(Err(ClientError::EventsLost(std::mem::take(&mut self.lost))));
            }
            let event = match self.kept.pop_front() {
                Some(event) => event,
                None => {
                    let live = self.live.as_mut()?;
                    match live.recv().await {
                        Ok(event) => event,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            self.lost = n;
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            self.live = None;
                            return None;
                        }
                    }
                }
            };
            if self.wanted(&event) {
                return Some(Ok(Arc::unwrap_or_clone(event)));
            }
        }
    }

    /// The same stream, read as the generated `Event` enum `E`.
    pub fn typed<E: Events>(self, mode: Mode) -> EventStream<E> {
        EventStream {
            raw: self,
            mode,
            events: PhantomData,
        }
    }
}

/// The events of a connection as `E`, the generated `Event` enum (what a
/// schema does not know is `E`'s `Unrecognized` variant, not an error);
/// see the [client docs](super#events) for what is kept.
#[derive(Debug)]
pub struct EventStream<E> {
    raw: RawEvents,
    mode: Mode,
    events: PhantomData<fn() -> E>,
}

impl<E: Events> EventStream<E> {
    /// Only the events with these names.
    pub fn only<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.raw = self.raw.only(names);
        self
    }

    /// The next event; `None` once the connection closed and every event
    /// was read.  An event that does not decode is an error that keeps it.
    pub async fn next(&mut self) -> Option<Result<TypedEvent<E>, ClientError>> {
        let raw = match self.raw.next().await? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        Some(raw.decode(self.mode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::wire::Timestamp;

    fn event(name: &str) -> RawEvent {
        RawEvent {
            name: name.to_owned(),
            data: None,
            timestamp: Timestamp::default(),
        }
    }

    fn names(stream: &mut RawEvents) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut out = Vec::new();
        rt.block_on(async {
            while let Some(e) = stream.next().await {
                out.push(match e {
                    Ok(e) => e.name,
                    Err(e) => e.to_string(),
                });
            }
        });
        out
    }

    #[test]
    fn events_before_the_first_stream_are_kept_up_to_the_backlog() {
        let hub = EventHub::new(3);
        for n in ["A", "B", "C", "D", "E"] {
            hub.publish(event(n));
        }
        let mut first = hub.subscribe().only(["C", "E", "F"]);
        let mut second = hub.subscribe();
        hub.publish(event("F"));
        hub.close();
        assert_eq!(names(&mut first), ["2 events were lost", "C", "E", "F"]);
        assert_eq!(names(&mut second), ["F"]);
    }

    #[test]
    fn a_stream_that_falls_behind_loses_the_oldest() {
        let hub = EventHub::new(2);
        let mut slow = hub.subscribe();
        for n in ["A", "B", "C", "D"] {
            hub.publish(event(n));
        }
        hub.close();
        assert_eq!(names(&mut slow), ["2 events were lost", "C", "D"]);
    }
}
