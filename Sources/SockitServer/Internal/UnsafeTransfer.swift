// The module's `@unchecked Sendable` escape hatches, in one place: each says why it is sound.
// (`EventLoop` and `Readiness` are `@unchecked Sendable` themselves: their doc comments say why.)

/// Moves a loop-confined object (a loop's echo state, a listener, a handler, a task waiting for
/// readiness) into a task for its own loop, or into a callback that hands it to that loop with
/// `execute`. Sound because the value is only touched on that loop's thread: the box crosses
/// threads, its contents are used on one.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
