import Experiments
import Foundation

/// The prompt-set flags shared by commands that take a harmful and a harmless set.
enum PromptOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("--harmful", value: "FILE", help: "harmful prompts (JSON, JSONL, CSV or text), split by --seed"),
        OptionSpec("--harmless", value: "FILE", help: "harmless prompts, split the same way"),
        OptionSpec("--harmful-train", value: "FILE", help: "explicit split files instead (also --harmful-val, --harmful-test)"),
        OptionSpec("--harmful-val", value: "FILE", help: "harmful validation prompts"),
        OptionSpec("--harmful-test", value: "FILE", help: "harmful test prompts"),
        OptionSpec("--harmless-train", value: "FILE", help: "harmless training prompts"),
        OptionSpec("--harmless-val", value: "FILE", help: "harmless validation prompts"),
        OptionSpec("--harmless-test", value: "FILE", help: "harmless test prompts"),
        OptionSpec("--field", value: "NAME", help: "JSON/JSONL/CSV field holding the prompt (default instruction, prompt or goal)"),
        OptionSpec("--n-train", value: "N", help: "training prompts per class (default 128)"),
        OptionSpec("--n-val", value: "N", help: "validation prompts per class (default 32)"),
        OptionSpec("--n-test", value: "N", help: "test prompts per class (default: all that are left)"),
        OptionSpec("--seed", value: "S", help: "seed of the split and of subsampling (default 0)"),
    ]

    struct Loaded {
        var sets: RefusalPrompts
        var provenance: [String: PromptSource]
        /// Hash of everything that decides the prompts, for stage caching.
        var key: String
        /// The seed of the split and of subsampling.
        var seed: Int
    }

    static func load(_ args: ParsedArguments) throws -> Loaded {
        let nTrain = try args.int("--n-train", default: PromptSplit.defaultTrain, range: 1...1_000_000)
        let nVal = try args.int("--n-val", default: PromptSplit.defaultVal, range: 1...1_000_000)
        let nTest = try args.int("--n-test")
        if let t = nTest, t < 0 { throw UsageError("--n-test must be ≥ 0") }
        let seed = try args.int("--seed", default: 0, range: 0...Int.max)
        let field = args.string("--field")
        func split(_ cls: String) throws -> PromptSplit {
            if let file = args.string("--\(cls)") {
                guard args.string("--\(cls)-train") == nil else { throw UsageError("give --\(cls) or --\(cls)-train, not both") }
                return try PromptSplit.load(URL(fileURLWithPath: file), field: field, train: nTrain, val: nVal, test: nTest,
                                            seed: UInt64(seed))
            }
            guard let train = args.string("--\(cls)-train"), let val = args.string("--\(cls)-val") else {
                throw UsageError("give --\(cls) FILE, or --\(cls)-train and --\(cls)-val (and optionally --\(cls)-test)")
            }
            var s = try PromptSplit.load(train: URL(fileURLWithPath: train), val: URL(fileURLWithPath: val),
                                         test: args.string("--\(cls)-test").map { URL(fileURLWithPath: $0) }, field: field)
            // Explicit files larger than the sizes asked for are subsampled with the seed.
            s.train = subsample(s.train, nTrain, seed: UInt64(seed))
            s.val = subsample(s.val, nVal, seed: UInt64(seed) &+ 1)
            if let t = nTest { s.test = subsample(s.test, t, seed: UInt64(seed) &+ 2) }
            return s
        }
        let harmful = try split("harmful"), harmless = try split("harmless")
        for (name, s) in [("harmful", harmful), ("harmless", harmless)] {
            guard !s.train.isEmpty, !s.val.isEmpty else { throw UsageError("the \(name) train and validation sets must not be empty") }
        }
        let sets = RefusalPrompts(
            harmfulTrain: harmful.train.map(\.text), harmfulVal: harmful.val.map(\.text), harmfulTest: harmful.test.map(\.text),
            harmlessTrain: harmless.train.map(\.text), harmlessVal: harmless.val.map(\.text),
            harmlessTest: harmless.test.map(\.text))
        let provenance = sources(harmful: harmful, harmless: harmless)
        let key = fileKey(provenance) + ";\(nTrain),\(nVal),\(nTest ?? -1),\(seed),\(field ?? "")"
        return Loaded(sets: sets, provenance: provenance, key: key, seed: seed)
    }

    /// Every prompt file of the two classes by `class:role` (e.g. `harmful:train`).
    static func sources(harmful: PromptSplit, harmless: PromptSplit) -> [String: PromptSource] {
        var provenance: [String: PromptSource] = [:]
        for s in harmful.sources { provenance["harmful:" + s.role] = s }
        for s in harmless.sources { provenance["harmless:" + s.role] = s }
        return provenance
    }

    /// The prompt files' roles and SHA-256, for stage keys.
    static func fileKey(_ provenance: [String: PromptSource]) -> String {
        provenance.keys.sorted().map { "\($0)=\(provenance[$0]?.sha256 ?? "")" }.joined(separator: ",")
    }

    /// One report row per prompt file: its role, path and hash.
    static func provenanceRows(_ provenance: [String: PromptSource]) -> [(String, String)] {
        provenance.keys.sorted().map { key in
            ("prompts \(key)", provenance[key].map { "\($0.path) (SHA-256 \($0.sha256.prefix(16))…)" } ?? "")
        }
    }

    static func subsample(_ rows: [PromptRow], _ n: Int, seed: UInt64) -> [PromptRow] {
        guard rows.count > n else { return rows }
        return SplitMix64.permutation(count: rows.count, seed: seed).prefix(n).sorted().map { rows[$0] }
    }
}
