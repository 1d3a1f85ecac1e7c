import Experiments
import Foundation

/// Prompt files (JSON, JSONL, CSV, text) mutated structurally (fields, types, `messages`, deep
/// nesting, huge strings) and line by line (huge lines, invalid UTF-8, stray quotes and carriage
/// returns, BOMs, NULs), sometimes read as another format; loaded and split like `steer refusal` does.
enum PromptFuzzer: FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        guard let seed = rng.pick(seeds.prompts) else { return }
        var ext = (seed.path as NSString).pathExtension
        var data = seed.data
        switch ext {
        case "json": data = mutateJSON(data, rng: &rng)
        case "jsonl": data = mutateLines(data, rng: &rng, jsonLines: true)
        default: data = mutateLines(data, rng: &rng, jsonLines: false)
        }
        if rng.chance(0.1) { data = ByteMutator.mutate(data, count: rng.count(max: 3), rng: &rng) }
        if rng.chance(0.1) { ext = rng.pick("json", "jsonl", "csv", "txt", "ndjson", "TXT", "yaml") }
        let name = "prompts." + ext
        c.files[name] = .bytes(data)
        maybeSpecial(&c, name, p: 0.02, rng: &rng)
        c.params["file"] = name
        c.params["field"] = rng.chance(0.7) ? "" : rng.pick("instruction", "prompt", "goal", "text", "system", "messages", "")
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        let field = c.params["field"].flatMap { $0.isEmpty ? nil : $0 }
        let set = try PromptSet.load(folder.appendingPathComponent(c.params["file"] ?? "prompts.json"), field: field)
        _ = try PromptSplit.shuffled(set, train: set.count / 2, val: set.count - set.count / 2, test: 0, seed: 1)
    }

    static func mutateJSON(_ data: Data, rng: inout FuzzRandom) -> Data {
        guard let tree = FuzzJSON.parse(data) else { return ByteMutator.mutate(data, count: 2, rng: &rng) }
        return JSONMutator(vocabulary: vocabulary).mutate(tree, count: rng.count(max: 3), rng: &rng).data(pretty: rng.chance(0.5))
    }

    static func mutateLines(_ data: Data, rng: inout FuzzRandom, jsonLines: Bool) -> Data {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        for _ in 0..<rng.count(max: 3) {
            let i = rng.below(max(1, lines.count))
            if lines.isEmpty { lines = [[]] }
            switch rng.below(8) {
            case 0 where jsonLines:
                let tree = FuzzJSON.parse(Data(lines[i])) ?? .string(String(decoding: lines[i], as: UTF8.self))
                lines[i] = Array(JSONMutator(vocabulary: vocabulary).mutate(tree, count: 1, rng: &rng).data())
            case 1: lines.insert(lines[i], at: rng.below(lines.count + 1))
            case 2: lines[i] += [UInt8](repeating: rng.pick(0x61, 0x22, 0x2C, 0x20), count: rng.pick(1000, 100_000, 1 << 20, rng.chance(0.2) ? 8 << 20 : 1000))
            case 3: lines[i].insert(rng.pick(0xFF, 0xC3, 0xED, 0x80, 0x00, 0x0D, 0x22), at: rng.below(lines[i].count + 1))
            case 4: lines.remove(at: i)
            case 5: lines[i] = [0xEF, 0xBB, 0xBF] + lines[i]
            case 6: lines[i] = Array(String(repeating: rng.pick("[", "{\"a\":"), count: rng.pick(100, 600, 100_000)).utf8)
            default: lines[i] = Array(rng.pick("\"", "\"\"\"", "a,\"b", "\r", ",,,", "instruction,system", "{}", "[]", "null", "\"x\"").utf8)
            }
        }
        return Data(lines.joined(separator: [0x0A]))
    }

    static let vocabulary: [String: [FuzzJSON]] = [
        "instruction": [.string(""), .string(" "), .number("1"), .null, .array([]), .string(String(repeating: "x", count: 1 << 20))],
        "prompt": [.string("p"), .object([])], "goal": [.string("g")],
        "system": [.string("s"), .number("0"), .null],
        "messages": [.array([]), .array([.object([("role", .string("user")), ("content", .string("hi"))])]),
                     .array([.object([("role", .number("1"))])]), .array([.string("x")]), .string("x"),
                     .array([.object([("role", .string("user")), ("content", .array([]))])])],
        "role": [.string("user"), .string("assistant"), .null], "content": [.string(""), .null, .number("1e400")],
    ]
}

/// Cases that succeed, fail cleanly, crash, block, exhaust memory or spin on purpose, in turn, so
/// the supervisor's classification and restarts can be checked without a bug in the code under test.
enum SelfCheckTarget: FuzzTarget {
    static let actions = ["success", "error", "crash", "hang", "memory", "spin"]
    nonisolated(unsafe) static var sink: UInt64 = 0

    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        c.params["action"] = actions[c.index % actions.count]
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        switch c.params["action"] {
        case "error": throw FuzzError.io("self-check: a clean error")
        case "crash": fatalError("self-check: a crash")
        case "hang": while true { sleep(1) }
        case "spin":
            // Busy forever; the store to a global keeps the optimiser from removing the loop.
            while true { sink = sink &* 6364136223846793005 &+ 1442695040888963407 }
        case "memory":
            // Past the worker's address-space limit: an allocation fails and the process dies.
            var blocks: [[UInt8]] = []
            while true { blocks.append([UInt8](repeating: UInt8(blocks.count & 0xFF), count: 64 << 20)) }
        default: return
        }
    }
}
