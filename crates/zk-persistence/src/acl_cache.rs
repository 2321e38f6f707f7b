//! `ReferenceCountedACLCache`: every distinct ACL list is stored once and
//! nodes refer to it by a `long` id, which is what snapshots record in each
//! node. The id -1 stands for `OPEN_ACL_UNSAFE` without an entry (ZooKeeper's
//! built-in nodes use it).
//!
//! Inside the tree a node holds an [`AclRef`] (a `u32` slot) rather than the
//! `long` id: four bytes less per node, and a lookup is an index instead of
//! a hash probe. The id is still what goes to disk.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use log::{error, info};

use crate::jute::{InputArchive, JuteResult, OutputArchive, Record};
use crate::records::Acl;
use crate::zoo_defs::ids;

/// The id that means `OPEN_ACL_UNSAFE` without a cache entry.
pub const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// A node's handle on its ACL list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclRef(u32);

impl AclRef {
    /// `OPEN_ACL_UNSAFE` via the id -1.
    pub const OPEN_UNSAFE: AclRef = AclRef(u32::MAX);
}

#[derive(Debug)]
struct Entry {
    id: i64,
    /// `None` for an id a snapshot's node referred to that the snapshot's
    /// ACL map did not hold. A fuzzy snapshot can produce that (a node
    /// created, with a new ACL list, after the map was written); Java then
    /// fails every ACL lookup on that node. We keep the id so the node
    /// round-trips, and answer lookups with an empty list (nobody but the
    /// super user gets in).
    acls: Option<Vec<Acl>>,
    refs: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct ReferenceCountedAclCache {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_id: HashMap<i64, u32>,
    by_acl: HashMap<Vec<Acl>, u32>,
    /// The last id handed out; new lists get the next one.
    acl_index: i64,
    open: Vec<Acl>,
}

impl Default for ReferenceCountedAclCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ReferenceCountedAclCache {
    pub fn new() -> Self {
        ReferenceCountedAclCache {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            by_acl: HashMap::new(),
            acl_index: 0,
            open: ids::open_acl_unsafe(),
        }
    }

    fn entry(&self, r: AclRef) -> Option<&Entry> {
        self.slots.get(r.0 as usize).and_then(|s| s.as_ref())
    }

    fn entry_mut(&mut self, r: AclRef) -> Option<&mut Entry> {
        self.slots.get_mut(r.0 as usize).and_then(|s| s.as_mut())
    }

    fn alloc(&mut self, e: Entry) -> AclRef {
        let id = e.id;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(e);
                s
            }
            None => {
                self.slots.push(Some(e));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        AclRef(slot)
    }

    /// The handle for `acls`, adding the list if it is new, and counts one
    /// more use of it (`convertAcls`). Every list gets an entry, even one
    /// equal to `OPEN_ACL_UNSAFE`: only the built-in nodes use -1.
    pub fn convert_acls(&mut self, acls: &[Acl]) -> AclRef {
        let r = match self.by_acl.get(acls) {
            Some(&slot) => AclRef(slot),
            None => {
                self.acl_index += 1;
                let id = self.acl_index;
                let r = self.alloc(Entry {
                    id,
                    acls: Some(acls.to_vec()),
                    refs: 0,
                });
                self.by_acl.insert(acls.to_vec(), r.0);
                r
            }
        };
        self.add_usage(r);
        r
    }

    /// The ACL list behind a handle (`convertLong`).
    pub fn convert_ref(&self, r: AclRef) -> &[Acl] {
        if r == AclRef::OPEN_UNSAFE {
            return &self.open;
        }
        match self.entry(r).and_then(|e| e.acls.as_deref()) {
            Some(a) => a,
            None => {
                error!(
                    "ACL not available for id {}; treating it as an empty ACL",
                    self.id_of(r)
                );
                &[]
            }
        }
    }

    /// The `long` a snapshot records for a handle.
    pub fn id_of(&self, r: AclRef) -> i64 {
        if r == AclRef::OPEN_UNSAFE {
            return OPEN_UNSAFE_ACL_ID;
        }
        self.entry(r).map(|e| e.id).unwrap_or(OPEN_UNSAFE_ACL_ID)
    }

    /// Counts one more use of a handle.
    pub fn add_usage(&mut self, r: AclRef) {
        if let Some(e) = self.entry_mut(r) {
            e.refs += 1;
        }
    }

