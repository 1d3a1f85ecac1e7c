import Compute
import Foundation

/// Checks of rotary embeddings, the key/value store and attention over `SequenceLayout`s.
extension BackendChecker {
    /// Full and partial rotary, linear and longrope scaling (short and long factors, attention factor),
    /// positions out of order, table rows offset from the tensor rows, q and k heads at column offsets.
    func checkRoPE() {
        let longrope = RoPE.Scaling.longrope(short: random.floats(6).map { 2 + $0 }, long: random.floats(6).map { 5 + 3 * $0 },
                                             originalMaxPositions: 64, attentionFactor: 1.19)
        let cases: [(String, partial: Float, base: Float, RoPE.Scaling, sequenceLength: Int)] = [
            ("full", 1, 10_000, .none, 42), ("partial 1/2", 0.5, 10_000, .none, 42), ("linear ×4", 1, 500_000, .linear(factor: 4), 42),
            ("longrope short, partial 3/4", 0.75, 10_000, longrope, 42), ("longrope long, partial 3/4", 0.75, 10_000, longrope, 100),
        ]
        let headDim = 16, positions = [7, 0, 3, 41, 12, 5, 26]
        for (what, partial, base, scaling, length) in cases {
            let rope = RoPE(headDim: headDim, partialRotaryFactor: partial, base: base, scaling: scaling)
            let tables = backend.ropeTables(rope, positions: positions, sequenceLength: length)
            require(tables.count == positions.count && tables.rotaryDim == rope.rotaryDim, "ropeTables \(what): \(tables.count) × \(tables.rotaryDim)")
            let rotary = ReferenceAttention.Rotary(rotaryDim: rope.rotaryDim, base: Double(base), scaling: scaling, sequenceLength: length)
            // [pad 2 | q: 3 heads | k: 2 heads | pad 1]
            var x = random.grid(6, 83, scale: 2)
            let xt = upload(x)
            backend.rope(xt, rows: 1..<5, column: 2, heads: 3, headDim: headDim, tables: tables, tableRow: 2)
            ReferenceAttention.rope(&x, rows: 1..<5, column: 2, heads: 3, headDim: headDim, rotary: rotary, positions: positions, tableRow: 2)
            backend.rope(xt, rows: 0..<4, column: 50, heads: 2, headDim: headDim, tables: tables, tableRow: 3)
            ReferenceAttention.rope(&x, rows: 0..<4, column: 50, heads: 2, headDim: headDim, rotary: rotary, positions: positions, tableRow: 3)
            expect(xt, x, "rope", what)
        }
    }

    /// A store whose every slot of every layer holds random keys and values, written by `storeKeysValues`
    /// from rows `1…` of a wider tensor (keys at column 2, values after a gap) in scrambled slot order.
    func filledStore(layers: Int, slots: Int, kvDim: Int) -> (KVStore, HostKV) {
        let store = backend.kvStore(layers: layers, slots: slots, kvDim: kvDim)
        require([store.layers, store.slots, store.kvDim] == [layers, slots, kvDim], "kvStore: shape")
        var host = HostKV(layers: layers, slots: slots, kvDim: kvDim)
        let order = Array(0..<slots).shuffled(using: &random)
        for layer in 0..<layers {
            let rows = random.grid(slots + 2, 5 + 2 * kvDim, scale: 1.5)
            backend.storeKeysValues(upload(rows), rows: 1..<(slots + 1), keyColumn: 2, valueColumn: 5 + kvDim, slots: order,
                                    in: store, layer: layer)
            ReferenceAttention.storeKeysValues(rows, rows: 1..<(slots + 1), keyColumn: 2, valueColumn: 5 + kvDim, slots: order,
                                               in: &host, layer: layer)
        }
        return (store, host)
    }

    /// Attention of `queries` (q heads at column 3 of a wider row) on layer 1 of a 2-layer store, into an
    /// output with one more row than queries (which must stay untouched).
    func attentionCase(_ what: String, _ spec: AttentionSpec, _ layout: SequenceLayout, queries: [Int], slots: Int,
                       store: (KVStore, HostKV)? = nil, layer: Int = 1) {
        precondition(layout.problem(slotCount: slots) == nil, "\(what): the test's own layout is invalid")
        let (kv, host) = store ?? filledStore(layers: 2, slots: slots, kvDim: spec.kvHeads * spec.headDim)
        let width = spec.heads * spec.headDim
        let q = random.grid(layout.rows, 3 + width + 2 * spec.kvHeads * spec.headDim, scale: 1.5)
        var out = random.grid(queries.count + 1, width)
        let ot = upload(out)
        backend.attention(upload(q), column: 3, queries: queries, layout: layout, kv: kv, layer: layer, spec: spec, out: ot)
        ReferenceAttention.attention(q, column: 3, queries: queries, layout: layout, kv: host, layer: layer, spec: spec, out: &out)
        expect(ot, out, "attention", what)
    }

