import Foundation
import Compute

/// Rows of a forward pass that start together and share interventions: a packed group, or a whole batch.
public struct RowGroup {
    /// Consecutive rows of the pass.
    public var rows: Range<Int>
    /// The block the group starts at; above 0, `initialState` holds `resid_pre` of that block for its rows.
    public var startLayer: Int
    /// `rows.count × d_model` in the model's backend.
    public var initialState: Tensor?

    public init(rows: Range<Int>, startLayer: Int = 0, initialState: Tensor? = nil) {
        self.rows = rows; self.startLayer = startLayer; self.initialState = initialState
    }
}

/// Everything one forward pass computes: the token rows and their layout, the groups they form, and
/// the rows whose next-token logits are wanted.
public struct ForwardInput {
    public var layout: SequenceLayout
    /// Token id of every row (rows of groups that start above block 0 need none; use 0).
    public var tokens: [Int]
    /// Where every row comes from (for callbacks and captures).
    public var info: [RowInfo]
    /// Consecutive, covering every row, in row order, with non-decreasing start layers.
    public var groups: [RowGroup]
    /// Rows whose logits are returned, in this order.
    public var logitRows: [Int]

    public init(layout: SequenceLayout, tokens: [Int], info: [RowInfo], groups: [RowGroup]? = nil, logitRows: [Int]) {
        self.layout = layout; self.tokens = tokens; self.info = info
        self.groups = groups ?? [RowGroup(rows: 0..<tokens.count)]
        self.logitRows = logitRows
    }

    public var rows: Int { tokens.count }

    /// Prompts of any lengths as one pass without padding, sequence `i` in slots `bases[i]…` of a store
    /// (consecutive from 0 when nil). Logits: the last row of every prompt, or every row.
    public static func prompts(_ prompts: [[Int]], bases: [Int]? = nil, allLogits: Bool = false) -> ForwardInput {
        var layout = SequenceLayout(), tokens: [Int] = [], info: [RowInfo] = [], logits: [Int] = []
        var next = 0
        for (i, p) in prompts.enumerated() {
            let base = bases?[i] ?? next
            let c = layout.addContext([KVRun(slot: base, position: 0, count: p.count)])
            let first = tokens.count
            layout.addRows(count: p.count, firstPosition: 0, firstSlot: base, context: c)
            tokens += p
            info += (0..<p.count).map { RowInfo(sequence: i, position: $0, promptLength: p.count) }
            if allLogits { logits += first..<tokens.count } else { logits.append(tokens.count - 1) }
            next = base + p.count
        }
        return ForwardInput(layout: layout, tokens: tokens, info: info, logitRows: logits)
    }

    /// The rows `prompts(_:)` gives each prompt (prompt after prompt).
    public static func rowRanges(_ prompts: [[Int]]) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = 0
        for p in prompts { out.append(start..<(start + p.count)); start += p.count }
        return out
    }

    /// Checks the input against a model and a store of `slots` slots.
    func validate(config c: ModelConfig, slots: Int) throws {
        let n = rows
        guard n > 0 else { throw ModelError.badInput("forward: no rows") }
        guard layout.rows == n, info.count == n else { throw ModelError.badInput("forward: \(n) tokens, \(layout.rows) layout rows, \(info.count) row infos") }
        if let problem = layout.problem(slotCount: slots) { throw ModelError.badInput("forward: \(problem)") }
        var next = 0, start = 0
        for g in groups {
            guard g.rows.lowerBound == next, !g.rows.isEmpty else { throw ModelError.badInput("forward: groups must cover the rows in order") }
            guard g.startLayer >= start, g.startLayer < c.numLayers else {
                throw ModelError.badInput("forward: start layers must be non-decreasing and below \(c.numLayers)")
            }
            if g.startLayer > 0 {
                guard let s = g.initialState, s.rows == g.rows.count, s.cols == c.hiddenSize else {
                    throw ModelError.badInput("forward: a group starting at block \(g.startLayer) needs a \(g.rows.count) × \(c.hiddenSize) initial state")
                }
            } else {
                if let bad = tokens[g.rows].first(where: { $0 < 0 || $0 >= c.vocabSize }) {
                    throw ModelError.badInput("token id \(bad) is outside the vocabulary (0..<\(c.vocabSize))")
                }
            }
            next = g.rows.upperBound; start = g.startLayer
        }
        guard next == n else { throw ModelError.badInput("forward: groups must cover the rows in order") }
        if let bad = logitRows.first(where: { !(0..<n).contains($0) }) { throw ModelError.badInput("forward: logit row \(bad) out of range") }
        try c.checkSequenceLength((layout.positions.max() ?? 0) + 1)
    }
}

extension ModelConfig {
    /// Refuses sequences longer than the range this model computes exactly (Qwen-1's `seq_length`).
    func checkSequenceLength(_ tokens: Int) throws {
        if let limit = maxSequenceLength, tokens > limit {
            throw ModelError.badInput("sequence of \(tokens) tokens is longer than this model's exact range (\(limit)); Qwen-1's dynamic NTK / log-n attention beyond it are not implemented")
        }
    }
}
