import Foundation
import ModelFormats
import Models
import Interventions

/// The prompts of a LEACE comparison: the ones the erasers are fitted on and the held-out test prompts.
public struct LeacePrompts: Sendable {
    public var harmfulFit: [String], harmlessFit: [String]
    public var harmfulTest: [String], harmlessTest: [String]

    public init(harmfulFit: [String], harmlessFit: [String], harmfulTest: [String], harmlessTest: [String]) {
        self.harmfulFit = harmfulFit; self.harmlessFit = harmlessFit
        self.harmfulTest = harmfulTest; self.harmlessTest = harmlessTest
    }
}

/// Every setting of `steer leace` (written to `config.json`).
public struct LeaceRunSettings: Codable, Sendable {
    public var fitting = LeaceSettings()
    /// Prompt positions the erasers are fitted on: negative offsets from the end (`[-1]`), or nil for the
    /// post-instruction (EOI) positions of the chat template, pooled.
    public var offsets: [Int]? = [-1]
    /// Layers to fit and erase at (nil = all).
    public var layers: [Int]? = nil
    public var batchSize = 16
    public var maxNewTokens = 64
    public var system: String? = nil

    public init() {}

    /// `-1`, `-2,-1` or `eoi`.
    public var positionsLabel: String { offsets.map { $0.map(String.init).joined(separator: ",") } ?? "eoi" }

    enum CodingKeys: String, CodingKey {
        case fitting, offsets, layers, system
        case batchSize = "batch_size"
        case maxNewTokens = "max_new_tokens"
    }
}

/// One layer's fit as the run records it (`fit.json` in the cache, the report's table).
public struct LeaceLayerSummary: Codable, Sendable {
    public var layer: Int
    /// Fitting rows (prompts × positions, both classes).
    public var rows: Int
    public var rank: Int
    public var singularValue: Double
    /// ‖mean(harmful) − mean(harmless)‖ of the fitting activations, before and after the (Float64) eraser.
    public var gapBefore: Double
    public var gapAfter: Double
    /// Why the layer got the identity eraser (nil when it edits).
    public var identityReason: String?
    public var traceConstrained: Bool

    enum CodingKeys: String, CodingKey {
        case layer, rows, rank
        case singularValue = "singular_value"
        case gapBefore = "gap_before"
        case gapAfter = "gap_after"
        case identityReason = "identity_reason"
        case traceConstrained = "trace_constrained"
    }
}

/// What a finished comparison hands back (everything is also in the output folder).
public struct LeaceRun {
    public var positions: [Int]
    public var eraser: LeaceEraser
    public var layers: [LeaceLayerSummary]
    public var evaluation: LeaceEvaluationSummary
    public var timings: [String: Double]
}

/// `steer leace` (SPEC §7): per layer, the LEACE eraser of harmful vs harmless from `resid_pre` at the chosen
/// positions of the fitting prompts; `eraser.safetensors`; then the held-out comparison of baseline, LEACE at
/// every fitted layer and (given a direction) directional ablation. Stages are cached by content hash.
public final class LeaceComparison {
    public let model: LanguageModel
    public let formatter: ChatFormatter
    public let settings: LeaceRunSettings
    public let store: RunStore
    public var progress: ProgressHandler = { _, _, _ in }
    /// Hash of the model files and prompt sets, mixed into every stage key.
    public let inputKey: String

    public init(model: LanguageModel, formatter: ChatFormatter, settings: LeaceRunSettings, folder: URL, inputKey: String) throws {
        self.model = model; self.formatter = formatter; self.settings = settings; self.inputKey = inputKey
        store = try RunStore(folder: folder)
    }

