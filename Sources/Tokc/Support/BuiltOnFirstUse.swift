import Synchronization

/// A table an encoder builds on first use, not at load (`WholeCharacters`, `MergeCuts`), then shares with every
/// thread. Reading it is one atomic load (a mutex here, taken for every long piece, cost two threads a third of
/// their speed-up on CJK text); two threads that meet it unbuilt may both build it, and the first to store wins.
final class BuiltOnFirstUse<Value: AnyObject & Sendable>: Sendable {
    private let built = AtomicLazyReference<Value>()
    private let build: @Sendable () -> Value

    init(_ build: @escaping @Sendable () -> Value) {
        self.build = build
    }

    var value: Value {
        if let existing = built.load() { return existing }
        return built.storeIfNil(build())
    }
}
