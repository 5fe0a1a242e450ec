//! The dispatcher: one request in, zero or one reply out.
//!
//! Built from a generated schema ([`SchemaInfo`]) and handlers registered
//! per command type, it does what QEMU's `qmp_dispatch` does, in QEMU's
//! order: check the request's shape, look the command up, apply the compat
//! policy, refuse disabled commands (the deployment's [`Policy`], its
//! [`Gate`]s, commands without a handler), refuse `exec-oob` for commands that
//! do not allow it, decode the arguments, run the handler and encode the
//! answer.  Every refusal is QEMU's text; disabled commands say why.
//!
//! Handlers come in three kinds, which say where they run (see the
//! [server docs](super) for the threading model): [`handle`](DispatcherBuilder::handle)
//! for quick work, run where the request is read; [`handle_blocking`](DispatcherBuilder::handle_blocking)
//! for work that may block (file and process I/O), run on a thread of its
//! own; [`handle_async`](DispatcherBuilder::handle_async) for futures.
//!
//! A few commands are served without a handler when the schema has them
//! and the author registers none (see [`Builtin`]): `qmp_capabilities`,
//! `query-commands` and `query-qmp-schema`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll, Wake, Waker};

use serde::Serialize;
use serde_json::{Map, Value};

use super::request;
use crate::error::{Error, ErrorClass};
use crate::introspect::Json;
use crate::policy::{CompatPolicy, Gate, Policy, Reason};
use crate::{Command, CommandInfo};

/// A generated schema's tables, as the generated `SCHEMA` static gives
/// them.
#[derive(Clone, Copy, Debug)]
pub struct SchemaInfo {
    /// Every command, in schema order.
    pub commands: &'static [&'static CommandInfo],
    /// Every feature name, in QEMU's numbering.
    pub features: &'static [&'static str],
    /// Every event name.
    pub events: &'static [&'static str],
    /// The answer to `query-qmp-schema`, masked as QEMU masks it.
    pub introspection: &'static Json,
}

/// A boxed future, as async handlers return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type SyncHandler<S> = dyn Fn(&S, Value) -> Result<Value, Error> + Send + Sync;
type AsyncHandler<S> =
    dyn Fn(Arc<S>, Value) -> Result<BoxFuture<Result<Value, Error>>, Error> + Send + Sync;

enum Handler<S> {
    Sync(Box<SyncHandler<S>>),
    Blocking(Arc<SyncHandler<S>>),
    Async(Box<AsyncHandler<S>>),
    Builtin(Builtin),
}

/// A command the runtime answers itself when the schema has it and no
/// handler is registered for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `qmp_capabilities`: negotiated by the QMP session; once negotiation
    /// is over, QEMU's refusal.
    QmpCapabilities,
    /// `query-commands`: every command that runs now, as QEMU lists them
    /// (the last registered first).
    QueryCommands,
    /// `query-qmp-schema`: the generated introspection data.
    QueryQmpSchema,
}

impl Builtin {
    /// Every built-in command.
    pub const ALL: [Builtin; 3] = [
        Builtin::QmpCapabilities,
        Builtin::QueryCommands,
        Builtin::QueryQmpSchema,
    ];

    /// The command's name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Builtin::QmpCapabilities => "qmp_capabilities",
            Builtin::QueryCommands => "query-commands",
            Builtin::QueryQmpSchema => "query-qmp-schema",
        }
    }
}

struct Entry<S> {
    info: &'static CommandInfo,
    handler: Option<Handler<S>>,
    /// The deployment's policy, decided once.
    verdict: Result<(), Reason>,
}

/// One command as the dispatcher sees it now: what `guest-info` and
/// `query-commands` report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandStatus {
    /// The command.
    pub info: &'static CommandInfo,
    /// Why it does not run, or `None` if it does.
    pub disabled: Option<Reason>,
}

impl CommandStatus {
    /// Whether the command runs.
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }
}

