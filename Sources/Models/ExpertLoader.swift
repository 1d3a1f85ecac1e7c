import Foundation
import Compute
import ModelFormats

/// Reads a routed-experts MLP into the backend in the layout `ComputeBackend.experts` uses: per expert a
/// `[gate | up]` projection `[2·width, d]` (or its two halves) and a down projection `[d, width]`,
/// biases as `[experts, n]` Float32 rows.
///
/// gpt-oss's fused, transposed tensors are transposed and their interleaved gate/up columns split into
/// halves (one copy at load, in the file's 16-bit dtype with `--weights bf16`, Float32 otherwise); its
/// MXFP4 tensors are dequantized on load (`MXFP4`) to BF16 with `--weights bf16` (exact: every MXFP4
/// value is a BF16 value) or Float32.
extension WeightLoader {
    func experts(_ t: ExpertTensors, spec s: ExpertsSpec, d: Int) throws -> ExpertWeights {
        let e = s.experts, f = s.width
        let router = try matrix(t.router, rows: e, cols: d)
        let routerBias = try t.routerBias.map { try vector($0, count: e) }
        var gateUp: [[Weight]] = [], down: [Weight] = []
        var interleaved = false
        switch t.layout {
        case let .perExpert(gates, ups, downs):
            guard gates.count == e, ups.count == e, downs.count == e else {
                throw ModelError.badInput("\(t.router): \(gates.count) expert tensors named for \(e) experts")
            }
            for x in 0..<e {
                gateUp.append(try stacked([gates[x], ups[x]], rows: [f, f], cols: d))
                down.append(try matrix(downs[x], rows: d, cols: f))
            }
        case let .fusedTransposed(gu, dn):
            interleaved = true
            gateUp = try transposedExperts(gu, experts: e, rows: 2 * f, cols: d, interleaved: true).map { [$0] }
            down = try transposedExperts(dn, experts: e, rows: d, cols: f, interleaved: false)
        case let .mxfp4(gu, dn):
            interleaved = true
            gateUp = try packedExperts(gu, experts: e, rows: 2 * f, cols: d, interleaved: true).map { [$0] }
            down = try packedExperts(dn, experts: e, rows: d, cols: f, interleaved: false)
        }
        let gateUpBias = try t.gateUpBias.map { try biasRows($0, experts: e, width: 2 * f, interleaved: interleaved) }
        let downBias = try t.downBias.map { try biasRows($0, experts: e, width: d, interleaved: false) }
        return ExpertWeights(router: router, routerBias: routerBias, gateUp: gateUp, gateUpBias: gateUpBias, down: down,
                             downBias: downBias)
    }

    /// Source row of output row `j` of a `[gate | up]` matrix whose gate and up rows alternate.
    static func deinterleaved(_ j: Int, rows: Int) -> Int { j < rows / 2 ? 2 * j : 2 * (j - rows / 2) + 1 }

    /// `[experts, cols, rows]` (transposed `nn.Linear` weights) as one `[rows, cols]` weight per expert.
    private func transposedExperts(_ name: String, experts e: Int, rows: Int, cols: Int, interleaved: Bool) throws -> [Weight] {
        let (t, dtype) = try raw(name, shape: [e, cols, rows])
        let keep = precision == .bf16 && dtype != .f32
        guard let base = t.bytes.baseAddress else { return [] }
        return try withExtendedLifetime(t.owner) {
            try (0..<e).map { x in
                let out = ExpertMatrix(count: rows * cols, dtype: keep ? dtype : .f32)
                let source = base + x * rows * cols * dtype.byteSize
                for j in 0..<rows {
                    let r = interleaved ? Self.deinterleaved(j, rows: rows) : j
                    for c in 0..<cols { out.set(j * cols + c, from: source, index: c * rows + r, dtype: dtype) }
                }
                return try out.weight("\(name)[\(x)]", rows: rows, cols: cols, backend: backend)
            }
        }
    }

