import Sockit

/// `work` done on two cores: this thread takes the first items, up to about half of the total
/// `weight`, and a second thread the rest; the results come in the items' order. All on this
/// thread when the total weight is under `sharedFrom`, with fewer than two items, or when this
/// process may run on one core only (a thread to start would then only cost).
func sharedWithAnotherCore<Item: Sendable, Output: Sendable>(
    _ items: [Item], sharedFrom: Int, weight: (Item) -> Int = { _ in 1 },
    _ work: @escaping @Sendable (ArraySlice<Item>) -> [Output]
) -> [Output] {
    let total = items.reduce(0) { $0 + weight($1) }
    guard total >= sharedFrom, items.count > 1, usableCores > 1 else { return work(items[...]) }
    var mine = 0
    var split = 0
    while split < items.count && mine * 2 < total {
        mine += weight(items[split])
        split += 1
    }
    let theirs = items[split...]
    let shared = Locked<[Output]>([])
    let thread = startThread(onAnotherCPU: true) {
        let output = work(theirs)
        shared.withLock { $0 = output }
    }
    var output = work(items[..<split])
    if let thread {
        joinThread(thread)
        output += shared.withLock { $0 }
    } else {
        output += work(theirs)
    }
    return output
}

/// The cores this process may run on (its affinity mask), read once.
private let usableCores = PortSys.affinityCPUCount()

/// The index of the element of `sorted` (ascending by `key`) whose key is `target`, found by
/// halving; nil when there is none. For the few lookup tables of a listing, where a dictionary
/// type's first use would cost more than the searches.
func sortedIndex<Element, Key: Comparable>(of target: Key, in sorted: [Element], by key: (Element) -> Key) -> Int? {
    var (low, high) = (0, sorted.count)
    while low < high {
        let middle = (low + high) / 2
        if key(sorted[middle]) < target { low = middle + 1 } else { high = middle }
    }
    return low < sorted.count && key(sorted[low]) == target ? low : nil
}
