import Experiments
import Foundation
import Models
import Tokenizers

/// `steer generate DIR --prompt TEXT` (chat, streamed) or `--ids …` (raw token continuation).
enum GenerateCommand: Command {
    static let spec = CommandSpec(
        name: "generate", summary: "generate a reply to a chat prompt, or a continuation of token ids",
        positionals: [("DIR", "Hugging Face model folder")],
        options: [
            OptionSpec("--prompt", value: "TEXT", help: "user message, rendered with the model's chat template; the reply streams"),
            OptionSpec("--system", value: "TEXT", help: "system message for --prompt"),
            OptionSpec("--prefix", value: "TEXT", help: "forced start of the reply (raw continuation after the template)"),
            OptionSpec("--raw", help: "use --prompt as raw text (no chat template)"),
            OptionSpec("--ids", value: "LIST", help: "prompt token ids, comma-separated (used as given, no BOS added)"),
            OptionSpec("--stop", value: "TEXT", help: "stop when the reply contains TEXT (repeatable)", repeatable: true),
            OptionSpec("--max-tokens", value: "N", help: "new tokens at most (default 64)"),
            OptionSpec("--temperature", value: "T", help: "sampling temperature; 0 = greedy (default 0)"),
            OptionSpec("--top-p", value: "P", help: "nucleus sampling mass (default 1)"),
            OptionSpec("--top-k", value: "K", help: "sample among the K most likely tokens (default 0 = all)"),
            OptionSpec("--seed", value: "S", help: "random seed for sampling (default 0)"),
            OptionSpec("--no-eos", help: "do not stop at the model's EOS tokens"),
            OptionSpec("--weights", value: "f32|bf16", help: "keep weights as Float32 (default) or 16-bit mapped"),
            ThreadOption.spec,
        ] + InterventionFlags.options,
        discussion: "With --prompt the reply text streams to standard output; with --ids the new token ids are printed as a JSON array.")

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        _ = try ThreadOption.apply(args)
        var opts = try generationOptions(args)
        opts.stopStrings = args.strings("--stop")
        if let ids = try args.intList("--ids") {
            guard args.string("--prompt") == nil else { throw UsageError("give --prompt or --ids, not both") }
            guard !ids.isEmpty else { throw UsageError("--ids is empty") }
            let model = try ModelLoader.load(directory: dir, precision: try precision(args))
            if !args.flag("--no-eos") { opts.eosTokenIds = Set(model.config.eosTokenIds) }
            let result = try model.generate([ids], options: opts, hooks: try InterventionFlags.hooks(args, model: model))
            out.print("[" + result.tokens[0].map(String.init).joined(separator: ",") + "]")
            return
        }
        guard let prompt = args.string("--prompt") else { throw UsageError("give --prompt TEXT or --ids LIST") }
        let formatter = try ChatFormatter(directory: dir)
        let tokenizer = formatter.tokenizer
        var text = args.flag("--raw") ? prompt : try formatter.render(messages: ChatFormatter.messages(user: prompt, system: args.string("--system")))
        if let prefix = args.string("--prefix") { text += prefix }
        let ids = tokenizer.encode(text)
        let model = try ModelLoader.load(directory: dir, precision: try precision(args))
        if !args.flag("--no-eos") {
            opts.eosTokenIds = Set(model.config.eosTokenIds + [tokenizer.eosTokenId].compactMap { $0 })
        }
        opts.decode = { tokenizer.decode($0, skipSpecialTokens: true) }
        let stream = tokenizer.makeStreamDecoder(skipSpecialTokens: true)
        if let prefix = args.string("--prefix") { out.print(prefix, terminator: "") }
        _ = try model.generate([ids], options: opts, hooks: try InterventionFlags.hooks(args, model: model)) { _, token in
            if let piece = stream.feed(token) { out.print(piece, terminator: "") }
        }
        out.print("")
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
