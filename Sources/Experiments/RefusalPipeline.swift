import Foundation
import ModelFormats
import Models
import Compute
import Tokenizers

/// The prompt sets of one run, already split (SPEC §3: train / val / test per class).
public struct RefusalPrompts: Sendable {
    public var harmfulTrain: [String], harmfulVal: [String], harmfulTest: [String]
    public var harmlessTrain: [String], harmlessVal: [String], harmlessTest: [String]

    public init(harmfulTrain: [String], harmfulVal: [String], harmfulTest: [String],
                harmlessTrain: [String], harmlessVal: [String], harmlessTest: [String]) {
        self.harmfulTrain = harmfulTrain; self.harmfulVal = harmfulVal; self.harmfulTest = harmfulTest
        self.harmlessTrain = harmlessTrain; self.harmlessVal = harmlessVal; self.harmlessTest = harmlessTest
    }
}

/// Every setting of a run (written to `config.json`).
public struct RefusalSettings: Codable, Sendable {
    public var selection = SelectionSettings()
    /// Keep harmful validation prompts with baseline score > 0 and harmless ones < 0 (SPEC §3.3).
    public var filterValidation = true
    public var refusalTokens: [Int]? = nil
    /// Prompts per generation batch in evaluation (and per pass of the validation filter). Each batch runs
    /// on one thread; 48 rows per weight read keep the products compute-bound (a 1.8B model decoded 25
    /// tokens/s per core at 34 rows against 21 at 16).
    public var batchSize = 48
    public var maxNewTokens = 64
    public var system: String? = nil
    public var evaluate = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case selection
        case filterValidation = "filter_validation"
        case refusalTokens = "refusal_tokens"
        case batchSize = "batch_size"
        case maxNewTokens = "max_new_tokens"
        case system, evaluate
    }
}

/// Baseline refusal scores of the validation prompts, which the validation filter reads (cached per run).
struct ValidationScores: Codable {
    var harmful: [Double]
    var harmless: [Double]
    var isFinite: Bool { (harmful + harmless).allSatisfy(\.isFinite) }
}

/// Progress of a long stage: `(stage, done, total)`.
public typealias ProgressHandler = (String, Int, Int) -> Void

/// What a finished run hands back (everything is also in the run folder).
public struct RefusalRun {
    public var layout: PromptLayout
    public var refusalTokens: [Int]
    public var candidates: [[[Float]]]
    public var selection: SelectionResult
    public var evaluation: RefusalEvaluationSummary?
    public var timings: [String: Double]
}

/// SPEC §3 end to end on one model: activations, candidates, selection, evaluation.
/// Stages are cached in the run folder by content hash, so a repeated or interrupted run resumes.
public final class RefusalPipeline {
    public let model: LanguageModel
    public let formatter: ChatFormatter
    public let settings: RefusalSettings
    public let store: RunStore
    public var progress: ProgressHandler = { _, _, _ in }
    /// Hash of the model files and prompt sets, mixed into every stage key.
    public let inputKey: String

    public init(model: LanguageModel, formatter: ChatFormatter, settings: RefusalSettings, runFolder: URL, inputKey: String) throws {
        self.model = model
        self.formatter = formatter
        self.settings = settings
        self.inputKey = inputKey
        store = try RunStore(folder: runFolder)
    }

    public func run(_ prompts: RefusalPrompts) throws -> RefusalRun {
        var timings: [String: Double] = [:]
        func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
            let t0 = Date()
            defer { timings[name] = Date().timeIntervalSince(t0) }
            return try body()
        }
        let layout = try PromptLayout(formatter: formatter, system: settings.system)
        let refusalTokens = try settings.refusalTokens ?? PromptLayout.refusalTokens(formatter: formatter)
        let encode = { (texts: [String]) throws -> [[Int]] in
            try texts.map { try self.formatter.promptIds(user: $0, system: self.settings.system) }
        }
        let runner = BatchRunner(model: model, batchSize: settings.batchSize)
        let positions = layout.eoiPositions
        let L = model.config.numLayers, d = model.config.hiddenSize

        // 1–2. Means at the EOI positions and their differences.
        let meansKey = store.key(inputKey, "means", positions, settings.system ?? "")
        let (harmfulMean, harmlessMean): ([Double], [Double]) = try timed("activations") {
            if let cached = try store.loadMeans(key: meansKey) { return cached }
            progress("activations", 0, 2)
            let a = try runner.residPreMeans(try encode(prompts.harmfulTrain), positions: positions)
            progress("activations", 1, 2)
            let b = try runner.residPreMeans(try encode(prompts.harmlessTrain), positions: positions)
            progress("activations", 2, 2)
            try store.saveMeans(key: meansKey, harmful: a, harmless: b, shape: [positions.count, L, d])
            return (a, b)
        }
        var candidates = [[[Float]]](repeating: [], count: positions.count)
        for p in 0..<positions.count {
            candidates[p] = (0..<L).map { l in
                let base = (p * L + l) * d
                return (0..<d).map { Float(harmfulMean[base + $0] - harmlessMean[base + $0]) }
            }
        }
        try store.writeCandidates(candidates, harmfulMean: harmfulMean, harmlessMean: harmlessMean, shape: [positions.count, L, d])

