import Basics
import Experiments
import Foundation
import Interventions
import Models

/// What `steer gradient` and `steer latents` read besides the model: the direction, as the unit vector
/// r̂ = r/‖r‖, and the prompts as token ids (user messages through the chat template with the generation
/// prompt, or ids used as given).
struct GradientInputs {
    var unit: [Float]
    var prompts: [[Int]]
    /// The prompt texts (for ids: the ids written out).
    var texts: [String]
    /// For the output's metadata.
    var provenance: [String: String]

    static let promptOptions: [OptionSpec] = [
        OptionSpec("--prompts", value: "FILE", help: "user messages (JSON, JSONL, CSV or text), rendered with the chat template and its generation prompt"),
        OptionSpec("--field", value: "NAME", help: "field holding the prompt in JSON/JSONL/CSV"),
        OptionSpec("--system", value: "TEXT", help: "system message for the chat template"),
    ]

    /// `--direction` and `--metric-layer`, as both commands take them.
    static let metricOptions: [OptionSpec] = [
        OptionSpec("--direction", value: "FILE", help: "direction file (its 'direction' r; the metric uses r/‖r‖)", required: true),
        OptionSpec("--metric-layer", value: "M", help: "the metric reads resid_pre[M] at the last position (M = layers is the stream before the final norm)", required: true),
    ]

    /// How the passes run: tokens per pass and weight storage.
    static let passOptions: [OptionSpec] = [
        OptionSpec("--tokens-per-pass", value: "N", help: "tokens per forward/backward pass (default: what keeps the recorded activations near 1 GB)"),
        OptionSpec("--weights", value: "f32|bf16", help: "weight storage (default f32)"),
    ]

    static let idOptions: [OptionSpec] = [
        OptionSpec("--ids", value: "LIST", help: "one prompt as token ids, comma-separated (used as given, no BOS added)"),
        OptionSpec("--ids-file", value: "FILE", help: "prompts as token ids: a JSON array of arrays, each used as given"),
    ]

    /// Reads the direction and the prompts (`--prompts`, or with `allowIds` also `--ids` / `--ids-file`).
    static func load(_ args: ParsedArguments, dir: URL, model: LanguageModel, allowIds: Bool) throws -> GradientInputs {
        guard let path = args.string("--direction") else { throw UsageError("give the direction file with --direction") }
        let d = try Direction.read(from: URL(fileURLWithPath: path))
        try d.check(dModel: model.config.hiddenSize, path: path)
        let vector = try d.requireVector(path: path)
        let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        guard norm > 0, norm.isFinite else { throw InterventionError.degenerateDirection("\(path): 'direction'") }
        var inputs = GradientInputs(unit: vector.map { Float(Double($0) / norm) }, prompts: [], texts: [],
                                    provenance: ["direction": path, "model": dir.path, "tool": "steer \(SteerCLI.version)"])
        let given = ["--prompts", "--ids", "--ids-file"].filter { args.string($0) != nil }
        guard given.count == 1 else {
            throw UsageError(allowIds ? "give exactly one of --prompts FILE, --ids LIST or --ids-file FILE" : "give the prompts with --prompts FILE")
        }
        switch given[0] {
        case "--ids" where allowIds:
            guard let ids = try args.intList("--ids"), !ids.isEmpty else { throw UsageError("--ids is empty") }
            inputs.prompts = [ids]
        case "--ids-file" where allowIds:
            inputs.prompts = try idLists(args.string("--ids-file") ?? "")
            inputs.provenance["ids_file"] = args.string("--ids-file")
        case "--prompts":
            let file = args.string("--prompts") ?? ""
            let set = try PromptSet.load(URL(fileURLWithPath: file), field: args.string("--field"))
            let formatter = try ChatFormatter(directory: dir)
            inputs.prompts = try set.rows.map { try formatter.promptIds(user: $0.text, system: $0.system ?? args.string("--system")) }
            inputs.texts = set.texts
            inputs.provenance["prompts"] = file
            inputs.provenance["prompts_sha256"] = set.sha256
        default:
            throw UsageError("\(given[0]) is not an option of this command")
        }
        for (i, p) in inputs.prompts.enumerated() {
            guard !p.isEmpty else { throw UsageError("prompt \(i) has no tokens") }
            try ParsedArguments.checkTokenIds(p, option: given[0], vocabularySize: model.config.vocabSize)
        }
        if inputs.texts.isEmpty { inputs.texts = inputs.prompts.map { $0.map(String.init).joined(separator: ",") } }
        return inputs
    }

    /// A JSON array of arrays of non-negative integers.
    static func idLists(_ path: String) throws -> [[Int]] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UsageError("cannot read --ids-file \(path): \(error.localizedDescription)")
        }
        let bad = UsageError("--ids-file \(path): expected a non-empty JSON array of arrays of token ids")
        guard let rows = (try? JSONValue.parse(data))?.array, !rows.isEmpty else { throw bad }
        return try rows.map { row in
            guard let items = row.array else { throw bad }
            // A whole number (`7` or `7.0`) that is not negative.
            return try items.map { item in
                guard let id = item.wholeNumber, id >= 0 else { throw bad }
                return id
            }
        }
    }
}
