import Foundation
import Models
import TensorKit

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

    /// Mean over prompts (and over tokens for `.all`) per hook point: `[P, L, d]` (P = 1 for `.all`), Float64.
    public func means(_ prompts: [[Int]], points: [HookPoint], positions: CapturePositions,
                      progress: (Int) -> Void = { _ in }) throws -> [HookPoint: [Double]] {
        if points == [.residPre], case .offsets(let o) = positions {
            return [.residPre: try residPreMeans(prompts, offsets: o, progress: progress)]
        }
        let c = model.config, d = c.hiddenSize, L = c.numLayers
        let P: Int
        switch positions { case .offsets(let o): P = o.count; case .all: P = 1 }
        var sums: [HookPoint: [Double]] = [:]
        for p in points { sums[p] = [Double](repeating: 0, count: P * L * d) }
        var tokenCount = 0
        try visit(prompts, points: points, positions: positions, progress: progress) { point, layer, slot, _, vector in
            sums[point]!.withUnsafeMutableBufferPointer { s in
                let base = (slot * L + layer) * d
                for i in 0..<d { s[base + i] += Double(vector[i]) }
            }
            if point == points[0] && layer == 0 && slot == 0 { tokenCount += 1 }
        }
        let n = Double(max(1, tokenCount))
        return sums.mapValues { $0.map { $0 / n } }
    }

    /// Mean `resid_pre` of every layer at negative `offsets` from the end of each prompt: `[P, L, d]`,
    /// Float64. Runs packed passes (no padding, shared prefix computed once, nothing past the last
    /// block's input) on every thread; `tokensPerPass` 0 sizes passes from the model.
    /// `progress(prompts done)` is called after each pass.
    public func residPreMeans(_ prompts: [[Int]], offsets: [Int], tokensPerPass: Int = 0,
                              progress: (Int) -> Void = { _ in }) throws -> [Double] {
        let c = model.config, d = c.hiddenSize, L = c.numLayers, P = offsets.count
        let need = try Self.check(prompts, offsets: offsets)
        if let empty = prompts.firstIndex(where: \.isEmpty) { throw ModelError.badInput("prompt \(empty) has no tokens") }
        let chunks = PackedGroup.chunks(prompts, budget: tokensPerPass > 0 ? tokensPerPass : PackedGroup.tokenBudget(c))
        var sums = [[Double]](repeating: [], count: chunks.count)
        var done = 0
        let lock = NSLock(), pool = PackedWorkspace.Pool()
        try Parallel.jobs(chunks.count) { k in
            var g = PackedGroup(prompts: Array(prompts[chunks[k]]), keep: need)
            let ends = zip(g.rowStarts, g.rows).map { $0 + $1.count }
            var sum = [Double](repeating: 0, count: P * L * d)
            g.hook = { act in
                guard act.point == .residPre else { return }
                sum.withUnsafeMutableBufferPointer { s in
                    for end in ends {
                        for (slot, off) in offsets.enumerated() {
                            let x = act.data + (end + off) * d, base = (slot * L + act.layer) * d
                            for i in 0..<d { s[base + i] += Double(x[i]) }
                        }
                    }
                }
            }
            _ = try pool.with { try model.forwardPacked([g], stopAtLayer: L - 1, workspace: $0) }
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

    /// Every captured vector: per hook point, `[prompts.count, P, L, d]` as Float32 (`.offsets` only).
    public func rows(_ prompts: [[Int]], points: [HookPoint], offsets: [Int],
                     progress: (Int) -> Void = { _ in }) throws -> [HookPoint: [Float]] {
        let c = model.config, d = c.hiddenSize, L = c.numLayers, P = offsets.count
        var out: [HookPoint: [Float]] = [:]
        for p in points { out[p] = [Float](repeating: 0, count: prompts.count * P * L * d) }
        try visit(prompts, points: points, positions: .offsets(offsets), progress: progress) { point, layer, slot, prompt, vector in
            out[point]!.withUnsafeMutableBufferPointer { o in
                let base = ((prompt * P + slot) * L + layer) * d
                for i in 0..<d { o[base + i] = vector[i] }
            }
        }
        return out
    }

    /// Calls `body(point, layer, slot, promptIndex, vector)` for every captured vector.
    func visit(_ prompts: [[Int]], points: [HookPoint], positions: CapturePositions, progress: (Int) -> Void,
               body: @escaping (HookPoint, Int, Int, Int, UnsafeMutableBufferPointer<Float>) -> Void) throws {
        if case .offsets(let o) = positions { _ = try Self.check(prompts, offsets: o) }
        var batchStart = 0
        let hooks = Hooks()
        for point in points {
            hooks.add(point) { act in
                let layout = act.layout
                for b in 0..<layout.batch {
                    switch positions {
                    case .offsets(let offsets):
                        for (slot, p) in offsets.enumerated() {
                            body(point, act.layer, slot, batchStart + b, act.vector(row: b, step: layout.steps + p))
                        }
                    case .all:
                        for t in 0..<layout.steps where layout.position(row: b, step: t) != nil {
                            body(point, act.layer, 0, batchStart + b, act.vector(row: b, step: t))
                        }
                    }
                }
            }
        }
        while batchStart < prompts.count {
            let chunk = Array(prompts[batchStart..<min(prompts.count, batchStart + batchSize)])
            _ = try model.prefill(chunk, hooks: hooks, logits: .none)
            batchStart += chunk.count
            progress(batchStart)
        }
    }
}
