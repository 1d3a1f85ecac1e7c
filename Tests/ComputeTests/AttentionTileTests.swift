@testable import Compute
import Foundation
import XCTest

/// How the CPU backend cuts attention into tiles, and that a query's result does not depend on the
/// tile it lands in: the same values bit for bit when its prompt is computed whole, alone, in another
/// order, or with its context's keys split into runs differently.
final class AttentionTileTests: XCTestCase {
    /// Tiles stack at most 256 query heads, follow position order, clip keys to what the members see.
    func testTilesFollowPositionsAndClipKeys() {
        var layout = SequenceLayout()
        let c = layout.addContext([KVRun(slot: 10, position: 0, count: 100)])
        layout.addRows(count: 100, firstPosition: 0, firstSlot: 10, context: c)
        let spec = AttentionSpec(heads: 8, kvHeads: 2, headDim: 4, scale: 1, window: 16)
        let tiles = AttentionTile.tiles(queries: Array((0..<100).reversed()), layout: layout, spec: spec)
        XCTAssertEqual(tiles.map(\.count), [64, 36])  // 256 stacked rows / 4 query heads per KV head
        // Members ascend by position (query indices descend, the queries being reversed).
        XCTAssertEqual(tiles[1].members.first, 35)
        XCTAssertEqual(tiles[1].members.last, 0)
        // The second tile holds positions 64…99 with a window of 16: keys 49…99, one segment.
        XCTAssertEqual(tiles[1].segments.count, 1)
        XCTAssertEqual(tiles[1].segments[0].slot, 10 + 49)
        XCTAssertEqual(tiles[1].keys, 51)
        XCTAssertEqual(tiles[1].visible.first, 0..<16)   // position 64 sees 49…64
        XCTAssertEqual(tiles[1].visible.last, 35..<51)   // position 99 sees 84…99
    }

    func testQueryResultIndependentOfTiling() {
        let backend = CPUBackend(), n = 90, hd = 16
        let spec = AttentionSpec(heads: 6, kvHeads: 2, headDim: hd, scale: 0.3, softcap: 4)
        var random = SeededRandom(seed: 11)
        let kvDim = 2 * hd, width = 6 * hd
        let kv = backend.kvStore(layers: 1, slots: n, kvDim: kvDim)
        let x = backend.upload(random.floats(n * (width + 2 * kvDim), scale: 2), rows: n)
        backend.storeKeysValues(x, rows: 0..<n, keyColumn: width, valueColumn: width + kvDim, slots: Array(0..<n), in: kv, layer: 0)
        func attend(_ runs: [KVRun], queries: [Int]) -> [[Float]] {
            var layout = SequenceLayout()
            layout.addRows(count: n, firstPosition: 0, firstSlot: 0, context: layout.addContext(runs))
            let out = backend.tensor(rows: queries.count, cols: width)
            backend.attention(x, column: 0, queries: queries, layout: layout, kv: kv, layer: 0, spec: spec, out: out)
            let values = backend.read(out)
            return (0..<queries.count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
        }
        let whole = attend([KVRun(slot: 0, position: 0, count: n)], queries: Array(0..<n))
        XCTAssertEqual(attend([KVRun(slot: 0, position: 0, count: n)], queries: [n - 1, 40])[0], whole[n - 1], "last query alone")
        XCTAssertEqual(attend([KVRun(slot: 0, position: 0, count: n)], queries: [n - 1, 40])[1], whole[40], "a middle query")
        XCTAssertEqual(attend([KVRun(slot: 0, position: 0, count: n)], queries: Array((0..<n).reversed())).reversed(), whole, "reversed")
        XCTAssertEqual(attend([KVRun(slot: 0, position: 0, count: 37), KVRun(slot: 37, position: 37, count: n - 37)],
                              queries: Array(0..<n)), whole, "keys in two runs")
    }
}
