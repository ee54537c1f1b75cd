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
