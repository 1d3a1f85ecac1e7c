@testable import Compute
import Foundation
import ModelFormats
import XCTest

/// The CPU backend's results do not depend on its thread count: products split into blocks whose
/// sizes follow from the shapes, attention into tiles that follow from the layout, and an element is
/// computed the same way on any thread. Checked bit for bit on 1, 2 and 3 threads with every kernel
/// split even for small inputs.
final class ThreadCountTests: XCTestCase {
    func testOperationsBitIdenticalOnAnyThreadCount() throws {
        let backend = CPUBackend(), saved = (backend.threads, Parallel.minimumWork)
        defer { backend.threads = saved.0; Parallel.minimumWork = saved.1 }
        Parallel.minimumWork = 1
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            backend.threads = threads
            results.append(try run(backend))
        }
        XCTAssertEqual(results[1], results[0], "2 threads")
        XCTAssertEqual(results[2], results[0], "3 threads")
    }

    /// Linear layers (matrix-vector and blocked products, F32 and kept BF16), then attention over a long
    /// prompt (several tiles) and a decode step; every output concatenated.
    private func run(_ backend: CPUBackend) throws -> [Float] {
        var random = SeededRandom(seed: 7), keep: [WeightData] = [], out: [Float] = []
        let d = 48, rows = 300
        for dtype in [DType.f32, .bf16] {
            let (data, _) = WeightBytes.make("w", random.floats(rows * d), rows: rows, cols: d, dtype: dtype)
            keep.append(data)
            let w = try backend.weight(data, keepHalf: true)
            for m in [1, 3, 16, 600] {
                let x = backend.upload(random.floats(m * d), rows: m), y = backend.tensor(rows: m, cols: rows)
                backend.linear(x, rows: 0..<m, xColumn: 0, weight: w, bias: nil, out: y, column: 0)
                out += backend.read(y)
            }
        }
        let spec = AttentionSpec(heads: 8, kvHeads: 2, headDim: 16, scale: 0.25)
        let n = 150, kv = backend.kvStore(layers: 1, slots: n + 1, kvDim: 32)
        let qkv = backend.upload(random.floats((n + 1) * 192), rows: n + 1)
        backend.storeKeysValues(qkv, rows: 0..<(n + 1), keyColumn: 128, valueColumn: 160, slots: Array(0...n), in: kv, layer: 0)
        var prompt = SequenceLayout()
        prompt.addRows(count: n, firstPosition: 0, firstSlot: 0, context: prompt.addContext([KVRun(slot: 0, position: 0, count: n)]))
        var step = SequenceLayout()
        step.addRow(position: n, slot: n, context: step.addContext([KVRun(slot: 0, position: 0, count: n + 1)]))
        for (layout, queries) in [(prompt, Array(0..<n)), (step, [0])] {
            let o = backend.tensor(rows: queries.count, cols: 128)
            backend.attention(qkv, column: 0, queries: queries, layout: layout, kv: kv, layer: 0, spec: spec, out: o)
            out += backend.read(o)
        }
        return out
    }
}
