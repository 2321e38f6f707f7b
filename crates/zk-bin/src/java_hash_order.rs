//! The order in which a `java.util.HashMap` (or `HashSet`) iterates its
//! keys, so that our dumps list children and sessions exactly where
//! SnapshotFormatter lists them and the two outputs compare line by line.
//!
//! That order is not random: it is a function of the keys' `hashCode`s,
//! the order they were inserted and the table's starting capacity. A map
//! iterates bucket by bucket (bucket = spread hash masked by the table
//! size), and each bucket in insertion order; doubling the table splits
//! each bucket into two while keeping their relative order. We replay
//! the inserts into an array of buckets with the same growth rules.
//!
//! One case is approximated: a bucket of 9 or more keys in a table of 64
//! or more slots becomes a red-black tree whose list order can differ
//! from insertion order. That takes many equal-bucket names under one
//! parent (crafted names, in practice), and we keep insertion order there.

/// `HashMap`'s starting capacity when none is given (`new HashMap<>()`).
pub const DEFAULT_CAPACITY: usize = 16;
/// `DataNode`'s children set is a `new HashSet<>(8)`.
pub const CHILDREN_CAPACITY: usize = 8;

/// A bucket this long asks for treeification, which grows the table
/// instead while it has fewer than 64 slots.
const TREEIFY_THRESHOLD: usize = 8;
const MIN_TREEIFY_CAPACITY: usize = 64;

/// `String.hashCode`: over UTF-16 code units, wrapping.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// `Long.hashCode`.
pub fn long_hash(v: i64) -> i32 {
    (v ^ ((v as u64) >> 32) as i64) as i32
}

/// The indices of `hashes` (distinct keys, in insertion order) in the
/// order a map created with `initial_capacity` iterates them.
pub fn iteration_order(hashes: &[i32], initial_capacity: usize) -> Vec<usize> {
    // The table is allocated lazily at the first insert with the requested
    // capacity rounded up to a power of two.
    let mut buckets: Vec<Vec<(u32, usize)>> =
        vec![Vec::new(); initial_capacity.max(1).next_power_of_two()];
    for (index, &h) in hashes.iter().enumerate() {
        // `HashMap.hash` folds the high half into the low one.
        let spread = (h as u32) ^ ((h as u32) >> 16);
        let slot = spread as usize & (buckets.len() - 1);
        buckets[slot].push((spread, index));
        if buckets[slot].len() > TREEIFY_THRESHOLD && buckets.len() < MIN_TREEIFY_CAPACITY {
            buckets = grow(buckets);
        }
        // Resize once the size passes three quarters of the capacity.
        if index + 1 > buckets.len() / 4 * 3 {
            buckets = grow(buckets);
        }
    }
    buckets.into_iter().flatten().map(|(_, i)| i).collect()
}

/// Doubles the table; each key keeps its place relative to the keys it
/// lands with.
fn grow(old: Vec<Vec<(u32, usize)>>) -> Vec<Vec<(u32, usize)>> {
    let mut new = vec![Vec::new(); old.len() * 2];
    let mask = new.len() - 1;
    for (spread, index) in old.into_iter().flatten() {
        new[spread as usize & mask].push((spread, index));
    }
    new
}

/// `items` reordered as a `HashSet<String>` of `initial_capacity` filled
/// in their order would iterate them.
pub fn order_strings(items: Vec<String>, initial_capacity: usize) -> Vec<String> {
    let hashes: Vec<i32> = items.iter().map(|s| string_hash(s)).collect();
    reorder(items, &iteration_order(&hashes, initial_capacity))
}

/// `entries` reordered as a `HashMap<Long, _>` of the default capacity
/// filled in their order would iterate them.
pub fn order_by_long_key<V>(entries: Vec<(i64, V)>) -> Vec<(i64, V)> {
    let hashes: Vec<i32> = entries.iter().map(|(k, _)| long_hash(*k)).collect();
    reorder(entries, &iteration_order(&hashes, DEFAULT_CAPACITY))
}

fn reorder<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    // The expected orders below were printed by Java 17's HashSet/HashMap.

    #[test]
    fn hashes_match_java() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("zookeeper"), 1_600_681_804);
        assert_eq!(string_hash("Aa"), string_hash("BB"));
        // A character outside the BMP counts as two UTF-16 units.
        assert_eq!(string_hash("😀"), 0xd83d * 31 + 0xde00);
        assert_eq!(long_hash(-1), 0);
        assert_eq!(long_hash(0x1_0000_0002), 3);
    }

    #[test]
    fn small_sets_iterate_by_bucket() {
        let got = order_strings(strings(&["zookeeper", "app", "b", "c"]), 8);
        assert_eq!(got, strings(&["app", "b", "c", "zookeeper"]));
    }

    #[test]
    fn growing_sets_iterate_as_java() {
        let names: Vec<String> = (0..40)
            .map(|i| format!("node-{}", i * 7919 % 1000))
            .collect();
        let got = order_strings(names, CHILDREN_CAPACITY);
        let want = "node-919,node-56,node-838,node-757,node-218,node-813,node-975,node-514,\
node-676,node-137,node-732,node-894,node-433,node-595,node-299,node-651,node-352,node-570,\
node-271,node-84,node-190,node-0,node-3,node-704,node-947,node-408,node-922,node-109,\
node-623,node-866,node-327,node-489,node-841,node-28,node-542,node-785,node-246,node-461,\
node-165,node-380";
        assert_eq!(got.join(","), want);
    }

    #[test]
    fn colliding_names_keep_insertion_order_and_force_growth() {
        let names = strings(&[
            "AaAa", "BBBB", "AaBB", "BBAa", "x", "y", "AaAaAa", "BBBBBB", "AaBBAa",
        ]);
        let got = order_strings(names, CHILDREN_CAPACITY);
        assert_eq!(
            got.join(","),
            "AaAaAa,BBBBBB,AaBBAa,x,y,AaAa,BBBB,AaBB,BBAa"
        );
    }

    #[test]
    fn session_ids_iterate_as_a_java_hash_map() {
        let ids: Vec<(i64, ())> = [
            0x1000_0000_0000_0abc_i64,
            0x0100_0000_0000_0000,
            0x2000_0000_0000_0001,
            -1,
            0x10001,
            0x0720_0000_1a0b_0000,
        ]
        .into_iter()
        .map(|id| (id, ()))
        .collect();
        let got: Vec<i64> = order_by_long_key(ids).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            got,
            vec![
                0x0100_0000_0000_0000,
                -1,
                0x10001,
                0x2000_0000_0000_0001,
                0x0720_0000_1a0b_0000,
                0x1000_0000_0000_0abc
            ]
        );
    }
}
