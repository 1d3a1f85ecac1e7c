import Foundation
import Compute

/// The one forward pass every command runs: prefill of a batch, a decode step and the packed scoring
/// passes are all `ForwardInput`s (layouts) of it. Blocks are computed as their `BlockSpec` declares,
/// with the backend's operations; edits (interventions as data) act at the hook points.
extension LanguageModel {
    /// Runs `input` with keys and values stored in `kv` (slots as the layout says); returns the logits of
    /// `input.logitRows` (`[logitRows.count × vocab]`, host memory), or nil when there are none or the
    /// pass stops early. With `stopAtLayer: l` the pass ends after the `resid_pre` edits of block `l`.
    ///
    /// In the last block only the logit rows are computed after attention (nothing else reaches the
    /// logits) unless an edit observes a later point of that block. `workspace` lends buffers kept from
    /// an earlier pass on this thread.
    public func forward(_ input: ForwardInput, kv: KVStore, edits: PreparedEdits? = nil, stopAtLayer: Int? = nil,
                        workspace: Workspace? = nil) throws -> FloatBuffer? {
        try forward(input, kv: kv, edits: edits, stopAtLayer: stopAtLayer, workspace: workspace, recorder: nil)
    }

    /// The forward pass, keeping what `recorder` asks for (`BackwardPass`): a recorded block computes
    /// its fused projections into its record and every row of the last block.
    func forward(_ input: ForwardInput, kv: KVStore, edits: PreparedEdits?, stopAtLayer: Int?, workspace: Workspace?,
                 recorder: ForwardRecorder?) throws -> FloatBuffer? {
        let c = config, L = c.numLayers, be = backend
        try input.validate(config: c, slots: kv.slots)
        guard kv.layers == L, kv.kvDim >= c.blocks.map(\.attention.kvDim).max() ?? 0 else {
            throw ModelError.badInput("forward: the key/value store does not fit this model")
        }
        let n = input.rows
        let ws = (workspace ?? Workspace(backend: be)).ensure(rows: n, config: c)
        let x = ws.x
        let seqLen = (input.layout.positions.max() ?? 0) + 1
        var tables: [Int: RoPETables] = [:]
        for b in c.blocks {
            if let r = b.attention.rope, tables[r] == nil {
                tables[r] = be.ropeTables(c.ropes[r], positions: input.layout.positions, sequenceLength: seqLen)
            }
        }
        let runner = EditRunner(edits: edits, input: input, backend: be)
        let end = min(L - 1, stopAtLayer ?? L - 1)
        var started = 0, active = 0
        for l in 0...end {
            while started < input.groups.count, input.groups[started].startLayer <= l {
                let g = input.groups[started]
                if let state = g.initialState, g.startLayer > 0 {
                    be.copyRows(state, from: 0, count: g.rows.count, into: x, to: g.rows.lowerBound)
                } else {
                    be.embed(Array(input.tokens[g.rows]), table: embedding, scale: c.embeddingScale, into: x, row: g.rows.lowerBound)
                }
                started += 1
                active = g.rows.upperBound
            }
            // Every group may start above this block (a pass of rows that all resume from a later `resid_pre`).
            if active == 0 { continue }
            let rows = 0..<active, spec = c.blocks[l], w = blocks[l], a = spec.attention
            runner.apply(.residPre, layer: l, to: x, count: active, map: nil)
            if l == stopAtLayer { return nil }
            let record = recorder?.record(layer: l)
            if let record { be.copyRows(x, from: 0, count: active, into: record.residPre, to: 0) }

            // Attention: norm, q/k/v, q/k norms, RoPE, keys and values into the store, attention.
            let attnIn = preNorm(w.inputNorm, stream: x, rows: rows, ws: ws)
            let qkv = record?.qkv ?? ws.qkv
            linear(w.qkv, bias: w.qkvBias, input: attnIn, rows: rows, out: qkv)
            if let qn = w.qNorm, let kn = w.kNorm, a.qkNorm != .none {
                let whole = a.qkNorm == .whole
                if let raw = record?.qkvRaw { be.copyRows(qkv, from: 0, count: active, into: raw, to: 0) }
                be.rmsNorm(qkv, rows: rows, column: 0, width: whole ? a.qDim : a.headDim, groups: whole ? 1 : a.heads, weight: qn,
                           offset: c.normWeightOffset, eps: c.normEps, out: qkv, outColumn: 0)
                be.rmsNorm(qkv, rows: rows, column: a.qDim, width: whole ? a.kvDim : a.headDim, groups: whole ? 1 : a.kvHeads,
                           weight: kn, offset: c.normWeightOffset, eps: c.normEps, out: qkv, outColumn: a.qDim)
            }
            if let r = a.rope, let t = tables[r] {
                be.rope(qkv, rows: rows, column: 0, heads: a.heads, headDim: a.headDim, tables: t, tableRow: 0)
                be.rope(qkv, rows: rows, column: a.qDim, heads: a.kvHeads, headDim: a.headDim, tables: t, tableRow: 0)
            }
            be.storeKeysValues(qkv, rows: rows, keyColumn: a.qDim, valueColumn: a.qDim + a.kvDim,
                               slots: Array(input.layout.slots[rows]), in: kv, layer: l)
            // In the last block only the logit rows matter once keys and values are stored (unless it is recorded).
            let compact = l == L - 1 && record == nil && !(edits?.observesAfterAttention(layer: l) ?? false)
            let queries = compact ? input.logitRows : Array(rows)
            if queries.isEmpty { break }
            be.attention(qkv, column: 0, queries: queries, layout: input.layout, kv: kv, layer: l, spec: a.spec(sinks: w.sinks),
                         out: ws.attn)
            var stream = x, m = active, map: [Int]? = nil
            if compact {
                be.gather(x, rows: queries, into: ws.compact, row: 0)
                stream = ws.compact; m = queries.count; map = queries
            }
            let part = 0..<m
            writeBack((w.o, w.oBias), postNorm: w.postAttentionNorm, multiplier: spec.residualMultiplier, input: ws.attn,
                      stream: stream, rows: part, ws: ws, runner: runner, layer: l, map: map, points: (.attnProj, .attnOut, .residMid),
                      record: record?.attnProj)
            if let record { be.copyRows(stream, from: 0, count: m, into: record.residMid, to: 0) }

            // MLP: a gated MLP, or routed experts (which write their summed output into ws.sub).
            let mlpIn = preNorm(w.preMLPNorm, stream: stream, rows: part, ws: ws)
            var down: (weight: Weight, bias: Weight?)?
            if case .gated(let width, let act) = spec.mlp, let dw = w.down {
                let gateUp = record?.gateUp ?? ws.gateUp
                linear(w.gateUp, bias: w.gateUpBias, input: mlpIn, rows: part, out: gateUp)
                be.gatedActivation(gateUp, rows: part, width: width, kind: act, out: ws.act)
                down = (dw, w.downBias)
            } else if let e = spec.mlp.experts, let ew = w.experts {
                be.experts(mlpIn, rows: part, weights: ew, spec: e, out: ws.sub)
            }
            writeBack(down, postNorm: w.postMLPNorm, multiplier: spec.residualMultiplier, input: ws.act,
                      stream: stream, rows: part, ws: ws, runner: runner, layer: l, map: map, points: (.mlpProj, .mlpOut, .residPost),
                      record: record?.mlpProj)
            if l == L - 1 { return logits(stream: stream, rows: map == nil ? input.logitRows : Array(0..<m), ws: ws) }
        }
        return nil
    }

