// llama.cpp control vectors (GGUF, architecture "controlvector").
import Foundation

/// A steering control vector in llama.cpp's GGUF format.
///
/// File contents: `general.architecture = "controlvector"`, `controlvector.model_hint` (string,
/// the model type, e.g. `"llama"`), `controlvector.layer_count` (the number of directions) and one
/// F32 tensor `direction.{n}` of shape `[d_model]` per steered layer, n ≥ 1.
///
/// **Layer numbering.** llama.cpp adds `direction.{n}` to the *output* of transformer block `n`,
/// counting blocks from 0, i.e. to the residual stream after block n (Hugging Face
/// `hidden_states[n + 1]`). Evidence, llama.cpp sources:
/// - `common/common.cpp`, `common_control_vector_load_one`: parses n from `direction.{n}`,
///   rejects n == 0 ("invalid (zero) direction tensor layer index") and stores the vector at
///   `data[n_embd * (n - 1)]` ("layer 1 at [0]").
/// - `src/llama-adapter.cpp`, `llama_adapter_cvec::apply`: copies `data + n_embd * (il - 1)` into
///   `tensors[il]` for `il = 1 ..< n_layer` ("there's never a tensor for layer 0").
/// - the model graph builders (`src/models/*.cpp`, formerly `src/llama-model.cpp`): inside
///   `for (int il = 0; il < n_layer; ++il)`, after the block's final residual add,
///   `cur = build_cvec(cur, il)`; `src/llama-graph.cpp` defines that as
///   `cvec->apply_to(ctx0, cur, il)`, which `ggml_add`s `tensors[il]` when il is in range.
/// So `direction.n` ↔ block index n (0-based) ↔ `model.layers[n]`'s output; the output of block 0
/// cannot be steered, and n = n_layer - 1 is the last block. llama.cpp further limits steering
/// to `--control-vector-layer-range` (default: all layers from 1).
///
/// **Key types.** llama.cpp's `cvector-generator` writes `layer_count` as i32; repeng (via gguf-py)
/// writes it as u32. llama.cpp itself never reads it. This type writes i32 and reads any integer.
public struct ControlVector: Equatable, Sendable {
    public static let architecture = "controlvector"

    /// `controlvector.model_hint`.
    public var modelHint: String
    /// Direction per layer n ≥ 1 (see the layer numbering above); all of one length, `d_model`.
    public var directions: [Int: [Float]]
    /// `controlvector.layer_count` as read from a file (nil when absent or when built in code).
    public var declaredLayerCount: Int?

    public init(modelHint: String, directions: [Int: [Float]]) {
        self.modelHint = modelHint
        self.directions = directions
    }

    /// The vectors' length (nil when there are none).
    public var dModel: Int? { directions.values.first?.count }

    /// The steered layers, ascending.
    public var layers: [Int] { directions.keys.sorted() }

    /// Reads and validates a control vector written by llama.cpp, repeng/gguf-py or `write(to:)`.
    public static func read(from url: URL) throws -> ControlVector {
        let file = try GGUFFile(url: url)
        func bad(_ reason: String) -> FormatError { .invalidControlVector(path: url.path, reason: reason) }
        if let arch = file.metadata["general.architecture"] {
            guard arch.string == architecture else { throw bad("general.architecture is \(arch), not \"\(architecture)\"") }
        }
        var hint = ""
        if let value = file.metadata["\(architecture).model_hint"] {
            guard let s = value.string else { throw bad("\(architecture).model_hint is not a string") }
            hint = s
        }
        var declared: Int?
        if let value = file.metadata["\(architecture).layer_count"] {
            guard let n = value.integer else { throw bad("\(architecture).layer_count is not an integer") }
            declared = n
        }
        var directions: [Int: [Float]] = [:]
        var length: Int?
        for t in file.tensors {
            let parts = t.name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "direction", let n = Int(parts[1]), n >= 0,
                  parts[1].allSatisfy(\.isASCII) else {
                throw bad("tensor '\(t.name)' is not named direction.<layer>")
            }
            guard n >= 1 else { throw bad("tensor '\(t.name)': layer 0 cannot be steered (llama.cpp rejects it)") }
            guard t.ggmlType == 0 else { throw bad("tensor '\(t.name)' has ggml type \(t.ggmlType), not F32") }
            guard t.dimensions.count == 1 else { throw bad("tensor '\(t.name)' has \(t.dimensions.count) dimensions, not 1") }
            guard length == nil || length == t.dimensions[0] else {
                throw bad("tensor '\(t.name)' has \(t.dimensions[0]) values, others have \(length ?? 0)")
            }
            length = t.dimensions[0]
            guard let raw = file.rawBytes(t) else { throw bad("tensor '\(t.name)' data is unreadable") }
            directions[n] = (0..<t.dimensions[0]).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
        var vector = ControlVector(modelHint: hint, directions: directions)
        vector.declaredLayerCount = declared
        return vector
    }

    /// Writes the vector as GGUF v3 (atomically), in the key order and types of llama.cpp's
    /// `cvector-generator`: architecture, model_hint, layer_count (i32), then `direction.{n}`
    /// ascending, F32, 32-byte aligned.
    public func write(to url: URL) throws {
        func bad(_ reason: String) -> FormatError { .invalidWriteRequest(path: url.path, tensor: "direction", reason: reason) }
        guard directions.keys.allSatisfy({ $0 >= 1 }) else { throw bad("layer indices must be ≥ 1") }
        guard Set(directions.values.map(\.count)).count <= 1 else { throw bad("directions differ in length") }
        guard (dModel ?? 1) > 0 else { throw bad("directions are empty") }
        guard directions.count <= Int(Int32.max) else { throw bad("too many layers") }
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string(Self.architecture)),
            ("\(Self.architecture).model_hint", .string(modelHint)),
            ("\(Self.architecture).layer_count", .int32(Int32(directions.count))),
        ]
        let tensors = layers.map { (name: "direction.\($0)", dimensions: [directions[$0]?.count ?? 0], data: directions[$0] ?? []) }
        try GGUFFile.write(metadata: metadata, tensors: tensors, to: url)
    }
}