/// Work that gives a reply and may block: run it where blocking does no
/// harm (a transport runs it on a thread of tokio's blocking pool).
pub type BlockingJob = Box<dyn FnOnce() -> Option<Value> + Send + 'static>;

/// What dispatching a request gives.
pub enum Reply {
    /// The reply is ready; `None` means no reply at all (a command without
    /// a success response succeeded).
    Ready(Option<Value>),
    /// An async handler runs; the future gives the reply.
    Pending(BoxFuture<Option<Value>>),
    /// A blocking handler is to run; the job gives the reply.
    Blocking(BlockingJob),
}

impl Reply {
    /// The reply, running a blocking job on this thread and waiting for a
    /// future here.
    pub fn wait_here(self) -> Option<Value> {
        match self {
            Reply::Ready(reply) => reply,
            Reply::Pending(fut) => block_on(fut),
            Reply::Blocking(job) => job(),
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Ready(v) => f.debug_tuple("Ready").field(v).finish(),
            Reply::Pending(_) => f.write_str("Pending(..)"),
            Reply::Blocking(_) => f.write_str("Blocking(..)"),
        }
    }
}

/// Routes requests to handlers; see the module docs.  `S` is the state
/// every handler gets.
pub struct Dispatcher<S> {
    state: Arc<S>,
    entries: Vec<Entry<S>>,
    by_name: HashMap<&'static str, usize>,
    policy: Policy,
    gates: Vec<Gate>,
    compat: CompatPolicy,
    introspection: &'static Json,
}

impl<S> std::fmt::Debug for Dispatcher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("commands", &self.entries.len())
            .field("compat", &self.compat)
            .field("gates", &self.gates)
            .finish_non_exhaustive()
    }
}

