import Foundation
import ModelFormats

/// The tensors a weight export reads and writes: the source folder's, except that every MXFP4 pair
/// (`X_blocks` U8 `[experts, rows, cols/32, 16]` with `X_scales` `[experts, rows, cols/32]`, gpt-oss's
/// published experts) is replaced by its dequantized tensor `X` `[experts, cols, rows]` — the parameter
/// transformers builds from the pair — in BF16 (every MXFP4 value is a BF16 value) or the export's dtype,
/// so the export loads in transformers without `quantization_config`.
struct ExportSource {
    let store: WeightStore
    /// Dequantized name → its pair and shape.
    private let packed: [String: (blocks: String, scales: String, shape: [Int])]
    /// The dtype dequantized tensors are written in.
    let packedDType: DType
    /// Every tensor name of the export, sorted.
    let names: [String]
    /// The pairs' own names (not in the export).
    private let hidden: Set<String>

    init(store: WeightStore, dtype: DType?) throws {
        self.store = store
        packedDType = dtype ?? .bf16
        var packed: [String: (blocks: String, scales: String, shape: [Int])] = [:]
        for name in store.names where name.hasSuffix("_blocks") {
            let base = String(name.dropLast("_blocks".count)), scales = base + "_scales"
            guard store.contains(scales), try store.dtype(name) == .u8, [.u8, .f8e8m0].contains(try store.dtype(scales)) else { continue }
            let b = try store.shape(name), s = try store.shape(scales)
            guard b.count == 4, b[3] == MXFP4.blockBytes, Array(b.prefix(3)) == s, !store.contains(base) else {
                throw InterventionError.unsupportedModel(path: store.folder.path,
                    reason: "MXFP4 tensors '\(name)' \(b) and '\(scales)' \(s) do not pair as [E, rows, cols/32, 16] and [E, rows, cols/32]")
            }
            packed[base] = (name, scales, [b[0], b[2] * MXFP4.blockSize, b[1]])
        }
        self.packed = packed
        let pairs = Set(packed.values.flatMap { [$0.blocks, $0.scales] })
        hidden = pairs
        names = (store.names.filter { !pairs.contains($0) } + packed.keys).sorted()
    }

    /// Whether any tensor is dequantized (the config's `quantization_config` must then go).
    var dequantizes: Bool { !packed.isEmpty }

    func isPacked(_ name: String) -> Bool { packed[name] != nil }

    func contains(_ name: String) -> Bool { packed[name] != nil || (store.contains(name) && !hidden.contains(name)) }

    func shape(_ name: String) throws -> [Int] { try packed[name]?.shape ?? store.shape(name) }

    func dtype(_ name: String) throws -> DType {
        packed[name] != nil ? packedDType : try store.dtype(name)
    }

    /// Bytes the tensor takes in the export (before any dtype change of stored tensors).
    func byteCount(_ name: String) throws -> Int {
        if let p = packed[name] { return p.shape.reduce(packedDType.byteSize, *) }
        return try store.info(name).byteCount
    }

    func elementCount(_ name: String) throws -> Int { try shape(name).reduce(1, *) }

    /// The weight file a tensor goes to (a dequantized tensor: its blocks' file).
    func fileName(containing name: String) throws -> String { try store.fileName(containing: packed[name]?.blocks ?? name) }

    /// The tensor's values (a dequantized tensor decoded and transposed to `[experts, cols, rows]`).
    func floats(_ name: String) throws -> [Float] {
        guard let p = packed[name] else { return try store.floats(name) }
        let (e, cols, rows) = (p.shape[0], p.shape[1], p.shape[2])
        let blocks = try store.rawBytes(p.blocks), scales = try store.rawBytes(p.scales)
        guard let b = blocks.baseAddress, let s = scales.baseAddress else { return [] }
        var out = [Float](repeating: 0, count: e * cols * rows)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        defer { row.deallocate() }
        let groups = cols / MXFP4.blockSize
        withExtendedLifetime(store) {
            out.withUnsafeMutableBufferPointer { o in
                for x in 0..<e {
                    for r in 0..<rows {
                        let i = x * rows + r
                        MXFP4.decodeRow(blocks: b + i * groups * MXFP4.blockBytes, scales: s + i * groups, cols: cols, into: row)
                        for c in 0..<cols { o[(x * cols + c) * rows + r] = row[c] }
                    }
                }
            }
        }
        return out
    }
}
