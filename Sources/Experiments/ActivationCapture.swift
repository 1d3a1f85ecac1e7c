import Foundation
import Models
import Compute

/// Which token positions of each prompt to read.
public enum CapturePositions: Sendable, Equatable {
    /// Negative offsets from the end of the prompt (`-1` = last prompt token).
    case offsets([Int])
    /// Every real (non-padding) token.
    case all
}

/// Reads activations at hook points for a prompt set: means accumulated in Float64, or every row kept.
public struct ActivationCapture {
    public let model: LanguageModel
    public var batchSize: Int

    public init(model: LanguageModel, batchSize: Int = 16) {
        self.model = model
        self.batchSize = max(1, batchSize)
    }

    /// Mean over prompts (and over tokens for `.all`) per hook point: `[P, L, d]` (P = 1 for `.all`), Float64,
    /// accumulated by the backend.
    public func means(_ prompts: [[Int]], points: [HookPoint], positions: CapturePositions,
                      progress: (Int) -> Void = { _ in }) throws -> [HookPoint: [Double]] {
        if points == [.residPre], case .offsets(let o) = positions {
            return [.residPre: try residPreMeans(prompts, offsets: o, progress: progress)]
        }
        let c = model.config, d = c.hiddenSize, L = c.numLayers, be = model.backend
        let P: Int
        switch positions { case .offsets(let o): P = o.count; _ = try Self.check(prompts, offsets: o); case .all: P = 1 }
        let sums = Dictionary(uniqueKeysWithValues: points.map { ($0, be.accumulator(rows: P * L, cols: d)) })
        var count = 0
        try batches(prompts, progress: progress) { chunk, _ in
            let (rows, slots) = Self.rows(of: chunk, positions: positions)
            count += rows.count / P
            let edits = points.map { p in
                ActivationEdit(point: p, op: .capture(Capture(rows: rows, mode: .sum(sums[p]!, targets: slots.map { $0 * L }, layerStride: 1))))
            }
            _ = try model.prefill(chunk, edits: edits, logits: .none)
        }
        let n = Double(max(1, count))
        return sums.mapValues { be.read($0).map { $0 / n } }
    }

    /// Mean `resid_pre` of every layer at negative `offsets` from the end of each prompt: `[P, L, d]`,
    /// Float64. Runs packed passes (no padding, shared prefix computed once, nothing past the last
    /// block's input) as the backend's jobs; `tokensPerPass` 0 sizes passes from the model.
    /// `progress(prompts done)` is called after each pass.
    public func residPreMeans(_ prompts: [[Int]], offsets: [Int], tokensPerPass: Int = 0,
                              progress: (Int) -> Void = { _ in }) throws -> [Double] {
        let c = model.config, d = c.hiddenSize, L = c.numLayers, P = offsets.count, be = model.backend
        let need = try Self.check(prompts, offsets: offsets)
        if let empty = prompts.firstIndex(where: \.isEmpty) { throw ModelError.badInput("prompt \(empty) has no tokens") }
        let budget = tokensPerPass > 0 ? tokensPerPass : PackedGroup.tokenBudget(c, concurrentPasses: be.threads)
        let chunks = PackedGroup.balancedChunks(prompts, budget: budget, parts: be.threads)
        var sums = [[Double]](repeating: [], count: chunks.count)
        var done = 0
        let lock = NSLock(), pool = Workspace.Pool(backend: be)
        try be.jobs(chunks.count) { k in
            let g = PackedGroup(prompts: Array(prompts[chunks[k]]), keep: need)
            let ends = zip(g.rowStarts, g.rows).map { $0 + $1.count }
            var rows: [Int] = [], targets: [Int] = []
            for end in ends { for (slot, off) in offsets.enumerated() { rows.append(end + off); targets.append(slot * L) } }
            let acc = be.accumulator(rows: P * L, cols: d)
            let capture = ActivationEdit(point: .residPre, op: .capture(Capture(rows: rows, mode: .sum(acc, targets: targets, layerStride: 1))))
            _ = try pool.with { try model.forwardPacked([g], stopAtLayer: L - 1, extraEdits: [capture], workspace: $0) }
            let sum = be.read(acc)
            lock.lock(); defer { lock.unlock() }
            sums[k] = sum
            done += chunks[k].count
            progress(done)
        }
        var total = [Double](repeating: 0, count: P * L * d)
        for s in sums { for i in total.indices { total[i] += s[i] } }
        let n = Double(max(1, prompts.count))
        return total.map { $0 / n }
    }

