import Foundation

/// Consecutive key/value slots holding consecutive positions of one sequence: slot `slot + i` holds
/// position `position + i`, for `i < count`.
public struct KVRun: Sendable, Equatable {
    public var slot: Int
    public var position: Int
    public var count: Int

    public init(slot: Int, position: Int, count: Int) {
        self.slot = slot; self.position = position; self.count = count
    }
}

/// Where every token row of a forward pass sits, as variable-length attention APIs describe it:
/// each row has a position in its sequence, a key/value slot its own key and value are written to,
/// and a *context*: the runs of slots its sequence can attend to. A row at position `p` sees the
/// entries of its context with position `≤ p` (and `> p − window` on sliding-window layers).
///
/// Every way Steer runs a model is a layout of this one pass:
/// - a batch of prompts: one context per prompt, `[KVRun(base, 0, n)]`, no padding;
/// - a decode step: one row per sequence at position `n`, its context the sequence's run grown by one;
/// - packed prompts sharing a prefix: the prefix's rows have context `[prefix]`, each prompt's rows
///   `[prefix, own]`, so the prefix is computed once and seen by all.
public struct SequenceLayout: Sendable, Equatable {
    /// Per row: position in its sequence (0 = first token).
    public private(set) var positions: [Int] = []
    /// Per row: the slot its key and value are stored in.
    public private(set) var slots: [Int] = []
    /// Per row: index into `contexts`.
    public private(set) var contextOfRow: [Int] = []
    /// Visible runs of each context, in increasing position order.
    public private(set) var contexts: [[KVRun]] = []

    public init() {}

    /// Token rows in the pass.
    public var rows: Int { positions.count }

    /// Adds a context; returns its index.
    @discardableResult
    public mutating func addContext(_ runs: [KVRun]) -> Int {
        contexts.append(runs)
        return contexts.count - 1
    }

    /// Adds one row: `position` in the sequence of `context`, stored at `slot`.
    public mutating func addRow(position: Int, slot: Int, context: Int) {
        positions.append(position); slots.append(slot); contextOfRow.append(context)
    }

    /// Adds `count` rows at positions `firstPosition…` in slots `firstSlot…` of `context`.
    public mutating func addRows(count: Int, firstPosition: Int, firstSlot: Int, context: Int) {
        for i in 0..<count { addRow(position: firstPosition + i, slot: firstSlot + i, context: context) }
    }

    /// Checks the layout's invariants against a store of `slotCount` slots: every slot in range, runs
    /// ascending and non-empty, every row's own position inside its context. Returns a reason, or nil.
    public func problem(slotCount: Int) -> String? {
        guard slots.count == rows, contextOfRow.count == rows else { return "row arrays of different lengths" }
        for (c, runs) in contexts.enumerated() {
            var next = Int.min
            for r in runs {
                guard r.count > 0, r.slot >= 0, r.slot + r.count <= slotCount else { return "context \(c): run \(r) outside the store's \(slotCount) slots" }
                guard r.position >= next else { return "context \(c): runs out of position order" }
                next = r.position + r.count
            }
        }
        for i in 0..<rows {
            guard contextOfRow[i] >= 0, contextOfRow[i] < contexts.count else { return "row \(i): no context \(contextOfRow[i])" }
            guard slots[i] >= 0, slots[i] < slotCount else { return "row \(i): slot \(slots[i]) outside the store" }
            let p = positions[i]
            let own = contexts[contextOfRow[i]].contains { $0.position <= p && p < $0.position + $0.count && $0.slot + (p - $0.position) == slots[i] }
            guard own else { return "row \(i): its own slot \(slots[i]) at position \(p) is not in its context" }
        }
        return nil
    }
}
