import Synchronization

/// A value shared between threads, behind a `Mutex`: a class so closures and tasks can share
/// it, and checked `Sendable` (no `@unchecked`) because the value itself must be `Sendable`.
package final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    package init(_ value: Value) { mutex = Mutex(value) }
    package func get() -> Value { mutex.withLock { $0 } }
    package func set(_ newValue: Value) { mutex.withLock { $0 = newValue } }
    package func mutate(_ change: (inout Value) -> Void) { mutex.withLock { change(&$0) } }
}