/// Why a [`DispatcherBuilder`] could not build.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A handler for a command the schema does not have.
    #[error("command '{0}' is not in the schema the dispatcher is built from")]
    UnknownCommand(&'static str),
    /// Two handlers for one command.
    #[error("command '{0}' has two handlers")]
    DuplicateHandler(&'static str),
    /// The policy names commands the schema does not have.
    #[error("the policy names unknown commands: {}", .0.join(", "))]
    UnknownPolicyNames(Vec<String>),
}

/// Builds a [`Dispatcher`].
pub struct DispatcherBuilder<S> {
    schema: SchemaInfo,
    handlers: HashMap<&'static str, Handler<S>>,
    errors: Vec<BuildError>,
    policy: Policy,
    strict_names: bool,
    compat: CompatPolicy,
    gates: Vec<Gate>,
}

impl<S: Send + Sync + 'static> Dispatcher<S> {
    /// Starts building a dispatcher for `schema`.
    pub fn builder(schema: SchemaInfo) -> DispatcherBuilder<S> {
        DispatcherBuilder {
            schema,
            handlers: HashMap::new(),
            errors: Vec::new(),
            policy: Policy::default(),
            strict_names: false,
            compat: CompatPolicy::default(),
            gates: Vec::new(),
        }
    }

    /// The handlers' state.
    pub fn state(&self) -> &Arc<S> {
        &self.state
    }

    /// The words for `reason`: the policy's, or its gate's.
    pub fn explain(&self, reason: Reason) -> &str {
        self.policy.explain(reason, &self.gates)
    }

    /// The command `name`, if the schema has it.
    pub fn command(&self, name: &str) -> Option<CommandStatus> {
        self.by_name
            .get(name)
            .map(|&i| self.status(&self.entries[i]))
    }

    /// Every command in schema order, with whether it runs now and why not.
    pub fn commands(&self) -> impl Iterator<Item = CommandStatus> + '_ {
        self.entries.iter().map(|e| self.status(e))
    }

    fn status(&self, entry: &Entry<S>) -> CommandStatus {
        CommandStatus {
            info: entry.info,
            disabled: self.runnable(entry).err(),
        }
    }

    /// The command's handler if the command may run now, or why not.
    fn runnable<'e>(&self, entry: &'e Entry<S>) -> Result<&'e Handler<S>, Reason> {
        entry.verdict?;
        if let Some(i) = self
            .gates
            .iter()
            .position(|g| !g.admits(entry.info.features))
        {
            return Err(Reason::Gate(i));
        }
        entry.handler.as_ref().ok_or(Reason::NotImplemented)
    }

    /// Dispatches one request.  `allow_oob` is whether the channel accepts
    /// `exec-oob` (QMP with the `oob` capability; never QGA).
    pub fn start(&self, request: Value, allow_oob: bool) -> Reply {
        let checked = self.prepare(&request, allow_oob);
        // The request is ours: take its id and arguments rather than copy.
        let (id, arguments) = match request {
            Value::Object(mut map) => (map.remove("id"), map.remove("arguments")),
            _ => (None, None),
        };
        let (info, handler) = match checked {
            Ok(call) => call,
            Err(e) => return Reply::Ready(Some(error_reply(&e, id))),
        };
        let arguments = arguments.unwrap_or_else(|| Value::Object(Map::new()));
        let success_response = info.success_response;
        let name = info.name;
        match handler {
            Handler::Sync(f) => Reply::Ready(finish(
                guarded(name, || f(&self.state, arguments)),
                id,
                success_response,
            )),
            Handler::Blocking(f) => {
                let (f, state) = (Arc::clone(f), Arc::clone(&self.state));
                Reply::Blocking(Box::new(move || {
                    finish(guarded(name, || f(&state, arguments)), id, success_response)
                }))
            }
            Handler::Async(f) => match guarded(name, || f(Arc::clone(&self.state), arguments)) {
                Err(e) => Reply::Ready(Some(error_reply(&e, id))),
                Ok(fut) => {
                    let fut = Guarded { name, fut };
                    Reply::Pending(Box::pin(
                        async move { finish(fut.await, id, success_response) },
                    ))
                }
            },
            Handler::Builtin(builtin) => Reply::Ready(finish(
                self.builtin(*builtin, arguments),
                id,
                success_response,
            )),
        }
    }

    /// Answers a built-in command.
    fn builtin(&self, builtin: Builtin, arguments: Value) -> Result<Value, Error> {
        let no_arguments = |arguments| {
            crate::de::decode_object::<crate::Empty>(arguments, crate::de::Mode::Strict)
        };
        match builtin {
            // Reached only after negotiation, when QEMU refuses it whatever
            // its arguments.
            Builtin::QmpCapabilities => Err(already_negotiated()),
            Builtin::QueryCommands => {
                no_arguments(arguments)?;
                Ok(Value::Array(
                    self.entries
                        .iter()
                        .rev()
                        .filter(|e| self.runnable(e).is_ok())
                        .map(|e| serde_json::json!({ "name": e.info.name }))
                        .collect(),
                ))
            }
            Builtin::QueryQmpSchema => {
                no_arguments(arguments)?;
                Ok(self.introspection.to_value())
            }
        }
    }

    /// Everything up to running the handler: the command and its handler,
    /// or why the request is refused.
    fn prepare(
        &self,
        request: &Value,
        allow_oob: bool,
    ) -> Result<(&'static CommandInfo, &Handler<S>), Error> {
        let req = request::check(request, allow_oob)?;
        let entry = self
            .by_name
            .get(req.command)
            .map(|&i| &self.entries[i])
            .ok_or_else(|| {
                Error::new(
                    ErrorClass::CommandNotFound,
                    format!("The command {} has not been found", req.command),
                )
            })?;
        let info = entry.info;
        if let Some(text) = self.compat.refusal(info.name, info.features) {
            return Err(Error::new(ErrorClass::CommandNotFound, text));
        }
        let handler = self.runnable(entry).map_err(|reason| {
            Error::new(
                ErrorClass::CommandNotFound,
                format!(
                    "Command {} has been disabled: {}",
                    info.name,
                    self.explain(reason)
                ),
            )
        })?;
        if req.oob && !info.allow_oob {
            return Err(Error::generic(format!(
                "The command {} does not support OOB",
                info.name
            )));
        }
        Ok((info, handler))
    }

    /// Dispatches one request and waits for an async handler; a blocking
    /// handler runs on this thread.
    pub async fn dispatch(&self, request: Value, allow_oob: bool) -> Option<Value> {
        match self.start(request, allow_oob) {
            Reply::Ready(reply) => reply,
            Reply::Pending(fut) => fut.await,
            Reply::Blocking(job) => job(),
        }
    }

    /// Dispatches one request on this thread, blocking on an async
    /// handler (which must not need a runtime of its own).
    pub fn dispatch_blocking(&self, request: Value, allow_oob: bool) -> Option<Value> {
        self.start(request, allow_oob).wait_here()
    }
}

