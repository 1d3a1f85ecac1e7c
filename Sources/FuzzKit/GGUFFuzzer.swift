import Foundation
import ModelFormats

/// GGUF files rebuilt from the control-vector fixtures with mutated structure (version, counts,
/// metadata types and values, nested and oversized arrays, alignment, tensor names, dimensions,
/// types and offsets, data size), written by a serialiser that can also lie about lengths, and
/// then sometimes byte-mutated. Read as a GGUF file and as a control vector.
enum GGUFFuzzer: FuzzTarget {
    /// A GGUF file as the mutator sees it; metadata values are raw (type code, encoded bytes).
    struct Model {
        var version: UInt32 = 3
        var metadata: [(key: [UInt8], type: UInt32, value: [UInt8])] = []
        var tensors: [(name: [UInt8], dims: [UInt64], type: UInt32, offset: UInt64)] = []
        var alignment = 32
        var data: [UInt8] = []
        var countDelta: (tensors: Int64, metadata: Int64) = (0, 0)
    }

    static func make(_ c: inout FuzzCase, rng: inout FuzzRandom, seeds: FuzzSeeds) {
        var model = rng.chance(0.85) ? (rng.pick(seeds.gguf).flatMap { parse($0.data) } ?? Model()) : Model()
        for _ in 0..<rng.count(max: 4) { mutate(&model, rng: &rng) }
        var bytes = serialize(model)
        if rng.chance(0.2) { bytes = ByteMutator.mutate(bytes, count: rng.count(max: 3), rng: &rng) }
        c.files["vector.gguf"] = .bytes(bytes)
        maybeSpecial(&c, "vector.gguf", p: 0.02, rng: &rng)
    }

    static func run(_ c: FuzzCase, folder: URL) throws {
        let url = folder.appendingPathComponent("vector.gguf")
        let file = try GGUFFile(url: url)
        for t in file.tensors { _ = file.rawBytes(t) }
        _ = try ControlVector.read(from: url)
    }

    /// The model of a valid file (via `GGUFFile`, re-encoding its values).
    static func parse(_ data: Data) -> Model? {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("steer-fuzz-seed-\(getpid())-\(data.hashValue).gguf")
        defer { try? FileManager.default.removeItem(at: tmp) }
        guard (try? data.write(to: tmp)) != nil, let file = try? GGUFFile(url: tmp) else { return nil }
        var m = Model(version: file.version, alignment: file.alignment)
        for key in file.keys { if let v = file.metadata[key] { m.metadata.append((Array(key.utf8), v.typeCode, encode(v))) } }
        for t in file.tensors {
            m.tensors.append((Array(t.name.utf8), t.dimensions.map(UInt64.init), t.ggmlType, UInt64(t.offset)))
        }
        m.data = Array(data.dropFirst(file.dataStart))
        return m
    }