    /// Fits, writes `eraser.safetensors` (with `metadata` added to the fitting settings), evaluates.
    public func run(_ prompts: LeacePrompts, direction: [Float]?, metadata: [String: String] = [:]) throws -> LeaceRun {
        var timings: [String: Double] = [:]
        let encode = { (texts: [String]) throws -> [[Int]] in
            try texts.map { try self.formatter.promptIds(user: $0, system: self.settings.system) }
        }
        let positions = try settings.offsets ?? PromptLayout(formatter: formatter, system: settings.system).eoiPositions
        let L = model.config.numLayers
        let layers = settings.layers ?? Array(0..<L)
        guard !layers.isEmpty, layers.allSatisfy({ (0..<L).contains($0) }) else {
            throw InterventionError.layerOutOfRange(what: "leace layers", layer: layers.first { !(0..<L).contains($0) } ?? -1, layers: L)
        }
        guard !prompts.harmfulFit.isEmpty, !prompts.harmlessFit.isEmpty else {
            throw ModelError.badInput("LEACE needs harmful and harmless prompts to fit on (got \(prompts.harmfulFit.count) and \(prompts.harmlessFit.count))")
        }
        let fitKey = store.key(inputKey, "leace-fit", positions, layers, settings.fitting, settings.system ?? "",
                               prompts.harmfulFit, prompts.harmlessFit)
        let t0 = Date()
        let eraser: LeaceEraser, summaries: [LeaceLayerSummary]
        if let cached = try cachedFit(key: fitKey) {
            (eraser, summaries) = cached
        } else {
            (eraser, summaries) = try fit(harmful: try encode(prompts.harmfulFit), harmless: try encode(prompts.harmlessFit),
                                          positions: positions, layers: layers, metadata: metadata) { timings["activations"] = $0 }
            try eraser.write(to: store.cacheURL("eraser.safetensors", key: fitKey))
            try store.saveJSON(summaries, "fit.json", key: fitKey)
        }
        try eraser.write(to: store.url("eraser.safetensors"))
        timings["fit"] = Date().timeIntervalSince(t0) - (timings["activations"] ?? 0)

        let t1 = Date()
        let evaluator = RefusalEvaluator(model: model, tokenizer: formatter.tokenizer, maxNewTokens: settings.maxNewTokens,
                                         batchSize: settings.batchSize)
        let evalKey = store.key(fitKey, "leace-evaluation", prompts.harmfulTest, prompts.harmlessTest, settings.maxNewTokens,
                                direction ?? [])
        var evaluation = try LeaceEvaluationSummary.compute(
            evaluator: evaluator, erasure: LeaceErasure(eraser: eraser, source: store.url("eraser.safetensors").path),
            direction: direction, harmful: prompts.harmfulTest, harmless: prompts.harmlessTest, encode: encode,
            store: store, key: evalKey, progress: progress)
        timings["evaluation"] = Date().timeIntervalSince(t1)
        evaluation.classMeanGap = .init(layers: summaries.map(\.layer), before: summaries.map(\.gapBefore), after: summaries.map(\.gapAfter))
        evaluation.identityLayers = Dictionary(uniqueKeysWithValues: summaries.compactMap { s in s.identityReason.map { (String(s.layer), $0) } })
        evaluation.positions = settings.positionsLabel
        evaluation.n.harmfulFit = prompts.harmfulFit.count
        evaluation.n.harmlessFit = prompts.harmlessFit.count
        evaluation.timings = timings
        try store.saveJSON(evaluation, "evaluation.json")
        return LeaceRun(positions: positions, eraser: eraser, layers: summaries, evaluation: evaluation, timings: timings)
    }

    /// The eraser and layer summaries of an earlier run with the same inputs, if cached.
    func cachedFit(key: String) throws -> (eraser: LeaceEraser, summaries: [LeaceLayerSummary])? {
        let file = store.cacheURL("eraser.safetensors", key: key)
        guard FileManager.default.fileExists(atPath: file.path),
              let summaries: [LeaceLayerSummary] = try store.loadJSON("fit.json", key: key) else { return nil }
        return (try LeaceEraser.read(from: file), summaries)
    }