        // 3. Validation sets, filtered by baseline refusal score.
        var harmfulVal = try encode(prompts.harmfulVal), harmlessVal = try encode(prompts.harmlessVal)
        if settings.filterValidation {
            // Cached: a rerun (other thresholds, a resume) runs no pass for the filter.
            let filterKey = store.key(inputKey, "validation-scores", harmfulVal, harmlessVal, refusalTokens)
            let scores = try store.cached("validation-scores.json", key: filterKey, keep: \.isFinite) {
                ValidationScores(harmful: try runner.refusalScores(harmfulVal, refusalTokens: refusalTokens),
                                 harmless: try runner.refusalScores(harmlessVal, refusalTokens: refusalTokens))
            }
            harmfulVal = zip(harmfulVal, scores.harmful).filter { $0.1 > 0 }.map(\.0)
            harmlessVal = zip(harmlessVal, scores.harmless).filter { $0.1 < 0 }.map(\.0)
            guard !harmfulVal.isEmpty, !harmlessVal.isEmpty else {
                throw ModelError.badInput("after filtering the validation sets by baseline refusal score, \(harmfulVal.count) harmful and \(harmlessVal.count) harmless prompts remain; the model does not separate them (use --no-filter-val to keep all)")
            }
        }

        // 4. Selection.
        // Scores depend on the inputs only; the filters are applied afterwards, so a rerun with other
        // thresholds (or other speed settings) reuses every score from the checkpoint.
        let scoreKey = store.key(meansKey, "scores", harmfulVal, harmlessVal, refusalTokens)
        let s = settings.selection
        let selKey = store.key(scoreKey, "selection", s.maxLayerFraction, s.maxKL, s.minInduce, s.scoreFilteredLayers)
        let selection: SelectionResult = try timed("selection") {
            if let cached: SelectionResult = try store.loadJSON("selection.json", key: selKey) { return cached }
            var selector = DirectionSelector(runner: runner, refusalTokens: refusalTokens, settings: settings.selection)
            // Candidates scored before an interruption are read back from the checkpoint.
            let checkpoint = "\(scoreKey)-selection-partial.jsonl"
            selector.done = store.readLines(CandidateScore.self, cacheName: checkpoint)
            selector.onScore = { try? self.store.appendLine($0, cacheName: checkpoint) }
            // With every candidate checkpointed too, selection then runs no pass (a rerun with other thresholds).
            selector.baseline = store.readCached("selection-baseline.json", key: scoreKey)
            selector.onBaseline = { b in if b.isFinite { try? self.store.writeCached(b, "selection-baseline.json", key: scoreKey) } }
            let result = try selector.select(candidates: candidates, positions: positions, harmfulVal: harmfulVal,
                                             harmlessVal: harmlessVal) { [progress] in progress("selection", $0, $1) }
            try store.saveJSON(result, "selection.json", key: selKey)
            return result
        }
        var run = RefusalRun(layout: layout, refusalTokens: refusalTokens, candidates: candidates, selection: selection,
                             evaluation: nil, timings: timings)
        guard let chosen = selection.selected else {
            try store.saveJSON(timings, "timings.json")
            return run
        }
        let pIndex = positions.firstIndex(of: chosen.position) ?? 0
        let direction = candidates[pIndex][chosen.layer]
        try store.writeDirection(direction, position: chosen.position, layer: chosen.layer, model: model,
                                 harmlessMean: (0..<L).flatMap { l in (0..<d).map { Float(harmlessMean[(pIndex * L + l) * d + $0]) } })

        // 5. Evaluation on the test sets.
        if settings.evaluate {
            let evaluator = RefusalEvaluator(model: model, tokenizer: formatter.tokenizer,
                                             maxNewTokens: settings.maxNewTokens, batchSize: settings.batchSize)
            // Keyed by what the completions depend on, not by the selection settings that led to the direction.
            let baselineKey = store.key(inputKey, "evaluation-baseline", prompts.harmfulTest, prompts.harmlessTest,
                                        settings.system ?? "", settings.maxNewTokens)
            let directionKey = store.key(baselineKey, "evaluation-direction", direction, chosen.position, chosen.layer)
            run.evaluation = try timed("evaluation") {
                try RefusalEvaluationSummary.compute(evaluator: evaluator, direction: direction, position: chosen.position, layer: chosen.layer,
                                                     harmful: prompts.harmfulTest, harmless: prompts.harmlessTest, encode: encode, store: store,
                                                     keys: (baselineKey, directionKey), progress: progress)
            }
        }
        run.timings = timings
        try store.saveJSON(timings, "timings.json")
        if var e = run.evaluation {
            e.timings = timings
            run.evaluation = e
            try store.saveJSON(e, "evaluation.json")
        }
        return run
    }
}
