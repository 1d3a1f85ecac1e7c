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
            OptionSpec("--prefix", value: "TEXT", help: "forced start of the reply: tokenized on its own and appended to the prompt's ids"),
            OptionSpec("--prefix-ids", value: "LIST", help: "forced start of the reply as token ids (e.g. a rollout's \"tokens\"), token-exact"),
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
            BackendOption.spec,
        ] + InterventionFlags.options,
        discussion: """
        With --prompt the reply text streams to standard output; with --ids the new token ids are printed as a JSON array.
        A forced prefix is raw continuation: the prompt is rendered and tokenized as without it, and the prefix's ids
        follow. A text prefix is tokenized on its own, so it may end in a token the model never produces there (with
        the Qwen2 split, '<recommendation>' ends in a lone '>' where the model writes '>approve'); --prefix-ids forces
        exact ids instead, such as the first tokens of a reply the model generated.
        """)

    static func run(_ args: ParsedArguments, _ out: Console) throws {
        let dir = try ModelDirectory.url(args.positional(0))
        _ = try ThreadOption.apply(args)
        var opts = try generationOptions(args)
        opts.stopStrings = args.strings("--stop")
        if let ids = try args.intList("--ids") {
            guard args.string("--prompt") == nil else { throw UsageError("give --prompt or --ids, not both") }
            guard !ids.isEmpty else { throw UsageError("--ids is empty") }
            let model = try ModelLoader.load(directory: dir, precision: try precision(args),
                                             backend: try BackendOption.backend(args))
            if !args.flag("--no-eos") { opts.eosTokenIds = Set(model.config.eosTokenIds) }
            let result = try model.generate([ids], options: opts, edits: try InterventionFlags.edits(args, model: model))
            out.print("[" + result.tokens[0].map(String.init).joined(separator: ",") + "]")
            return
        }
        guard let prompt = args.string("--prompt") else { throw UsageError("give --prompt TEXT or --ids LIST") }
        let formatter = try ChatFormatter(directory: dir)
        let tokenizer = formatter.tokenizer
        let text = args.flag("--raw") ? prompt : try formatter.render(messages: ChatFormatter.messages(user: prompt, system: args.string("--system")))
        let prefixIds = try forcedPrefix(args, tokenizer)
        let ids = tokenizer.encode(text) + prefixIds
        let model = try ModelLoader.load(directory: dir, precision: try precision(args), backend: try BackendOption.backend(args))
        if !args.flag("--no-eos") {
            opts.eosTokenIds = Set(model.config.eosTokenIds + [tokenizer.eosTokenId].compactMap { $0 })
        }
        opts.decode = { tokenizer.decode($0, skipSpecialTokens: true) }
        let stream = tokenizer.makeStreamDecoder(skipSpecialTokens: true)
        if !prefixIds.isEmpty { out.print(tokenizer.decode(prefixIds, skipSpecialTokens: true), terminator: "") }
        _ = try model.generate([ids], options: opts, edits: try InterventionFlags.edits(args, model: model)) { _, token in
            if let piece = stream.feed(token) { out.print(piece, terminator: "") }
        }
        out.print("")
    }

    /// The ids of `--prefix` (tokenized on its own, never merged with the prompt's text) or `--prefix-ids`.
    static func forcedPrefix(_ args: ParsedArguments, _ tokenizer: Tokenizer) throws -> [Int] {
        if let ids = try args.intList("--prefix-ids") {
            guard args.string("--prefix") == nil else { throw UsageError("give --prefix or --prefix-ids, not both") }
            return ids
        }
        return args.string("--prefix").map { tokenizer.encode($0) } ?? []
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