    /// Reads `resid_pre` of every layer at `positions` of both prompt sets and fits each chosen layer;
    /// `captured(seconds)` reports how long reading the activations took.
    func fit(harmful: [[Int]], harmless: [[Int]], positions: [Int], layers: [Int], metadata: [String: String],
             captured: (Double) -> Void) throws -> (eraser: LeaceEraser, summaries: [LeaceLayerSummary]) {
        let t0 = Date()
        let c = model.config, d = c.hiddenSize, L = c.numLayers, P = positions.count
        let capture = ActivationCapture(model: model, batchSize: settings.batchSize)
        progress("activations", 0, harmful.count + harmless.count)
        let a = try capture.rows(harmful, points: [.residPre], offsets: positions) { [progress] in progress("activations", $0, harmful.count + harmless.count) }
        let b = try capture.rows(harmless, points: [.residPre], offsets: positions) { [progress] in
            progress("activations", harmful.count + $0, harmful.count + harmless.count)
        }
        let rowsA = a[.residPre] ?? [], rowsB = b[.residPre] ?? []
        captured(Date().timeIntervalSince(t0))
        let n = (harmful.count + harmless.count) * P
        let labels = [Bool](repeating: true, count: harmful.count * P) + [Bool](repeating: false, count: harmless.count * P)
        var layersOut: [Int: LeaceEraser.Layer] = [:], summaries: [LeaceLayerSummary] = []
        for (done, l) in layers.enumerated() {
            progress("fit", done, layers.count)
            // Rows of layer l: [prompt, position] of each class, harmful first (layout [prompts, P, L, d]).
            var x = [Float](repeating: 0, count: n * d)
            var row = 0
            for source in [rowsA, rowsB] {
                for prompt in 0..<(source.count / (P * L * d)) {
                    for p in 0..<P {
                        let from = ((prompt * P + p) * L + l) * d
                        for j in 0..<d { x[row * d + j] = source[from + j] }
                        row += 1
                    }
                }
            }
            let f = try LeaceFitter.fit(x, rows: n, cols: d, labels: labels, settings: settings.fitting)
            layersOut[l] = try f.layer
            let (before, after) = Self.classMeanGap(x, rows: n, cols: d, labels: labels, fit: f)
            summaries.append(LeaceLayerSummary(layer: l, rows: n, rank: f.rank, singularValue: f.singularValue, gapBefore: before,
                                               gapAfter: after, identityReason: f.identityReason, traceConstrained: f.traceConstrained))
        }
        progress("fit", layers.count, layers.count)
        let s = settings.fitting
        var meta = metadata
        meta[LeaceEraser.Key.format] = "steer leace eraser"
        meta[LeaceEraser.Key.method] = "LEACE (Belrose et al. 2023), concept-erasure 0.2.4 LeaceFitter estimator in Float64"
        meta[LeaceEraser.Key.shrinkage] = String(s.shrinkage)
        meta[LeaceEraser.Key.svdTol] = String(s.svdTol)
        meta["affine"] = String(s.affine)
        meta["constrain_cov_trace"] = String(s.constrainCovTrace)
        meta[LeaceEraser.Key.positions] = settings.positionsLabel + (settings.offsets == nil ? " (\(positions.map(String.init).joined(separator: ",")))" : "")
        meta["concept"] = "harmful = 1, harmless = 0"
        meta["rows_per_layer"] = String(n)
        meta["layers"] = layers.map(String.init).joined(separator: ",")
        meta[LeaceEraser.Key.identityLayers] = summaries.filter { $0.identityReason != nil }.map { String($0.layer) }.joined(separator: ",")
        meta["model_type"] = c.modelType
        if let dir = model.directory { meta["model"] = dir.path }
        return (LeaceEraser(layers: layersOut, metadata: meta), summaries)
    }

    /// ‖mean(x | z) − mean(x | ¬z)‖ before and after `fit`, in Float64. The eraser is affine, so the mean
    /// of the erased rows is the erased mean: the gap after is that of the two erased class means.
    public static func classMeanGap(_ x: [Float], rows n: Int, cols d: Int, labels: [Bool], fit: LeaceFit) -> (before: Double, after: Double) {
        var m1 = [Double](repeating: 0, count: d), m0 = [Double](repeating: 0, count: d)
        var n1 = 0.0, n0 = 0.0
        for i in 0..<n {
            if labels[i] { n1 += 1; for j in 0..<d { m1[j] += Double(x[i * d + j]) } } else { n0 += 1; for j in 0..<d { m0[j] += Double(x[i * d + j]) } }
        }
        guard n1 > 0, n0 > 0 else { return (0, 0) }
        m1 = m1.map { $0 / n1 }; m0 = m0.map { $0 / n0 }
        func gap(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
        return (gap(m1, m0), gap(fit.apply(m1), fit.apply(m0)))
    }
}