impl<S: Send + Sync + 'static> DispatcherBuilder<S> {
    /// The deployment's policy (default: everything enabled).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Makes [`build`](Self::build) fail when the policy's lists name
    /// commands the schema lacks (a misspelt name blocks nothing).
    pub fn strict_policy_names(mut self, strict: bool) -> Self {
        self.strict_names = strict;
        self
    }

    /// QEMU's compat policy for deprecated and unstable commands.
    pub fn compat(mut self, compat: CompatPolicy) -> Self {
        self.compat = compat;
        self
    }

    /// Adds `gate`: while its state holds, only the commands carrying one
    /// of its groups run.
    pub fn gate(mut self, gate: Gate) -> Self {
        self.gates.push(gate);
        self
    }

    fn add(&mut self, name: &'static str, handler: Handler<S>) {
        if !self.schema.commands.iter().any(|c| c.name == name) {
            self.errors.push(BuildError::UnknownCommand(name));
        } else if self.handlers.insert(name, handler).is_some() {
            self.errors.push(BuildError::DuplicateHandler(name));
        }
    }

    /// Registers a handler for command `C`.
    pub fn handle<C, F>(mut self, handler: F) -> Self
    where
        C: Command,
        F: Fn(&S, C) -> Result<C::Returns, Error> + Send + Sync + 'static,
    {
        self.add(
            C::NAME,
            Handler::Sync(Box::new(move |state, arguments| {
                let arguments = C::decode(arguments)?;
                encode(&handler(state, arguments)?)
            })),
        );
        self
    }

    /// Registers a handler for command `C` that may block (file or process
    /// I/O, a lock held by slow work): it runs on a thread of its own, so
    /// other connections, and out-of-band commands of its own, go on.
    pub fn handle_blocking<C, F>(mut self, handler: F) -> Self
    where
        C: Command,
        F: Fn(&S, C) -> Result<C::Returns, Error> + Send + Sync + 'static,
    {
        self.add(
            C::NAME,
            Handler::Blocking(Arc::new(move |state: &S, arguments| {
                let arguments = C::decode(arguments)?;
                encode(&handler(state, arguments)?)
            })),
        );
        self
    }

    /// Registers a handler for the command `name` that takes and returns
    /// JSON as it is: for proxies, and for commands without generated
    /// types.
    pub fn handle_raw<F>(mut self, name: &'static str, handler: F) -> Self
    where
        F: Fn(&S, Value) -> Result<Value, Error> + Send + Sync + 'static,
    {
        self.add(name, Handler::Sync(Box::new(handler)));
        self
    }

    /// Registers an async handler for command `C`.
    pub fn handle_async<C, F, Fut>(mut self, handler: F) -> Self
    where
        C: Command,
        F: Fn(Arc<S>, C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C::Returns, Error>> + Send + 'static,
    {
        self.add(
            C::NAME,
            Handler::Async(Box::new(move |state, arguments| {
                let arguments = C::decode(arguments)?;
                let fut = handler(state, arguments);
                Ok(Box::pin(async move { encode(&fut.await?) }) as BoxFuture<_>)
            })),
        );
        self
    }

    /// Builds the dispatcher around `state`.
    pub fn build(mut self, state: S) -> Result<Dispatcher<S>, BuildError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        let unknown = self.policy.unknown_names(self.schema.commands);
        if self.strict_names && !unknown.is_empty() {
            return Err(BuildError::UnknownPolicyNames(
                unknown.into_iter().map(str::to_owned).collect(),
            ));
        }
        let verdicts = self.policy.apply(self.schema.commands);
        let entries: Vec<Entry<S>> = self
            .schema
            .commands
            .iter()
            .zip(verdicts)
            .map(|(&info, verdict)| Entry {
                info,
                handler: self.handlers.remove(info.name).or_else(|| {
                    Builtin::ALL
                        .into_iter()
                        .find(|b| b.name() == info.name)
                        .map(Handler::Builtin)
                }),
                verdict,
            })
            .collect();
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.info.name, i))
            .collect();
        Ok(Dispatcher {
            state: Arc::new(state),
            entries,
            by_name,
            policy: self.policy,
            gates: self.gates,
            compat: self.compat,
            introspection: self.schema.introspection,
        })
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::generic(e.to_string()))
}