    /// The sublayer input: the stream normalised into `ws.h`, or the stream itself when the block has no pre-norm.
    private func preNorm(_ weight: Weight?, stream: Tensor, rows: Range<Int>, ws: Workspace) -> Tensor {
        guard let weight else { return stream }
        backend.rmsNorm(stream, rows: rows, column: 0, width: config.hiddenSize, groups: 1, weight: weight,
                        offset: config.normWeightOffset, eps: config.normEps, out: ws.h, outColumn: 0)
        return ws.h
    }

    /// The parts of a fused projection side by side in `out`, then its bias.
    private func linear(_ parts: [Weight], bias: Weight?, input: Tensor, rows: Range<Int>, out: Tensor) {
        backend.linear(input, rows: rows, xColumn: 0, parts: parts, out: out, column: 0)
        if let bias { backend.addBias(bias, to: out, rows: rows, column: 0) }
    }

    /// What a sublayer writes into the stream: output projection (+ bias) of `input` into `ws.sub` (nil
    /// `projection`: the sublayer wrote its output there itself), edits before and after a post-norm (and
    /// the residual multiplier), the residual add, and the edits on the stream.
    private func writeBack(_ projection: (weight: Weight, bias: Weight?)?, postNorm: Weight?, multiplier: Float?, input: Tensor,
                           stream: Tensor, rows: Range<Int>,
                           ws: Workspace, runner: EditRunner, layer: Int, map: [Int]?,
                           points: (proj: HookPoint, out: HookPoint, resid: HookPoint), record: Tensor?) {
        let be = backend, c = config
        if let p = projection { be.linear(input, rows: rows, xColumn: 0, weight: p.weight, bias: p.bias, out: ws.sub, column: 0) }
        runner.apply(points.proj, layer: layer, to: ws.sub, count: rows.count, map: map)
        if let record { be.copyRows(ws.sub, from: rows.lowerBound, count: rows.count, into: record, to: rows.lowerBound) }
        if let pn = postNorm {
            be.rmsNorm(ws.sub, rows: rows, column: 0, width: c.hiddenSize, groups: 1, weight: pn, offset: c.normWeightOffset,
                       eps: c.normEps, out: ws.sub, outColumn: 0)
        }
        if let m = multiplier { be.scale(ws.sub, rows: rows, by: m) }
        runner.apply(points.out, layer: layer, to: ws.sub, count: rows.count, map: map)
        be.add(ws.sub, into: stream, rows: rows)
        runner.apply(points.resid, layer: layer, to: stream, count: rows.count, map: map)
    }

