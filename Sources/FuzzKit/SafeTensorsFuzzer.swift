import Foundation
import ModelFormats
import Models

/// safetensors files with mutated headers (dtypes, shapes, offsets, metadata, the length prefix),
/// often re-laid-out so the file stays consistent and the mutation reaches the model loader; also
/// the sharded fixture with a mutated index or shard. Model weights are loaded with the fixture's
/// config and run (`ModelExercise`); other files are read tensor by tensor.
enum SafeTensorsFuzzer: FuzzTarget {
    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        if rng.chance(0.1) {
            makeSharded(&c, rng: &rng, seeds: seeds)
            return
        }
        guard let seed = rng.pick(seeds.safetensors) else { return }
        let bytes = mutateFile(seed.data, rng: &rng)
        let parts = seed.path.split(separator: "/").map(String.init)
        if parts.first == "models", let model = seeds.models.first(where: { $0.name == parts[1] }) {
            c.files["config.json"] = .symlink(FuzzCase.fixturePrefix + "models/\(model.name)/config.json")
            ConfigFuzzer.linkWeights(of: model, into: &c)
            c.files[parts[2]] = .bytes(bytes)
            maybeSpecial(&c, parts[2], p: 0.02, rng: &rng)
            c.params["target"] = "model"
            c.params["precision"] = rng.chance(0.3) ? "bf16" : "f32"
        } else {
            c.files["weights.safetensors"] = .bytes(bytes)
            c.params["target"] = "file"
        }
    }

    static func makeSharded(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        for (name, data) in seeds.sharded { c.files[name] = .bytes(data) }
        let names = seeds.sharded.keys.sorted()
        guard let victim = rng.pick(names), case .bytes(let data)? = c.files[victim] else { return }
        if victim.hasSuffix(".json") {
            let tree = FuzzJSON.parse(data) ?? .null
            c.files[victim] = .bytes(JSONMutator(vocabulary: indexVocabulary).mutate(tree, count: rng.count(max: 3), rng: &rng).data())
        } else {
            c.files[victim] = .bytes(mutateFile(data, rng: &rng))
        }
        maybeSpecial(&c, victim, p: 0.05, rng: &rng)
        c.params["target"] = "folder"
    }

    /// Splits a file into header JSON and data, mutates the header, and reassembles it.
    static func mutateFile(_ file: Data, rng: inout FuzzRandom) -> Data {
        let bytes = [UInt8](file)
        guard bytes.count >= 8 else { return ByteMutator.mutate(file, count: 2, rng: &rng) }
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length <= bytes.count - 8, var header = FuzzJSON.parse(Data(bytes[8..<(8 + length)])) else {
            return ByteMutator.mutate(file, count: 2, rng: &rng)
        }
        var dataArea = Array(bytes[(8 + length)...])
        header = JSONMutator(vocabulary: headerVocabulary).mutate(header, count: rng.count(max: 3), rng: &rng)
        if rng.chance(0.5) { (header, dataArea) = relayout(header, data: dataArea, rng: &rng) }
        var text = [UInt8](header.data())
        if rng.chance(0.3) { text += [UInt8](repeating: 0x20, count: (8 - text.count % 8) % 8) }
        var declared = UInt64(text.count)
        if rng.chance(0.08) {
            let values: [UInt64] = [0, declared &+ 1, declared &- 1, UInt64(text.count + dataArea.count), UInt64(text.count + dataArea.count + 1),
                                    100_000_001, UInt64(Int.max), UInt64.max, 1 << 32]
            declared = rng.pick(values) ?? declared
        }
        var out = withUnsafeBytes(of: declared.littleEndian) { Array($0) } + text + dataArea
        if rng.chance(0.1) { out = [UInt8](ByteMutator.mutate(Data(out), count: rng.count(max: 3), rng: &rng)) }
        return Data(out)
    }

    /// Gives every tensor whose dtype and shape are well-formed fresh consecutive offsets (and the
    /// data area the size they need), so the file parses and the mutation reaches the loader.
    static func relayout(_ header: FuzzJSON, data: [UInt8], rng: inout FuzzRandom) -> (FuzzJSON, [UInt8]) {
        guard case .object(var members) = header else { return (header, data) }
        var offset = 0
        for i in members.indices where members[i].0 != "__metadata__" {
            guard case .object(var entry) = members[i].1, case .string(let dtype)? = members[i].1["dtype"],
                  let size = SafeTensorsDType(rawValue: dtype)?.byteSize,
                  case .array(let dims)? = members[i].1["shape"] else { continue }
            var count = 1
            for d in dims {
                guard case .number(let t) = d, let v = Int(t), v >= 0, v <= 1 << 20 else { count = -1; break }
                count *= v
                if count > 1 << 22 { count = -1; break }
            }
            guard count >= 0 else { continue }
            let end = offset + count * size
            entry.removeAll { $0.0 == "data_offsets" }
            entry.append(("data_offsets", .array([.number(String(offset)), .number(String(end))])))
            members[i].1 = .object(entry)
            offset = end
        }
        var newData = Array(data.prefix(offset))
        while newData.count < offset { newData.append(UInt8(truncatingIfNeeded: rng.next())) }
        return (.object(members), newData)
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        switch c.params["target"] {
        case "model":
            let model = try ModelLoader.load(directory: folder, precision: c.params["precision"] == "bf16" ? .bf16 : .f32)
            try ModelExercise.run(model)
        case "file":
            let file = try SafeTensorsFile(url: folder.appendingPathComponent("weights.safetensors"))
            for t in file.tensors {
                _ = try file.rawBytes(t.name)
                if t.floatType != nil { _ = try file.floats(t.name) }
            }
            _ = try WeightStore(folder: folder).parameterCount
        default:
            let store = try WeightStore(folder: folder)
            for name in store.names where try store.info(name).floatType != nil { _ = try store.floats(name) }
        }
    }

    static let headerVocabulary: [String: [FuzzJSON]] = [
        "dtype": (SafeTensorsDType.allCases.map(\.rawValue) + ["F4", "Q4_0", "f32", "F32 ", ""]).map(FuzzJSON.string) + [.number("1"), .null],
        "shape": [.array([]), .array([.number("0")]), .array([.number("1")]), .array([.number("64"), .number("64")]),
                  .array([.number("2147483648"), .number("2147483648")]), .array([.number("-1")]), .array([.number("1.5")]),
                  .array([.string("1")]), .array([.number("9223372036854775807"), .number("2")]),
                  .array([.number("64"), .number("64"), .number("64")]), .array([.number("256"), .number("64")]),
                  .array([.number("128"), .number("64")]), .number("4")],
        "data_offsets": [.array([.number("0"), .number("0")]), .array([.number("0"), .number("9223372036854775807")]),
                         .array([.number("-1"), .number("4")]), .array([.number("4"), .number("0")]),
                         .array([.number("0"), .number("1e20")]), .array([.number("0"), .string("4")]), .array([.number("0")]),
                         .array([.number("0"), .number("18446744073709551615")])],
        "__metadata__": [.null, .array([]), .object([("format", .string("pt"))]), .object([("format", .number("1"))]),
                         .object([("a", .object([]))])],
    ]

    static let indexVocabulary: [String: [FuzzJSON]] = [
        "weight_map": [.object([]), .array([]), .null],
        "metadata": [.object([("total_size", .number("-1"))]), .null, .string("x")],
        "model-00001-of-00004.safetensors": [.string("../model-00002-of-00004.safetensors")],
    ]
}
