import Foundation

/// A bounded word → ids cache shared by all threads using a tokenizer, behind a lock.
/// When full it is emptied rather than evicting piecemeal: cheap and good enough for text
/// whose frequent words come back quickly.
final class WordCache: @unchecked Sendable {
    private var map: [String: [Int]] = [:]
    private let lock = NSLock()
    private let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func get(_ key: String) -> [Int]? {
        lock.lock()
        defer { lock.unlock() }
        return map[key]
    }

    func set(_ key: String, _ ids: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        if map.count >= capacity { map.removeAll(keepingCapacity: true) }
        map[key] = ids
    }
}