    /// Checks negative offsets against the prompts; returns how many tokens from the end they reach.
    static func check(_ prompts: [[Int]], offsets: [Int]) throws -> Int {
        let need = offsets.map { -$0 }.max() ?? 0
        guard offsets.allSatisfy({ $0 < 0 }) else { throw ModelError.badInput("positions must be negative offsets (-1 = last token)") }
        if let short = prompts.firstIndex(where: { $0.count < need }) {
            throw ModelError.badInput("prompt \(short) has \(prompts[short].count) tokens, fewer than the \(need) positions read")
        }
        return need
    }

    /// Every captured vector: per hook point, `[prompts.count, P, L, d]` as Float32.
    public func rows(_ prompts: [[Int]], points: [HookPoint], offsets: [Int],
                     progress: (Int) -> Void = { _ in }) throws -> [HookPoint: [Float]] {
        let c = model.config, d = c.hiddenSize, L = c.numLayers, P = offsets.count, be = model.backend
        _ = try Self.check(prompts, offsets: offsets)
        var out: [HookPoint: [Float]] = [:]
        for p in points { out[p] = [Float](repeating: 0, count: prompts.count * P * L * d) }
        try batches(prompts, progress: progress) { chunk, first in
            let (rows, _) = Self.rows(of: chunk, positions: .offsets(offsets))
            var tensors: [HookPoint: [Int: Tensor]] = [:]
            for p in points { tensors[p] = Dictionary(uniqueKeysWithValues: (0..<L).map { ($0, be.tensor(rows: rows.count, cols: d)) }) }
            let edits = points.map { ActivationEdit(point: $0, op: .capture(Capture(rows: rows, mode: .copy(tensors[$0]!)))) }
            _ = try model.prefill(chunk, edits: edits, logits: .none)
            for p in points {
                for l in 0..<L {
                    guard let t = tensors[p]?[l] else { continue }
                    let values = be.read(t)
                    out[p]!.withUnsafeMutableBufferPointer { o in
                        for b in 0..<chunk.count {
                            for slot in 0..<P {
                                let src = (b * P + slot) * d, dst = (((first + b) * P + slot) * L + l) * d
                                for i in 0..<d { o[dst + i] = values[src + i] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Rows of a prefill of `chunk` to read, and the position slot of each.
    static func rows(of chunk: [[Int]], positions: CapturePositions) -> (rows: [Int], slots: [Int]) {
        var rows: [Int] = [], slots: [Int] = []
        for r in ForwardInput.rowRanges(chunk) {
            switch positions {
            case .offsets(let offsets):
                for (slot, off) in offsets.enumerated() { rows.append(r.upperBound + off); slots.append(slot) }
            case .all:
                rows += r; slots += Array(repeating: 0, count: r.count)
            }
        }
        return (rows, slots)
    }

    /// Runs `body(chunk, firstIndex)` over consecutive batches of `batchSize` prompts.
    func batches(_ prompts: [[Int]], progress: (Int) -> Void, _ body: ([[Int]], Int) throws -> Void) throws {
        var start = 0
        while start < prompts.count {
            let chunk = Array(prompts[start..<min(prompts.count, start + batchSize)])
            try body(chunk, start)
            start += chunk.count
            progress(start)
        }
    }
}