/// A handler's way back to the dispatcher that runs it, for commands that
/// report on every command (`guest-info`, `query-commands`): keep one in
/// the state and [`set`](Self::set) it once the dispatcher is built.  It
/// holds the dispatcher weakly, so the two do not keep each other alive.
pub struct DispatcherHandle<S>(OnceLock<Weak<Dispatcher<S>>>);

impl<S> Default for DispatcherHandle<S> {
    fn default() -> Self {
        DispatcherHandle(OnceLock::new())
    }
}

impl<S> std::fmt::Debug for DispatcherHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "DispatcherHandle(set)"
        } else {
            "DispatcherHandle(unset)"
        })
    }
}

impl<S> DispatcherHandle<S> {
    /// Points the handle at `dispatcher`; later calls change nothing.
    pub fn set(&self, dispatcher: &Arc<Dispatcher<S>>) {
        let _ = self.0.set(Arc::downgrade(dispatcher));
    }

    /// The dispatcher, or an error if it was never set or is gone.
    pub fn get(&self) -> Result<Arc<Dispatcher<S>>, Error> {
        self.0
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| Error::generic("the agent is shutting down"))
    }
}

/// QEMU's answer to `qmp_capabilities` once capabilities are negotiated.
pub(crate) fn already_negotiated() -> Error {
    Error::new(
        ErrorClass::CommandNotFound,
        "Capabilities negotiation is already complete, command ignored",
    )
}

/// `{"id": ..., "error": {...}}`, the id only if the request had one.
pub fn error_reply(error: &Error, id: Option<Value>) -> Value {
    let mut reply = Map::new();
    if let Some(id) = id {
        reply.insert("id".to_owned(), id);
    }
    reply.insert("error".to_owned(), error.to_json());
    Value::Object(reply)
}

fn finish(
    result: Result<Value, Error>,
    id: Option<Value>,
    success_response: bool,
) -> Option<Value> {
    match result {
        Err(e) => Some(error_reply(&e, id)),
        Ok(_) if !success_response => None,
        Ok(value) => {
            let mut reply = Map::new();
            reply.insert("return".to_owned(), value);
            if let Some(id) = id {
                reply.insert("id".to_owned(), id);
            }
            Some(Value::Object(reply))
        }
    }
}

/// The error a client gets when the handler of `command` panicked: the
/// server goes on.
fn handler_panicked(command: &str) -> Error {
    Error::generic(format!("internal error in command {command}"))
}

/// Runs a handler, turning its panic into an error reply.
fn guarded<T>(command: &str, run: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(handler_panicked(command)))
}