    /// The handle for a snapshot node's ACL id, counting one use of it. An
    /// id the map does not hold gets a placeholder (see [`Entry::acls`]).
    pub fn add_usage_by_id(&mut self, id: i64) -> AclRef {
        if id == OPEN_UNSAFE_ACL_ID {
            return AclRef::OPEN_UNSAFE;
        }
        let r = match self.by_id.get(&id) {
            Some(&slot) => AclRef(slot),
            None => {
                info!("ACL id {} is not in the snapshot's ACL map", id);
                // Never hand this id out to a new list.
                self.acl_index = self.acl_index.max(id);
                self.alloc(Entry {
                    id,
                    acls: None,
                    refs: 0,
                })
            }
        };
        self.add_usage(r);
        r
    }

    /// Counts one use less; the entry goes when nothing uses it.
    pub fn remove_usage(&mut self, r: AclRef) {
        let gone = match self.entry_mut(r) {
            Some(e) => {
                e.refs = e.refs.saturating_sub(1);
                e.refs == 0
            }
            None => false,
        };
        if gone {
            self.drop_slot(r.0);
        }
    }

    fn drop_slot(&mut self, slot: u32) {
        if let Some(e) = self.slots[slot as usize].take() {
            if self.by_id.get(&e.id) == Some(&slot) {
                self.by_id.remove(&e.id);
            }
            if let Some(acls) = &e.acls {
                if self.by_acl.get(acls) == Some(&slot) {
                    self.by_acl.remove(acls);
                }
            }
            self.free.push(slot);
        }
    }

    /// Drops the entries nothing uses (after loading a snapshot, whose map
    /// may hold lists of nodes deleted while it was written).
    pub fn purge_unused(&mut self) {
        for slot in 0..self.slots.len() as u32 {
            if matches!(&self.slots[slot as usize], Some(e) if e.refs == 0) {
                self.drop_slot(slot);
            }
        }
    }

    /// Number of distinct ACL lists held.
    pub fn size(&self) -> usize {
        self.by_acl.len()
    }

    /// Uses of a handle (for tests and diagnostics).
    pub fn ref_count(&self, r: AclRef) -> u64 {
        self.entry(r).map(|e| e.refs).unwrap_or(0)
    }

    /// The list behind a snapshot id; `None` for -1 and for ids the cache
    /// does not hold or holds only as a placeholder.
    pub fn get_by_id(&self, id: i64) -> Option<&[Acl]> {
        let slot = *self.by_id.get(&id)?;
        self.entry(AclRef(slot))?.acls.as_deref()
    }

    /// The last id handed out (ids only grow: a later list has a higher
    /// id than every list before it).
    pub fn last_id(&self) -> i64 {
        self.acl_index
    }

    /// Every (id, list) held, in id order: what [`Self::serialize`] writes.
    pub fn entries(&self) -> Vec<(i64, &[Acl])> {
        let mut entries: Vec<(i64, &[Acl])> = self
            .slots
            .iter()
            .flatten()
            .filter_map(|e| e.acls.as_deref().map(|a| (e.id, a)))
            .collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries
    }

    /// Writes the map as a snapshot holds it: the number of entries, then
    /// each id and its ACL vector, in id order.
    pub fn serialize<W: Write>(&self, oa: &mut OutputArchive<W>) -> io::Result<()> {
        serialize_acl_map(oa, self.entries().into_iter())
    }

    /// Reads a snapshot's map, replacing this cache's contents. Every entry
    /// starts unused; the nodes read after it count their uses, and
    /// [`Self::purge_unused`] then drops the rest.
    pub fn deserialize<R: Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        let at = ia.position();
        let count = ia.read_int()?;
        if count < 0 {
            return Err(crate::jute::JuteError {
                offset: at,
                kind: crate::jute::JuteErrorKind::Invalid(format!(
                    "negative ACL map size {}",
                    count
                )),
            });
        }
        // Later duplicates of an id replace earlier ones, as in Java's map.
        let mut read: Vec<(i64, Vec<Acl>)> = Vec::new();
        let mut pos: HashMap<i64, usize> = HashMap::new();
        for _ in 0..count {
            let id = ia.read_long()?;
            let at = ia.position();
            let n = match ia.read_vec_len()? {
                Some(n) => n,
                None => {
                    return Err(crate::jute::JuteError {
                        offset: at,
                        kind: crate::jute::JuteErrorKind::Invalid(format!(
                            "missing ACL vector for ACL id {}",
                            id
                        )),
                    })
                }
            };
            // The count is untrusted: grow as items actually arrive.
            let mut acls = Vec::with_capacity(n.min(16));
            for _ in 0..n {
                acls.push(Acl::deserialize(ia)?);
            }
            match pos.get(&id) {
                Some(&i) => read[i].1 = acls,
                None => {
                    pos.insert(id, read.len());
                    read.push((id, acls));
                }
            }
        }
        let mut cache = Self::new();
        for (id, acls) in read {
            cache.acl_index = cache.acl_index.max(id);
            let r = cache.alloc(Entry {
                id,
                acls: Some(acls.clone()),
                refs: 0,
            });
            cache.by_acl.insert(acls, r.0);
        }
        Ok(cache)
    }
}