    static func encode(_ v: GGUFValue) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ x: T) -> [UInt8] { withUnsafeBytes(of: x.littleEndian) { Array($0) } }
        switch v {
        case let .uint8(x): return [x]
        case let .int8(x): return le(x)
        case let .uint16(x): return le(x)
        case let .int16(x): return le(x)
        case let .uint32(x): return le(x)
        case let .int32(x): return le(x)
        case let .float32(x): return le(x.bitPattern)
        case let .bool(x): return [x ? 1 : 0]
        case let .string(s): return le(UInt64(s.utf8.count)) + Array(s.utf8)
        case let .array(type, items): return le(type) + le(UInt64(items.count)) + items.flatMap(encode)
        case let .uint64(x): return le(x)
        case let .int64(x): return le(x)
        case let .float64(x): return le(x.bitPattern)
        }
    }

    static func le<T: FixedWidthInteger>(_ x: T) -> [UInt8] { withUnsafeBytes(of: x.littleEndian) { Array($0) } }

    static func mutate(_ m: inout Model, rng: inout FuzzRandom) {
        let big: [UInt64] = [0, 1, 2, 3, 31, 32, 33, 1 << 31, 1 << 32, 1 << 40, 1 << 62, UInt64(Int64.max), UInt64.max]
        switch rng.below(12) {
        case 0: m.version = rng.pick(1, 2, 3, 4, 0, UInt32.max)
        case 1: m.countDelta = (rng.pick(0, 1, -1, 1 << 40, Int64.max), rng.pick(0, 1, -1, 1 << 40))
        case 2:
            let type = rng.pick(UInt32(0), 4, 5, 6, 7, 8, 9, 10, 12, 13, 99)
            let value: [UInt8] = rng.pick(le(UInt32(64)), le(UInt32(3)), le(UInt32(0)), le(UInt64(1) << 31), [2], [],
                                          le(UInt64(5)) + [0xFF, 0xFE, 0x41, 0x42, 0x43], le(UInt32(8)) + le(UInt64(1 << 40)))
            m.metadata.append((Array(rng.pick("general.alignment", "general.architecture", "controlvector.layer_count",
                                              "controlvector.model_hint", "x").utf8), type, value))
        case 3 where !m.metadata.isEmpty:
            m.metadata.remove(at: rng.below(m.metadata.count))
        case 4:
            // A nested array, possibly deeper than readers allow, possibly with a lying length.
            var value = le(UInt32(0)) + le(UInt64(2)) + [1, 2]
            for _ in 0..<rng.pick(1, 3, 5, 64) { value = le(UInt32(9)) + le(UInt64(rng.chance(0.8) ? 1 : UInt64.max)) + value }
            m.metadata.append((Array("nested".utf8), 9, value))
        case 5:
            let name = rng.pick("direction.1", "direction.0", "direction.-1", "direction.99999999999999999999", "direction.",
                                "direction.1x", "x", "direction.١", "direction.2")
            m.tensors.append((Array(name.utf8), [rng.pick(big)!], rng.pick(0, 1, 30, 2, 99), UInt64(rng.pick(0, 32, 64, 1, 1 << 40))))
        case 6 where !m.tensors.isEmpty:
            let i = rng.below(m.tensors.count)
            m.tensors[i].dims = (0..<rng.pick(0, 1, 2, 4, 5, 9)).map { _ in rng.pick(big)! }
        case 7 where !m.tensors.isEmpty:
            m.tensors[rng.below(m.tensors.count)].type = rng.pick(0, 1, 2, 8, 30, 31, 1000, UInt32.max)
        case 8 where !m.tensors.isEmpty:
            m.tensors[rng.below(m.tensors.count)].offset = rng.pick(big)!
        case 9:
            m.alignment = rng.pick(1, 8, 16, 64, 4096)
        case 10:
            if rng.chance(0.5) { m.data = Array(m.data.prefix(rng.below(m.data.count + 1))) }
            else { m.data += [UInt8](repeating: 0x3F, count: rng.pick(4, 64, 4096)) }
        default:
            if let i = rng.pick(Array(m.tensors.indices)) { m.tensors.append(m.tensors[i]) }   // a duplicate name
        }
    }

    /// The file bytes; counts include `countDelta`, so they may disagree with the contents.
    static func serialize(_ m: Model) -> Data {
        var out = Array("GGUF".utf8) + le(m.version)
        out += le(UInt64(bitPattern: Int64(m.tensors.count) &+ m.countDelta.tensors))
        out += le(UInt64(bitPattern: Int64(m.metadata.count) &+ m.countDelta.metadata))
        for kv in m.metadata { out += le(UInt64(kv.key.count)) + kv.key + le(kv.type) + kv.value }
        for t in m.tensors {
            out += le(UInt64(t.name.count)) + t.name + le(UInt32(t.dims.count))
            for d in t.dims { out += le(d) }
            out += le(t.type) + le(t.offset)
        }
        let pad = (m.alignment - out.count % m.alignment) % m.alignment
        out += [UInt8](repeating: 0, count: pad) + m.data
        return Data(out)
    }
}
