import Foundation
import Models

/// `steer generate DIR --ids …`: continues token ids (raw: no template applied).
enum GenerateCommand: Command {
    static let spec = CommandSpec(
        name: "generate", summary: "generate a continuation of token ids",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--ids", value: "LIST", help: "prompt token ids, comma-separated (used as given, no BOS added)"),
            OptionSpec("--max-tokens", value: "N", help: "new tokens at most (default 64)"),
            OptionSpec("--temperature", value: "T", help: "sampling temperature; 0 = greedy (default 0)"),
            OptionSpec("--top-p", value: "P", help: "nucleus sampling mass (default 1)"),
            OptionSpec("--top-k", value: "K", help: "sample among the K most likely tokens (default 0 = all)"),
            OptionSpec("--seed", value: "S", help: "random seed for sampling (default 0)"),
            OptionSpec("--no-eos", help: "do not stop at the model's EOS tokens"),
            OptionSpec("--weights", value: "f32|bf16", help: "keep weights as Float32 (default) or 16-bit mapped"),
        ],
        discussion: "Prints the new token ids as a JSON array.")

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        guard let ids = try args.intList("--ids") else { throw UsageError("give the prompt with --ids") }
        guard !ids.isEmpty else { throw UsageError("--ids is empty") }
        let options = try generationOptions(args)
        let model = try ModelLoader.load(directory: dir, precision: try precision(args))
        var opts = options
        if !args.flag("--no-eos") { opts.eosTokenIds = Set(model.config.eosTokenIds) }
        let result = try model.generate([ids], options: opts)
        out.print("[" + result.tokens[0].map(String.init).joined(separator: ",") + "]")
    }

    static func generationOptions(_ args: ParsedArguments) throws -> GenerationOptions {
        let temperature = try args.double("--temperature") ?? 0
        guard temperature >= 0 else { throw UsageError("--temperature must be ≥ 0") }
        let topP = try args.double("--top-p") ?? 1
        guard topP > 0 && topP <= 1 else { throw UsageError("--top-p must be in (0, 1]") }
        let seed = try args.int("--seed", default: 0)
        guard seed >= 0 else { throw UsageError("--seed must be ≥ 0") }
        return GenerationOptions(
            maxNewTokens: try args.int("--max-tokens", default: 64, range: 0...1_000_000),
            temperature: Float(temperature),
            topK: try args.int("--top-k", default: 0, range: 0...Int.max),
            topP: Float(topP),
            seed: UInt64(seed))
    }

    static func precision(_ args: ParsedArguments) throws -> WeightPrecision {
        WeightPrecision(rawValue: try args.choice("--weights", ["f32", "bf16"], default: "f32")) ?? .f32
    }
}
