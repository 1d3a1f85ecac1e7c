import Foundation
import ModelFormats
import Models

/// Generation batches whose results are checkpointed as each batch finishes, so a run that was interrupted
/// (`kill -9` included) resumes where it stopped and writes exactly what an uninterrupted run writes.
///
/// The checkpoint of a stage is `cache/<key>-<stage>.jsonl` in the run folder, one line per finished batch. The key
/// hashes the model's files and every batch's prompt ids and generation settings, so a run with other inputs or
/// settings starts afresh and the same command run again reuses everything. Batches are fixed by the inputs
/// (same rows, same order), so a batch is either read back whole or generated whole: its padding, and so its
/// tokens, are those of an uninterrupted run. A torn last line (the process died while writing it) is dropped.
public final class GenerationCheckpoint {
    public let store: RunStore
    public let modelHash: String
    /// Batches read back from the checkpoint, and batches generated, by all `generate` calls so far.
    public private(set) var resumedBatches = 0, generatedBatches = 0

    /// A checkpoint in `folder/cache/` for the model whose files hash to `modelHash`.
    public init(folder: URL, modelHash: String) throws {
        store = try RunStore(folder: folder)
        self.modelHash = modelHash
    }

    struct Line: Codable {
        var batch: Int
        var tokens: [[Int]]
        var finish: [FinishReason]
    }

    /// What a batch's results depend on (hooks excluded: the reasoning runs generate without them).
    struct Signature: Encodable {
        var prompts: [[Int]]
        var maxNewTokens: Int, temperature: Float, topK: Int, topP: Float, seed: UInt64
        var eos: [Int], stop: [String]

        init(_ b: GenerationBatch) {
            let o = b.options
            prompts = b.prompts; maxNewTokens = o.maxNewTokens; temperature = o.temperature; topK = o.topK; topP = o.topP
            seed = o.seed; eos = o.eosTokenIds.sorted(); stop = o.stopStrings
        }
    }

    /// The cache file name of a stage with these batches.
    func fileName(stage: String, _ batches: [GenerationBatch]) -> String {
        "\(store.key(modelHash, stage, batches.map(Signature.init)))-\(stage).jsonl"
    }

    /// Generates `batches` on all threads (as `LanguageModel.generate(batches:)`), reading finished batches back
    /// from the checkpoint and appending each newly finished one. `progress(prompts done)` counts both.
    public func generate(_ model: LanguageModel, _ batches: [GenerationBatch], stage: String,
                         progress: (Int) -> Void = { _ in }) throws -> [GenerationResult] {
        let name = fileName(stage: stage, batches)
        try dropTornLine(name)
        var results = [GenerationResult?](repeating: nil, count: batches.count)
        for line in store.readLines(Line.self, cacheName: name) where batches.indices.contains(line.batch) {
            let n = batches[line.batch].prompts.count
            // A line that does not fit its batch (another tool's file under the same name) is regenerated.
            guard line.tokens.count == n, line.finish.count == n else { continue }
            results[line.batch] = GenerationResult(tokens: line.tokens, finishReasons: line.finish)
        }
        let todo = batches.indices.filter { results[$0] == nil }
        resumedBatches += batches.count - todo.count
        generatedBatches += todo.count
        let before = batches.indices.filter { results[$0] != nil }.reduce(0) { $0 + batches[$1].prompts.count }
        if before > 0 { progress(before) }
        let store = self.store
        let fresh = try model.generate(batches: todo.map { batches[$0] }, progress: { progress(before + $0) }) { i, r in
            // A failed append only costs recomputing this batch after an interruption.
            try? store.appendLine(Line(batch: todo[i], tokens: r.tokens, finish: r.finishReasons), cacheName: name)
        }
        for (i, r) in zip(todo, fresh) { results[i] = r }
        return results.map { $0 ?? GenerationResult(tokens: [], finishReasons: []) }
    }

    /// Cuts an unfinished last line, so the next append starts on a line of its own.
    func dropTornLine(_ name: String) throws {
        let url = store.cache.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path), let last = data.last, last != 0x0a else { return }
        let keep = data.lastIndex(of: 0x0a).map { data[...$0] } ?? Data()
        try AtomicFile.write(Data(keep), to: url)
    }

    /// `checkpoint.generate(…)` when there is a checkpoint, else plain `model.generate(batches:)`.
    public static func generate(_ model: LanguageModel, _ batches: [GenerationBatch], checkpoint: GenerationCheckpoint?,
                                stage: String, progress: (Int) -> Void = { _ in }) throws -> [GenerationResult] {
        guard let checkpoint else { return try model.generate(batches: batches, progress: progress) }
        return try checkpoint.generate(model, batches, stage: stage, progress: progress)
    }
}
