/// Something registered on an event loop: told when its descriptor is ready. Called on the
/// loop's thread only. Subclass it and override `handle`.
///
/// A class rather than a protocol: the loop calls it through a vtable on a table of unmanaged
/// references, with no existential box and no retain/release per event (the hot path).
open class EventHandler {
    /// A handler; register it with `EventLoop.register`.
    public init() {}

    /// Called on the loop's thread when the registered descriptor is ready.
    open func handle(_ event: ReadyEvent, on loop: EventLoop) {}

    /// Called once when `loop` has stopped with this handler still registered: nothing will be
    /// reported any more. Fail whatever waits for readiness; the descriptor stays open (its
    /// owner closes it, and `execute` still runs tasks for that, see `EventLoop.execute`).
    open func loopDidStop(_ loop: EventLoop) {}
}
