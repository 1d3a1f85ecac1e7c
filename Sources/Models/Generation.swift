import Foundation
import Compute

/// Settings of one generation run.
public struct GenerationOptions {
    public var maxNewTokens: Int
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var seed: UInt64
    /// Stop a row when it emits one of these (the EOS token is kept in the output).
    public var eosTokenIds: Set<Int>
    /// Stop a row when the decoded continuation contains one of these (needs `decode`).
    public var stopStrings: [String]
    public var decode: (([Int]) -> String)?

    public init(maxNewTokens: Int = 64, temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0,
                eosTokenIds: Set<Int> = [], stopStrings: [String] = [], decode: (([Int]) -> String)? = nil) {
        self.maxNewTokens = maxNewTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
        self.seed = seed; self.eosTokenIds = eosTokenIds; self.stopStrings = stopStrings; self.decode = decode
    }
}

public enum FinishReason: String, Sendable, Codable {
    case eos, stop, length
}

public struct GenerationResult {
    /// New tokens per prompt (EOS included when it ended the row).
    public var tokens: [[Int]]
    public var finishReasons: [FinishReason]

    public init(tokens: [[Int]], finishReasons: [FinishReason]) { self.tokens = tokens; self.finishReasons = finishReasons }
}

extension LanguageModel {
    /// Generates continuations of `prompts` (token ids, used as given: a forced assistant prefix is
    /// just more prompt) as one batch with a KV cache, `edits` acting at every step on prompt and
    /// generated tokens alike. `onToken(row, token)` streams. Rows that finish drop out of later steps.
    public func generate(_ prompts: [[Int]], options: GenerationOptions, edits: [ActivationEdit] = [],
                         onToken: ((Int, Int) -> Void)? = nil) throws -> GenerationResult {
        try generate(prompts, options: options, prepared: edits.isEmpty ? nil : prepare(edits), onToken: onToken)
    }

    /// `generate` with callback hooks (the host escape hatch).
    public func generate(_ prompts: [[Int]], options: GenerationOptions, hooks: Hooks?,
                         onToken: ((Int, Int) -> Void)? = nil) throws -> GenerationResult {
        try generate(prompts, options: options, edits: hooks?.edits ?? [], onToken: onToken)
    }

    func generate(_ prompts: [[Int]], options: GenerationOptions, prepared: PreparedEdits?,
                  onToken: ((Int, Int) -> Void)?) throws -> GenerationResult {
        guard options.maxNewTokens >= 0 else { throw ModelError.badInput("max new tokens must be ≥ 0") }
        let batch = prompts.count
        var out = Array(repeating: [Int](), count: batch)
        var reasons = Array(repeating: FinishReason.length, count: batch)
        if options.maxNewTokens == 0 || batch == 0 { return GenerationResult(tokens: out, finishReasons: reasons) }
        let workspace = Workspace(backend: backend)
        let (cache, first) = try prefill(prompts, prepared: prepared, logits: .last, reserve: options.maxNewTokens,
                                         workspace: workspace)
        var logits = first
        var live = Array(0..<batch)   // sequences still generating, in row order of `logits`
        var sampler = Sampler(temperature: options.temperature, topK: options.topK, topP: options.topP, seed: options.seed)
        let vocab = config.vocabSize
        for step in 0..<options.maxNewTokens {
            guard let l = logits else { break }
            var next: [Int] = [], still: [Int] = []
            for (row, b) in live.enumerated() {
                let t = sampler.pick(l.pointer + row * vocab, count: vocab)
                out[b].append(t)
                onToken?(b, t)
                if options.eosTokenIds.contains(t) {
                    reasons[b] = .eos
                } else if !options.stopStrings.isEmpty, let decode = options.decode,
                          options.stopStrings.contains(where: decode(out[b]).contains) {
                    reasons[b] = .stop
                } else {
                    next.append(t); still.append(b)
                }
            }
            live = still
            if live.isEmpty || step == options.maxNewTokens - 1 { break }
            logits = try self.step(next, sequences: live, cache: cache, edits: prepared, workspace: workspace)
        }
        return GenerationResult(tokens: out, finishReasons: reasons)
    }
}

/// One batch of prompts to generate, with its own options and hooks.
public struct GenerationBatch {
    public var prompts: [[Int]]
    public var options: GenerationOptions
    public var edits: [ActivationEdit]

    public init(prompts: [[Int]], options: GenerationOptions, edits: [ActivationEdit] = []) {
        self.prompts = prompts; self.options = options; self.edits = edits
    }

    /// `prompts` cut into consecutive batches of `size` with the same options and edits; with `even`, into as
    /// many batches but of sizes that differ by at most one (100 prompts at 48: 34 + 33 + 33, not 48 + 48 + 4,
    /// so that batches run side by side finish together).
    public static func split(_ prompts: [[Int]], size: Int, options: GenerationOptions, edits: [ActivationEdit] = [],
                             even: Bool = false) -> [GenerationBatch] {
        let size = max(1, size), n = (prompts.count + size - 1) / size
        guard even, n > 0 else {
            return stride(from: 0, to: prompts.count, by: size).map {
                GenerationBatch(prompts: Array(prompts[$0..<min(prompts.count, $0 + size)]), options: options, edits: edits)
            }
        }
        return (0..<n).map { k in
            GenerationBatch(prompts: Array(prompts[(k * prompts.count / n)..<((k + 1) * prompts.count / n)]), options: options, edits: edits)
        }
    }
}

extension LanguageModel {
    /// Generates independent batches as the backend's `jobs` runs them (on the CPU: every thread at once,
    /// each batch single-threaded). A batch's tokens do not depend on which thread runs it or when.
    /// Results come back in batch order; `progress(prompts done)` is called after each batch, one call at
    /// a time, and so is `finished(batch index, result)` (for checkpointing).
    public func generate(batches: [GenerationBatch], progress: (Int) -> Void = { _ in },
                         finished: (Int, GenerationResult) -> Void = { _, _ in }) throws -> [GenerationResult] {
        var results = [GenerationResult?](repeating: nil, count: batches.count)
        var done = 0
        let lock = NSLock()
        try backend.jobs(batches.count) { i in
            let b = batches[i]
            let r = try generate(b.prompts, options: b.options, edits: b.edits)
            lock.lock(); defer { lock.unlock() }
            results[i] = r
            done += b.prompts.count
            progress(done)
            finished(i, r)
        }
        return results.map { $0 ?? GenerationResult(tokens: [], finishReasons: []) }
    }
}
