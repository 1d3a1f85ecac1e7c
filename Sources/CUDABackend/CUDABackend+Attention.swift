import CCUDA
import Compute
import Foundation

/// Attention over a `SequenceLayout` on the device (kernels `attention`, `attention_backward`).
extension CUDABackend {
    public func attention(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                          spec: AttentionSpec, out: Tensor) {
        launchAttention("attention", q, column: column, queries: queries, layout: layout, kv: kv, layer: layer, spec: spec,
                        [.pointer(cuda(out).buffer.pointer), .int(out.cols)])
    }

    /// Routed experts have no kernels yet: a mixture-of-experts model stops with a clear error.
    public func experts(_ x: Tensor, rows: Range<Int>, weights: ExpertWeights, spec: ExpertsSpec, out: Tensor) {
        run { throw CUDAError.unsupported("routed experts (Qwen3-MoE, Mixtral, gpt-oss); use --backend cpu") }
    }

    public func attentionBackward(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                                  spec: AttentionSpec, outputGradient dOut: Tensor, queryGradient dq: Tensor, dqColumn: Int,
                                  keyValueGradient dkv: Tensor, keyColumn: Int, valueColumn: Int) {
        launchAttention("attention_backward", q, column: column, queries: queries, layout: layout, kv: kv, layer: layer,
                        spec: spec, [.pointer(cuda(dOut).buffer.pointer), .int(dOut.cols), .pointer(cuda(dq).buffer.pointer),
                                     .int(dq.cols), .int(dqColumn), .pointer(cuda(dkv).buffer.pointer), .int(dkv.cols),
                                     .int(keyColumn), .int(valueColumn)])
    }

    /// One block per (query, head): the query tensor, the packed layout, the layer's keys and values, the spec,
    /// then the kernel's own outputs (`tail`).
    private func launchAttention(_ kernel: String, _ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout,
                                 kv: KVStore, layer: Int, spec: AttentionSpec, _ tail: [KernelArgument]) {
        guard !queries.isEmpty else { return }
        let store = cuda(kv)
        run {
            let packed = try AttentionLayout(queries: queries, layout: layout, spec: spec, device: device)
            try device.launch(kernel, grid: (queries.count, spec.heads), block: AttentionLayout.threads,
                              [.pointer(cuda(q).buffer.pointer), .int(q.cols), .int(column)] + packed.arguments
                                + [.pointer(store.keys(layer)), .pointer(store.values(layer)), .int(kv.kvDim)] + packed.spec + tail)
        }
    }
}

/// A layout as the attention kernels read it, in one device buffer of ints: per query its row, position and
/// context, then per context the start of its runs (CSR, one more entry than contexts), then per run its
/// slot, position and count.
struct AttentionLayout {
    /// Threads per (query, head) block (`ATT_THREADS` in the kernels).
    static let threads = 128
    /// The largest head_dim the kernels hold in shared memory (`ATT_MAX_HEAD_DIM`).
    static let maxHeadDim = 256

    let buffer: DeviceBuffer
    /// Pointers to the seven arrays, in the kernels' parameter order.
    let arguments: [KernelArgument]
    /// heads, kvHeads, headDim, scale, cap (0: none), window (0: none).
    let spec: [KernelArgument]

    init(queries: [Int], layout: SequenceLayout, spec s: AttentionSpec, device: CUDADevice) throws {
        // gpt-oss's sinks have no kernel yet: refuse rather than leave them out of the softmax.
        guard s.sinks == nil else { throw CUDAError.unsupported("attention sinks (gpt-oss); use --backend cpu") }
        guard s.headDim > 0, s.headDim <= Self.maxHeadDim else { throw CUDAError.unsupported("head_dim \(s.headDim) (at most 256)") }
        guard s.kvHeads > 0, s.heads % s.kvHeads == 0 else { throw CUDAError.unsupported("\(s.heads) heads over \(s.kvHeads) KV heads") }
        var runStart = [0], slots: [Int] = [], positions: [Int] = [], counts: [Int] = []
        for runs in layout.contexts {
            for r in runs { slots.append(r.slot); positions.append(r.position); counts.append(r.count) }
            runStart.append(slots.count)
        }
        let parts = [queries, queries.map { layout.positions[$0] }, queries.map { layout.contextOfRow[$0] }, runStart, slots,
                     positions, counts]
        buffer = try device.ints(parts.flatMap { $0 }, for: "an attention layout")
        var offset = 0, pointers: [KernelArgument] = []
        for part in parts {
            pointers.append(.pointer(buffer.at(offset * 4)))
            offset += part.count
        }
        arguments = pointers
        spec = [.int(s.heads), .int(s.kvHeads), .int(s.headDim), .float(s.scale), .float(s.softcap ?? 0), .int(s.window ?? 0)]
    }
}