/// A snapshot's ACL map from (id, list) pairs in the order given: the
/// entry count, then each id and its ACL vector.
pub fn serialize_acl_map<'a, W: Write>(
    oa: &mut OutputArchive<W>,
    entries: impl ExactSizeIterator<Item = (i64, &'a [Acl])>,
) -> io::Result<()> {
    oa.write_int(entries.len() as i32)?;
    for (id, acls) in entries {
        oa.write_long(id)?;
        oa.write_vec(acls, |oa, a| a.serialize(oa))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Id;

    fn acl(id: &str) -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: Id {
                scheme: "digest".into(),
                id: id.into(),
            },
        }]
    }

    #[test]
    fn lists_are_shared_and_counted() {
        let mut c = ReferenceCountedAclCache::new();
        let a1 = c.convert_acls(&acl("a"));
        let a2 = c.convert_acls(&acl("a"));
        let b = c.convert_acls(&acl("b"));
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_eq!((c.id_of(a1), c.id_of(b)), (1, 2));
        assert_eq!(c.ref_count(a1), 2);
        assert_eq!(c.size(), 2);
        assert_eq!(c.convert_ref(b), &acl("b")[..]);
        c.remove_usage(a1);
        assert_eq!(c.ref_count(a1), 1);
        c.remove_usage(a1);
        assert_eq!(c.size(), 1);
        // A list seen again after its entry went gets a new id.
        let a3 = c.convert_acls(&acl("a"));
        assert_eq!(c.id_of(a3), 3);
        // Even OPEN_ACL_UNSAFE gets an entry; only -1 means it without one.
        let open = c.convert_acls(&ids::open_acl_unsafe());
        assert_eq!(c.id_of(open), 4);
        assert_eq!(c.id_of(AclRef::OPEN_UNSAFE), OPEN_UNSAFE_ACL_ID);
        assert_eq!(
            c.convert_ref(AclRef::OPEN_UNSAFE),
            &ids::open_acl_unsafe()[..]
        );
        assert_eq!(c.add_usage_by_id(-1), AclRef::OPEN_UNSAFE);
        c.remove_usage(AclRef::OPEN_UNSAFE);
    }

    #[test]
    fn serialize_layout_and_reload() {
        let mut c = ReferenceCountedAclCache::new();
        let a = c.convert_acls(&acl("a"));
        c.convert_acls(&ids::read_acl_unsafe());
        let mut oa = OutputArchive::new(Vec::new());
        c.serialize(&mut oa).unwrap();
        let b = oa.into_inner();
        let mut expect = vec![0, 0, 0, 2];
        expect.extend(1i64.to_be_bytes());
        expect.extend(1i32.to_be_bytes());
        expect.extend(acl("a")[0].to_bytes());
        expect.extend(2i64.to_be_bytes());
        expect.extend(1i32.to_be_bytes());
        expect.extend(ids::read_acl_unsafe()[0].to_bytes());
        assert_eq!(b, expect);

        let mut d = ReferenceCountedAclCache::deserialize(&mut InputArchive::new(&b[..])).unwrap();
        assert_eq!(d.size(), 2);
        // Entries start unused; a node's use keeps one through the purge.
        let r = d.add_usage_by_id(1);
        d.purge_unused();
        assert_eq!(d.size(), 1);
        assert_eq!(d.convert_ref(r), &acl("a")[..]);
        // New ids continue after the highest loaded one.
        let n = d.convert_acls(&acl("z"));
        assert_eq!(d.id_of(n), 3);
        let _ = a;
    }

    #[test]
    fn damaged_maps_are_errors() {
        let neg = (-2i32).to_be_bytes();
        assert!(ReferenceCountedAclCache::deserialize(&mut InputArchive::new(&neg[..])).is_err());
        let mut b = 5i32.to_be_bytes().to_vec();
        b.extend(1i64.to_be_bytes());
        b.extend(0x7fff_ffffi32.to_be_bytes());
        let e = ReferenceCountedAclCache::deserialize(&mut InputArchive::new(&b[..])).unwrap_err();
        assert!(matches!(e.kind, crate::jute::JuteErrorKind::Eof));
    }
}