    /// Final norm and output head (with soft-capping) of `rows` of `stream`, read back to the host.
    private func logits(stream: Tensor, rows: [Int], ws: Workspace) -> FloatBuffer? {
        guard !rows.isEmpty else { return nil }
        let be = backend, c = config, m = rows.count
        let h = ws.head(rows: m)
        be.gather(stream, rows: rows, into: h, row: 0)
        be.rmsNorm(h, rows: 0..<m, column: 0, width: c.hiddenSize, groups: 1, weight: finalNorm, offset: c.normWeightOffset,
                   eps: c.normEps, out: h, outColumn: 0)
        let out = ws.logits(rows: m, vocab: c.vocabSize)
        be.linear(h, rows: 0..<m, xColumn: 0, weight: outputHead, bias: nil, out: out, column: 0)
        if let div = c.logitDivisor { be.scale(out, rows: 0..<m, by: 1 / div) }
        if let cap = c.finalLogitSoftcap { be.softcap(out, rows: 0..<m, cap: cap) }
        let host = FloatBuffer(uninitializedCount: m * c.vocabSize)
        be.read(out, rows: 0..<m, into: host.pointer)
        return host
    }
}

/// Applies prepared edits at a hook point to the rows a tensor holds: `count` rows that are the pass's
/// rows `0..<count`, or (in a compacted last block) the pass rows `map[i]`.
struct EditRunner {
    let edits: PreparedEdits?
    let input: ForwardInput
    let backend: ComputeBackend
    /// Group of every pass row (only built when an edit is scoped to groups).
    let groupOfRow: [Int]

    init(edits: PreparedEdits?, input: ForwardInput, backend: ComputeBackend) {
        self.edits = edits; self.input = input; self.backend = backend
        var g = [Int](repeating: 0, count: edits == nil || edits!.isEmpty ? 0 : input.rows)
        if !g.isEmpty { for (k, group) in input.groups.enumerated() { for r in group.rows { g[r] = k } } }
        groupOfRow = g
    }

    func apply(_ point: HookPoint, layer: Int, to t: Tensor, count: Int, map: [Int]?) {
        guard let edits else { return }
        for e in edits.entries(point, layer) {
            let rows = resolve(e.edit.rows, count: count, map: map)
            if rows.count == 0 { continue }
            switch e.edit.op {
            case .projectOut(_, let s):
                if let u = e.vector { backend.projectOut(t, rows: rows, unit: u, strength: s) }
            case .add(_, let scale):
                if let v = e.vector { backend.addVector(v, scale: scale, to: t, rows: rows) }
            case .erase:
                if let m = e.eraser { backend.erase(t, rows: rows, left: m.left, right: m.right, bias: m.bias) }
            case .capture(let cap):
                capture(cap, layer: layer, from: t, count: count, map: map)
            case .callback(let fn):
                callback(fn, point: point, layer: layer, tensor: t, rows: rows, map: map)
            }
        }
    }

    /// Tensor rows an edit touches.
    func resolve(_ rows: EditRows, count: Int, map: [Int]?) -> RowSet {
        switch rows {
        case .all:
            return .range(0..<count)
        case .groups(let gs):
            if map == nil, gs.count == 1, gs[0] < input.groups.count {
                let r = input.groups[gs[0]].rows
                return .range(r.lowerBound..<min(r.upperBound, max(r.lowerBound, count)))
            }
            let wanted = Set(gs)
            return .list((0..<count).filter { wanted.contains(groupOfRow[map?[$0] ?? $0]) })
        }
    }

    private func capture(_ cap: Capture, layer: Int, from t: Tensor, count: Int, map: [Int]?) {
        // Tensor row of each captured pass row (rows not in the tensor are skipped).
        var position: [Int: Int] = [:]
        if let map { for (i, r) in map.enumerated() { position[r] = i } }
        var rows: [Int] = [], which: [Int] = []
        for (k, r) in cap.rows.enumerated() {
            let tr = map == nil ? (r < count ? r : nil) : position[r]
            if let tr { rows.append(tr); which.append(k) }
        }
        switch cap.mode {
        case let .sum(acc, targets, stride):
            backend.accumulate(t, rows: rows, into: acc, targets: which.map { targets[$0] + layer * stride })
        case .copy(let tensors):
            if let dst = tensors[layer] { backend.gather(t, rows: rows, into: dst, row: 0) }
        }
    }

    private func callback(_ fn: (Activation) -> Void, point: HookPoint, layer: Int, tensor t: Tensor, rows: RowSet, map: [Int]?) {
        let list: [Int]
        switch rows { case .range(let r): list = Array(r); case .list(let l): list = l }
        let w = t.cols
        let host = UnsafeMutablePointer<Float>.allocate(capacity: max(1, list.count * w))
        defer { host.deallocate() }
        for (i, r) in list.enumerated() { backend.read(t, rows: r..<(r + 1), into: host + i * w) }
        fn(Activation(layer: layer, point: point, width: w, data: host, rows: list.map { input.info[map?[$0] ?? $0] }))
        for (i, r) in list.enumerated() { backend.write(host + i * w, rows: r..<(r + 1), of: t) }
    }
}