/// An async handler's future, whose panic becomes an error reply.
struct Guarded {
    name: &'static str,
    fut: BoxFuture<Result<Value, Error>>,
}

impl Future for Guarded {
    type Output = Result<Value, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let name = self.name;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.fut.as_mut().poll(cx)))
            .unwrap_or_else(|_| Poll::Ready(Err(handler_panicked(name))))
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread.
fn block_on<T>(fut: BoxFuture<T>) -> T {
    let mut fut = fut;
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureSet;
    use serde_json::json;

    fn command(name: &'static str) -> &'static CommandInfo {
        Box::leak(Box::new(CommandInfo::new(name, FeatureSet::EMPTY)))
    }

    static INTROSPECTION: Json = Json::Array(&[Json::Object(&[("name", Json::Str("0"))])]);

    fn schema(names: &[&'static str]) -> SchemaInfo {
        let commands: Vec<&'static CommandInfo> = names.iter().map(|n| command(n)).collect();
        SchemaInfo {
            commands: Box::leak(commands.into_boxed_slice()),
            features: &["deprecated", "unstable"],
            events: &[],
            introspection: &INTROSPECTION,
        }
    }

    const NAMES: [&str; 4] = [
        "qmp_capabilities",
        "query-commands",
        "query-qmp-schema",
        "stop",
    ];

    fn call(d: &Dispatcher<()>, request: Value) -> Value {
        d.dispatch_blocking(request, false).expect("a reply")
    }

    #[test]
    fn builtins_answer_without_handlers() {
        let d = Dispatcher::builder(schema(&NAMES))
            .handle_raw("stop", |_, _| Ok(json!({})))
            .build(())
            .unwrap();
        // Every command that runs, the last registered first, as QEMU.
        assert_eq!(
            call(&d, json!({"execute": "query-commands", "id": 1})),
            json!({"return": [{"name": "stop"}, {"name": "query-qmp-schema"},
                              {"name": "query-commands"}, {"name": "qmp_capabilities"}],
                   "id": 1})
        );
        assert_eq!(
            call(&d, json!({"execute": "query-qmp-schema"})),
            json!({"return": [{"name": "0"}]})
        );
        assert_eq!(
            call(
                &d,
                json!({"execute": "query-qmp-schema", "arguments": {"x": 1}})
            ),
            json!({"error": {"class": "GenericError", "desc": "Parameter 'x' is unexpected"}})
        );
        assert_eq!(
            call(&d, json!({"execute": "qmp_capabilities"}))["error"]["desc"],
            "Capabilities negotiation is already complete, command ignored"
        );
    }

    #[test]
    fn a_command_without_a_handler_is_left_out_of_query_commands() {
        let d = Dispatcher::<()>::builder(schema(&NAMES)).build(()).unwrap();
        let listed = call(&d, json!({"execute": "query-commands"}));
        assert!(!listed.to_string().contains("stop"), "{listed}");
    }

    #[test]
    fn an_author_overrides_a_builtin() {
        let d = Dispatcher::builder(schema(&NAMES))
            .handle_raw("query-commands", |_, _| Ok(json!(["mine"])))
            .build(())
            .unwrap();
        assert_eq!(
            call(&d, json!({"execute": "query-commands"})),
            json!({"return": ["mine"]})
        );
    }

    #[test]
    fn a_panicking_handler_is_an_error_reply() {
        let d = Dispatcher::builder(schema(&NAMES))
            .handle_raw("stop", |_, _| panic!("a bug"))
            .build(())
            .unwrap();
        assert_eq!(
            call(&d, json!({"execute": "stop", "id": 3})),
            json!({"id": 3, "error": {"class": "GenericError", "desc": "internal error in command stop"}})
        );
        // And the dispatcher goes on.
        assert!(call(&d, json!({"execute": "query-commands"}))["return"].is_array());
    }
}
