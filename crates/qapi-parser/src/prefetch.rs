//! Reading and parsing a schema's include files on a second thread.
//!
//! The root file of a large schema (QEMU's) is a list of includes.  While
//! the loader works through them in order, a helper thread reads and
//! parses them from the last one back; each file is taken by whichever of
//! the two gets to it first, so they meet in the middle.  Only the syntax
//! is done ahead: the loader still handles every file in QEMU's order,
//! with QEMU's errors (a file the helper could not read is read again by
//! the loader, which reports why).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::source::{abs_path, join_include, FileId};
use crate::syntax::{parse_items, RawItem, Value, ValueKind};

/// A file read and parsed ahead: its text, its items (spans not yet
/// labelled with the file's id) and where they end.
pub(crate) struct Parsed {
    pub text: String,
    pub items: Vec<RawItem>,
    pub end: usize,
}

enum Slot {
    /// Nobody has started on it.
    Waiting,
    /// The helper is on it.
    Parsing,
    /// The helper's result (`None`: it could not read the file).
    Ready(Option<Parsed>),
    /// The loader has it.
    Taken,
}

/// The root's include files, in order, and who has which.
pub(crate) struct Prefetch {
    files: Vec<(PathBuf, String)>,
    slots: Mutex<Vec<Slot>>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Prefetch {
    /// The files `items` (the root file's, named `root`) include, if
    /// there are enough to be worth a thread.
    pub fn for_root(root: &str, items: &[RawItem]) -> Option<Prefetch> {
        let files: Vec<(PathBuf, String)> = items
            .iter()
            .filter_map(|item| match item {
                RawItem::Value(value, None) => include_target(value),
                _ => None,
            })
            .map(|target| {
                let name = join_include(root, target);
                (abs_path(&name), name)
            })
            .collect();
        (files.len() > 1).then(|| Prefetch {
            slots: Mutex::new(files.iter().map(|_| Slot::Waiting).collect()),
            files,
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
        })
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        // A panic elsewhere leaves the slots consistent.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The helper thread: parses files from the last one back until it
    /// meets the loader or is told to stop.
    pub fn run(&self) {
        for (i, (_, name)) in self.files.iter().enumerate().rev() {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            {
                let mut slots = self.slots();
                if !matches!(slots[i], Slot::Waiting) {
                    return;
                }
                slots[i] = Slot::Parsing;
            }
            let parsed = std::fs::read_to_string(name).ok().map(|text| {
                let (items, end) = parse_items(FileId::PENDING, &text);
                Parsed { text, items, end }
            });
            self.slots()[i] = Slot::Ready(parsed);
            self.ready.notify_all();
        }
    }

    /// Tells the helper to stop after the file it is on.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The file at `abs` as the helper parsed it, waiting if the helper is
    /// on it; `None` if the loader is to read and parse it itself.
    pub fn take(&self, abs: &Path) -> Option<Parsed> {
        let i = self.files.iter().position(|(a, _)| a == abs)?;
        let mut slots = self.slots();
        loop {
            match std::mem::replace(&mut slots[i], Slot::Taken) {
                Slot::Parsing => {
                    slots[i] = Slot::Parsing;
                    slots = self.ready.wait(slots).unwrap_or_else(|e| e.into_inner());
                }
                Slot::Ready(parsed) => return parsed,
                Slot::Waiting | Slot::Taken => return None,
            }
        }
    }
}

/// `target` of `{ 'include': 'target' }`.
fn include_target(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.get("include")?.as_str()
}

/// Gives every span of `value` the file id `file`.
pub(crate) fn relabel(value: &mut Value, file: FileId) {
    value.span.file = file;
    match &mut value.kind {
        ValueKind::Object(object) => {
            for member in &mut object.members {
                member.key_span.file = file;
                relabel(&mut member.value, file);
            }
        }
        ValueKind::Array(items) => {
            for item in items {
                relabel(item, file);
            }
        }
        ValueKind::Str(_) | ValueKind::Bool(_) => {}
    }
}
