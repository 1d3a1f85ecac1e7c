import XCTest
import Compute
@testable import Models

/// The packed forward pass (no padding, shared prefix, late start, last-token-only final block)
/// against transformers' logits: a row that is a prefix of the fixture's `input_ids` must get the
/// logits transformers gives at that row's last position.
final class PackedForwardTests: XCTestCase {
    /// Row ends (exclusive) cut from `input_ids`, and the prefix they share.
    static let prefix = 6
    static let ends = [24, 15, 7, 13]

    func testPackedLogitsMatchTransformersForEveryFamily() throws {
        for name in FixtureModel.names {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids"), ref = try f.floats("logits")
            let v = model.config.vocabSize
            let shared = PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: Self.ends.map { Array(ids[Self.prefix..<$0]) })
            let alone = PackedGroup(prefix: [], rows: [Array(ids[0..<10]), Array(ids[0..<1])])
            let logits = try XCTUnwrap(try model.forwardPacked([shared, alone]))
            XCTAssertEqual(logits.count, 6 * v)
            for (i, end) in (Self.ends + [10, 1]).enumerated() {
                let diff = maxAbsDiff(Array(UnsafeBufferPointer(start: logits.pointer + i * v, count: v)),
                                      Array(ref[((end - 1) * v)..<(end * v)]))
                XCTAssertLessThan(diff, FidelityTests.tolerance, "\(name): row \(i) (first \(end) tokens) differs by \(diff)")
            }
        }
    }

    func testSharedPrefixLengthLeavesATokenInEveryRow() {
        XCTAssertEqual(PackedGroup.sharedPrefixLength([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 3]]), 2)
        XCTAssertEqual(PackedGroup.sharedPrefixLength([[1, 2, 3], [1, 2, 3]]), 2)
        XCTAssertEqual(PackedGroup.sharedPrefixLength([[1, 2], [3, 2]]), 0)
        XCTAssertEqual(PackedGroup.sharedPrefixLength([[7]]), 0)
        XCTAssertEqual(PackedGroup.sharedPrefixLength([]), 0)
        let g = PackedGroup(prompts: [[1, 2, 3, 4], [1, 2, 5]])
        XCTAssertEqual(g.prefix, [1, 2])
        XCTAssertEqual(g.rows, [[3, 4], [5]])
        XCTAssertEqual(g.tokenCount, 5)
    }

    /// Starting at block l from captured `resid_pre[l]` gives the logits of the full pass; groups with
    /// different start blocks can share a pass, and their logits come back in the caller's order.
    func testLateStartFromCapturedResidPre() throws {
        for name in ["qwen2", "gemma2", "phi3"] {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids")
            let v = model.config.vocabSize, d = model.config.hiddenSize, L = model.config.numLayers
            let rows = Self.ends.map { Array(ids[Self.prefix..<$0]) }
            let capture = PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: rows)
            let tokens = capture.tokenCount
            var saved: [Int: Tensor] = [:]
            for l in 0..<L { saved[l] = model.backend.tensor(rows: tokens, cols: d) }
            let copy = ActivationEdit(point: .residPre, op: .capture(Capture(rows: Array(0..<tokens), mode: .copy(saved))))
            let full = try XCTUnwrap(try model.forwardPacked([capture], extraEdits: [copy]))
            var groups: [PackedGroup] = []
            for l in (1..<L).reversed() {
                groups.append(PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: rows, startLayer: l, initialState: saved[l]))
            }
            groups.append(PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: rows))
            let late = try XCTUnwrap(try model.forwardPacked(groups))
            for k in groups.indices {
                let got = Array(UnsafeBufferPointer(start: late.pointer + k * rows.count * v, count: rows.count * v))
                let diff = maxAbsDiff(got, full.array), bound = roundingBound(model, got, full.array, tokens: Self.ends.max() ?? 1)
                XCTAssertLessThanOrEqual(diff, bound, "\(name): group \(k) (start \(groups[k].startLayer)) differs by \(diff)")
            }
        }
    }

    /// `logitRanges` return the logits of those rows (transformers' at those positions), and a pass whose
    /// groups all start above block 0 runs (it used to end at block 0 with no rows and return nothing).
    func testLogitRangesAndAPassOfLateGroupsOnly() throws {
        for name in ["qwen2", "llama"] {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids"), ref = try f.floats("logits")
            let v = model.config.vocabSize, d = model.config.hiddenSize
            var g = PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: [Array(ids[Self.prefix..<24]), Array(ids[Self.prefix..<9])])
            g.logitRanges = [4..<18, 0..<2]
            let positions = Array((Self.prefix + 4)..<24) + Array(Self.prefix..<(Self.prefix + 2))
            let state = model.backend.tensor(rows: g.tokenCount, cols: d)
            let copy = ActivationEdit(point: .residPre, layers: [1], op: .capture(Capture(rows: Array(0..<g.tokenCount), mode: .copy([1: state]))))
            let full = try XCTUnwrap(try model.forwardPacked([g], extraEdits: [copy]))
            XCTAssertEqual(full.count, positions.count * v)
            for (i, t) in positions.enumerated() {
                let diff = maxAbsDiff(Array(UnsafeBufferPointer(start: full.pointer + i * v, count: v)), Array(ref[(t * v)..<((t + 1) * v)]))
                XCTAssertLessThan(diff, FidelityTests.tolerance, "\(name): logit row \(i) (position \(t)) differs by \(diff)")
            }
            var late = g
            late.startLayer = 1
            late.initialState = state
            let resumed = try XCTUnwrap(try model.forwardPacked([late]), "\(name): a pass of late groups only")
            let diff = maxAbsDiff(resumed.array, full.array)
            XCTAssertLessThanOrEqual(diff, roundingBound(model, resumed.array, full.array, tokens: 24), "\(name): resumed pass differs by \(diff)")
            g.logitRanges = [0..<19, 0..<1]
            XCTAssertThrowsError(try model.forwardPacked([g])) { XCTAssertTrue("\($0)".contains("logit ranges")) }
        }
    }

    /// A group's edit changes only that group, and equals the same edit in `prefill`, including edits of
    /// the last block, which act on the rows' last tokens only.
    func testGroupHooksEqualPrefillHooks() throws {
        let f = try FixtureModel("llama")
        let model = try f.load()
        let ids = try f.ints("input_ids")
        let v = model.config.vocabSize, d = model.config.hiddenSize, L = model.config.numLayers
        let shift = (0..<d).map { Float($0 % 5) * 0.05 - 0.1 }
        let points: [(HookPoint, Int)] = [(.residPre, 1), (.attnOut, L - 1), (.mlpOut, L - 1), (.residMid, 0)]
        for (point, layer) in points {
            let edit = ActivationEdit(point: point, layers: [layer], op: .add(vector: shift, scale: 1))
            let steered = PackedGroup(prefix: Array(ids[0..<Self.prefix]), rows: Self.ends.map { Array(ids[Self.prefix..<$0]) },
                                      edits: [edit])
            let plain = PackedGroup(prompts: [Array(ids[0..<12])])
            let out = try XCTUnwrap(try model.forwardPacked([steered, plain]))
            // The same change through the host escape hatch, on every row of a plain prefill.
            let hooks = Hooks()
            hooks.add(point, layers: [layer]) { act in
                for r in 0..<act.rows.count { let v = act.vector(r); for i in 0..<v.count { v[i] += shift[i] } }
            }
            for (i, end) in Self.ends.enumerated() {
                let (_, want) = try model.prefill([Array(ids[0..<end])], hooks: hooks, logits: .last)
                let got = Array(UnsafeBufferPointer(start: out.pointer + i * v, count: v)), ref = try XCTUnwrap(want).array
                let diff = maxAbsDiff(got, ref)
                XCTAssertLessThanOrEqual(diff, roundingBound(model, got, ref, tokens: end), "\(point) at layer \(layer), row \(i): \(diff)")
            }
            let (_, clean) = try model.prefill([Array(ids[0..<12])], logits: .last)
            let got = Array(UnsafeBufferPointer(start: out.pointer + Self.ends.count * v, count: v)), ref = try XCTUnwrap(clean).array
            let diff = maxAbsDiff(got, ref)
            XCTAssertLessThanOrEqual(diff, roundingBound(model, got, ref, tokens: 12), "the unhooked group changed by \(diff)")
        }
    }

    func testStopAtLayerRunsHooksUpToThatBlock() throws {
        let model = try FixtureModel("qwen3").load()
        var layers: [Int] = []
        let g = PackedGroup(prompts: [[1, 2, 3], [1, 4]])
        let hook = ActivationEdit(point: .residPre, op: .callback { act in layers.append(act.layer) })
        XCTAssertNil(try model.forwardPacked([g], stopAtLayer: 1, extraEdits: [hook]))
        XCTAssertEqual(layers, [0, 1])
    }

    func testBadGroupsAreErrors() throws {
        let model = try FixtureModel("qwen2").load()
        let v = model.config.vocabSize
        let cases: [(PackedGroup, String)] = [
            (PackedGroup(prefix: [1], rows: []), "needs rows"),
            (PackedGroup(prefix: [1], rows: [[2], []]), "needs rows"),
            (PackedGroup(prefix: [], rows: [[1]], startLayer: 1), "initial state"),
            (PackedGroup(prefix: [], rows: [[1]], startLayer: 99, initialState: model.backend.tensor(rows: 1, cols: model.config.hiddenSize)), "start layer"),
            (PackedGroup(prefix: [v], rows: [[1]]), "outside the vocabulary"),
            (PackedGroup(prefix: [], rows: [[1, -1]]), "outside the vocabulary"),
        ]
        for (g, words) in cases {
            XCTAssertThrowsError(try model.forwardPacked([g])) { error in
                XCTAssertTrue("\(error)".contains(words), "\(error)")
            }
        }
        XCTAssertThrowsError(try model.forwardPacked([]))
    }

    /// Qwen-1 is exact only up to `seq_length`: longer sequences are refused by both forward passes.
    func testSequencesBeyondTheExactRangeAreErrors() throws {
        let model = try FixtureModel("qwen").load()
        let limit = try XCTUnwrap(model.config.maxSequenceLength)
        let long = Array(repeating: 1, count: limit + 1)
        XCTAssertThrowsError(try model.forwardPacked([PackedGroup(prefix: [1, 1], rows: [Array(long.dropFirst(2))])])) {
            XCTAssertTrue("\($0)".contains("exact range (\(limit))"), "\($0)")
        }
        XCTAssertThrowsError(try model.prefill([long])) { XCTAssertTrue("\($0)".contains("exact range"), "\($0)") }
        XCTAssertNotNil(try model.forwardPacked([PackedGroup(prefix: [1], rows: [Array(long.dropFirst(2))])]))
    }
}
