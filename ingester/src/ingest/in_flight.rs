//! The objects this process is ingesting now: the ledger cannot tell two
//! tasks of one worker apart, so a second delivery of an object already in
//! hand here must be declined in memory.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::s3_event::ObjectCreated;

type ObjectId = (String, String, String);

#[derive(Default)]
pub struct InFlightSet(Mutex<HashSet<ObjectId>>);

/// Membership of an object in an [`InFlightSet`] for as long as it lives.
pub struct InFlight<'a> {
    set: &'a InFlightSet,
    id: ObjectId,
}

impl InFlightSet {
    /// `None` when the object is already in flight here.
    pub fn enter(&self, object: &ObjectCreated) -> Option<InFlight<'_>> {
        let id = (object.bucket.clone(), object.key.clone(), object.etag.clone());
        let entered = self.0.lock().expect("never poisoned").insert(id.clone());
        entered.then(|| InFlight { set: self, id })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.0.lock().expect("never poisoned").remove(&self.id);
    }
}