    /// The MXFP4 pair `<name>_blocks` `[experts, rows, cols/32, 16]` and `<name>_scales` `[experts, rows, cols/32]`
    /// dequantized, as one `[rows, cols]` weight per expert.
    private func packedExperts(_ name: String, experts e: Int, rows: Int, cols: Int, interleaved: Bool) throws -> [Weight] {
        let blocksName = name + ExpertLayout.blocksSuffix, scalesName = name + ExpertLayout.scalesSuffix
        guard cols % MXFP4.blockSize == 0 else {
            throw ModelError.badInput("tensor \(blocksName): \(cols) inputs per row is not a multiple of the MXFP4 block size 32")
        }
        let groups = cols / MXFP4.blockSize
        let blocks = try bytes(blocksName, shape: [e, rows, groups, MXFP4.blockBytes], dtypes: ["U8"])
        let scales = try bytes(scalesName, shape: [e, rows, groups], dtypes: ["U8", "F8_E8M0"])
        guard let b = blocks.bytes.baseAddress, let s = scales.bytes.baseAddress else { return [] }
        let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        defer { row.deallocate() }
        return try withExtendedLifetime((blocks.owner, scales.owner)) {
            try (0..<e).map { x in
                let out = ExpertMatrix(count: rows * cols, dtype: precision == .bf16 ? .bf16 : .f32)
                for j in 0..<rows {
                    let r = x * rows + (interleaved ? Self.deinterleaved(j, rows: rows) : j)
                    MXFP4.decodeRow(blocks: b + r * groups * MXFP4.blockBytes, scales: s + r * groups, cols: cols, into: row)
                    out.set(row: j, cols: cols, from: row)
                }
                return try out.weight("\(name)[\(x)]", rows: rows, cols: cols, backend: backend)
            }
        }
    }

    /// `[experts, width]` biases as a Float32 `[experts, width]` weight (interleaved gate/up columns split into halves).
    private func biasRows(_ name: String, experts e: Int, width: Int, interleaved: Bool) throws -> Weight {
        var values = try floats(name, shape: [e, width])
        if interleaved {
            let source = values
            for x in 0..<e {
                for j in 0..<width { values[x * width + j] = source[x * width + Self.deinterleaved(j, rows: width)] }
            }
        }
        let owner = OwnedFloats(values)
        return try backend.weight(WeightData(name: name, dtype: .f32, rows: e, cols: width,
                                             bytes: UnsafeRawBufferPointer(start: owner.pointer, count: values.count * 4),
                                             owner: owner), keepHalf: false)
    }
}

/// An expert matrix built at load (transposed or dequantized), Float32 or 16-bit, owning its bytes.
final class ExpertMatrix {
    let dtype: DType
    let raw: UnsafeMutableRawPointer
    let count: Int

    init(count: Int, dtype: DType) {
        self.count = count; self.dtype = dtype
        raw = .allocate(byteCount: max(1, count * dtype.byteSize), alignment: 64)
    }

    deinit { raw.deallocate() }

    /// Element `i` from element `index` of `source` (of `sourceType`): the same bits when the dtypes
    /// agree, else converted to Float32.
    @inline(__always)
    func set(_ i: Int, from source: UnsafeRawPointer, index: Int, dtype sourceType: DType) {
        switch (dtype, sourceType) {
        case (.f32, .f32):
            raw.storeBytes(of: source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self), toByteOffset: i * 4, as: UInt32.self)
        case (.f32, .bf16):
            let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
            raw.storeBytes(of: DTypeConversion.float(bf16: bits), toByteOffset: i * 4, as: Float.self)
        case (.f32, .f16):
            let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
            raw.storeBytes(of: DTypeConversion.float(f16: bits), toByteOffset: i * 4, as: Float.self)
        default:
            raw.storeBytes(of: source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self), toByteOffset: i * 2, as: UInt16.self)
        }
    }

    /// Row `j` from Float32 values (rounded to BF16 when this matrix is BF16: exact for MXFP4 values).
    func set(row j: Int, cols: Int, from values: UnsafePointer<Float>) {
        if dtype == .f32 {
            (raw.assumingMemoryBound(to: Float.self) + j * cols).update(from: values, count: cols)
        } else {
            let out = raw.assumingMemoryBound(to: UInt16.self) + j * cols
            for c in 0..<cols { out[c] = DTypeConversion.bf16(values[c]) }
        }
    }

    func weight(_ name: String, rows: Int, cols: Int, backend: ComputeBackend) throws -> Weight {
        try backend.weight(WeightData(name: name, dtype: dtype, rows: rows, cols: cols,
                                      bytes: UnsafeRawBufferPointer(start: raw, count: count * dtype.byteSize), owner: self),
                           keepHalf: dtype != .f32)
    }
}