    func checkAttention() {
        // Two prompts batched without padding, heads = kvHeads, head width 12 (SIMD block and tail).
        var batch = SequenceLayout()
        let first = batch.addContext([KVRun(slot: 0, position: 0, count: 5)]), second = batch.addContext([KVRun(slot: 6, position: 0, count: 4)])
        batch.addRows(count: 5, firstPosition: 0, firstSlot: 0, context: first)
        batch.addRows(count: 4, firstPosition: 0, firstSlot: 6, context: second)
        attentionCase("batch, MHA", AttentionSpec(heads: 2, kvHeads: 2, headDim: 12, scale: 1 / Float(12).squareRoot()), batch,
                      queries: Array(0..<9), slots: 11)

        // A shared prefix computed once and two prompts on top of it ([prefix, own run]); an unused empty context.
        var packed = SequenceLayout()
        let prefix = KVRun(slot: 0, position: 0, count: 4)
        let shared = packed.addContext([prefix])
        packed.addContext([])
        let a = packed.addContext([prefix, KVRun(slot: 4, position: 4, count: 3)])
        let b = packed.addContext([prefix, KVRun(slot: 7, position: 4, count: 5)])
        packed.addRows(count: 4, firstPosition: 0, firstSlot: 0, context: shared)
        packed.addRows(count: 3, firstPosition: 4, firstSlot: 4, context: a)
        packed.addRows(count: 5, firstPosition: 4, firstSlot: 7, context: b)
        attentionCase("shared prefix, GQA 2, softcap", AttentionSpec(heads: 4, kvHeads: 2, headDim: 16, scale: 0.5, softcap: 1.5),
                      packed, queries: Array((0..<12).reversed()), slots: 12)
        attentionCase("shared prefix, GQA 4, window 3, last rows", AttentionSpec(heads: 8, kvHeads: 2, headDim: 12, scale: 0.3, window: 3),
                      packed, queries: [3, 6, 11], slots: 12)

        // Contexts starting at later positions: one run from position 6; a cached run and the pass's own run.
        var later = SequenceLayout()
        let c1 = later.addContext([KVRun(slot: 2, position: 6, count: 5)])
        let c2 = later.addContext([KVRun(slot: 9, position: 3, count: 2), KVRun(slot: 14, position: 5, count: 3)])
        later.addRows(count: 5, firstPosition: 6, firstSlot: 2, context: c1)
        later.addRows(count: 3, firstPosition: 5, firstSlot: 14, context: c2)
        for window in [nil, 2] {
            attentionCase("contexts from later positions, window \(window.map(String.init) ?? "none")",
                          AttentionSpec(heads: 4, kvHeads: 2, headDim: 16, scale: 0.25, window: window), later, queries: Array(0..<8), slots: 18)
        }

        // Decode: one new row per sequence at the end of its grown run, GQA 4, window shorter than two sequences.
        var decode = SequenceLayout()
        for (slot, length) in [(0, 6), (8, 3), (12, 9)] {
            let c = decode.addContext([KVRun(slot: slot, position: 0, count: length)])
            decode.addRow(position: length - 1, slot: slot + length - 1, context: c)
        }
        for window in [nil, 4] {
            attentionCase("decode, GQA 4, window \(window.map(String.init) ?? "none")",
                          AttentionSpec(heads: 4, kvHeads: 1, headDim: 16, scale: 0.25, window: window), decode, queries: [0, 1, 2], slots: 21)
        }
        attentionCase("no queries", AttentionSpec(heads: 2, kvHeads: 1, headDim: 8, scale: 1), decode, queries: [], slots: 21)
        if includesLargeCases { checkLongAttention() }
    }

    func checkLongAttention() {
        // Long prompts, so a context's queries form several tiles (the CPU stacks ≤ 256 query heads per tile):
        // a shared prefix and two prompts packed after it, windows cutting tiles, queries out of order;
        // and two prompts batched with multi-head attention (one head per tile row).
        var long = SequenceLayout()
        let head = KVRun(slot: 0, position: 0, count: 70)
        let prefixContext = long.addContext([head])
        let first = long.addContext([head, KVRun(slot: 70, position: 70, count: 90)])
        let second = long.addContext([head, KVRun(slot: 160, position: 70, count: 40)])
        long.addRows(count: 70, firstPosition: 0, firstSlot: 0, context: prefixContext)
        long.addRows(count: 90, firstPosition: 70, firstSlot: 70, context: first)
        long.addRows(count: 40, firstPosition: 70, firstSlot: 160, context: second)
        let scrambled = Array(0..<200).shuffled(using: &random)
        for window in [nil, 37] {
            attentionCase("long packed prompts, GQA 4, window \(window.map(String.init) ?? "none"), softcap",
                          AttentionSpec(heads: 8, kvHeads: 2, headDim: 8, scale: 0.35, softcap: 5, window: window), long,
                          queries: scrambled, slots: 200)
        }
        var pair = SequenceLayout()
        let a = pair.addContext([KVRun(slot: 0, position: 0, count: 300)]), b = pair.addContext([KVRun(slot: 300, position: 0, count: 20)])
        pair.addRows(count: 300, firstPosition: 0, firstSlot: 0, context: a)
        pair.addRows(count: 20, firstPosition: 0, firstSlot: 300, context: b)
        attentionCase("300 + 20 prompts, MHA", AttentionSpec(heads: 2, kvHeads: 2, headDim: 8, scale: 0.35), pair,
                      queries: Array(0..<320), slots: 320)
    }

    /// Slots copied into a larger store at an offset, every layer, read through attention; neighbours keep their own.
    func checkCopySlots() {
        let kvDim = 12
        let (from, fromHost) = filledStore(layers: 2, slots: 8, kvDim: kvDim)
        let (to, original) = filledStore(layers: 2, slots: 12, kvDim: kvDim)
        var toHost = original
        backend.copySlots(from: from, slots: 2..<6, to: to, at: 7)
        ReferenceAttention.copySlots(from: fromHost, slots: 2..<6, to: &toHost, at: 7)
        var layout = SequenceLayout()
        let c = layout.addContext([KVRun(slot: 6, position: 0, count: 6)])
        layout.addRows(count: 6, firstPosition: 0, firstSlot: 6, context: c)
        for layer in 0..<2 {
            attentionCase("after copySlots, layer \(layer)", AttentionSpec(heads: 2, kvHeads: 1, headDim: kvDim, scale: 0.3), layout,
                          queries: Array(0..<6), slots: 12, store: (to, toHost), layer: layer)
        }
    }
}
