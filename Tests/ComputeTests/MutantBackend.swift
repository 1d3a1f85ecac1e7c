import Compute
import Foundation
import ModelFormats

/// The CPU backend with one deliberate bug, to show that `checkAllOperations` catches each kind:
/// wrong masks, dropped terms, shifted indices, lost precision, swallowed errors.
final class MutantBackend: ComputeBackend {
    enum Mutation: String, CaseIterable {
        case windowOneWider, softcapIgnored, attentionInHalfPrecision, keysAndValuesSwapped, copySlotsOneShort
        case ropeTableRowShifted, ropeRotatesAllDimensions, biasDropped, linearInBFloat16, epsIgnored
        case activationsSwapped, accumulateDropsLastRow, gatherAtRowZero, projectOutFullStrength, addVectorUnscaled
        case eraseIgnoresBias, jobsSwallowErrors
        case inputGradientOverwrites, normBackwardOffsetIgnored, ropeBackwardRotatesForward, activationBackwardSwapped
        case softcapIgnoredInBackward, backwardWindowIgnored

        /// The operation whose check must fail.
        var operation: String {
            switch self {
            case .windowOneWider, .softcapIgnored, .attentionInHalfPrecision, .keysAndValuesSwapped, .copySlotsOneShort: return "attention"
            case .ropeTableRowShifted, .ropeRotatesAllDimensions: return "rope"
            case .biasDropped, .linearInBFloat16: return "linear"
            case .epsIgnored: return "rmsNorm"
            case .activationsSwapped: return "gatedActivation"
            case .accumulateDropsLastRow: return "accumulate"
            case .gatherAtRowZero: return "gather"
            case .projectOutFullStrength: return "projectOut"
            case .addVectorUnscaled: return "addVector"
            case .eraseIgnoresBias: return "erase"
            case .jobsSwallowErrors: return "jobs"
            case .inputGradientOverwrites: return "linearInputGradient"
            case .normBackwardOffsetIgnored: return "rmsNormBackward"
            case .ropeBackwardRotatesForward: return "ropeBackward"
            case .activationBackwardSwapped: return "gatedActivationBackward"
            case .softcapIgnoredInBackward, .backwardWindowIgnored: return "attentionBackward"
            }
        }
    }

    let base = CPUBackend()
    let mutation: Mutation

    init(_ mutation: Mutation) { self.mutation = mutation }

    var name: String { "mutant(\(mutation.rawValue))" }
    var threads: Int { get { base.threads } set { base.threads = newValue } }

    func tensor(rows: Int, cols: Int) -> Tensor { base.tensor(rows: rows, cols: cols) }
    func upload(_ values: UnsafeBufferPointer<Float>, rows: Int, cols: Int) -> Tensor { base.upload(values, rows: rows, cols: cols) }
    func read(_ t: Tensor, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) { base.read(t, rows: rows, into: out) }
    func write(_ values: UnsafePointer<Float>, rows: Range<Int>, of t: Tensor) { base.write(values, rows: rows, of: t) }
    func weight(_ data: WeightData, keepHalf: Bool) throws -> Weight { try base.weight(data, keepHalf: keepHalf) }
    func joined(_ parts: [Weight]) -> Weight? { base.joined(parts) }
    func kvStore(layers: Int, slots: Int, kvDim: Int) -> KVStore { base.kvStore(layers: layers, slots: slots, kvDim: kvDim) }
    func accumulator(rows: Int, cols: Int) -> Accumulator { base.accumulator(rows: rows, cols: cols) }
    func read(_ acc: Accumulator) -> [Double] { base.read(acc) }
    func embed(_ tokens: [Int], table: Weight, scale: Float?, into x: Tensor, row: Int) {
        base.embed(tokens, table: table, scale: scale, into: x, row: row)
    }
    func addBias(_ bias: Weight, to x: Tensor, rows: Range<Int>, column: Int) { base.addBias(bias, to: x, rows: rows, column: column) }
    func ropeTables(_ rope: RoPE, positions: [Int], sequenceLength: Int) -> RoPETables {
        base.ropeTables(mutation == .ropeRotatesAllDimensions ? RoPE(headDim: 16, base: 10_000) : rope, positions: positions,
                        sequenceLength: sequenceLength)
    }
    func add(_ x: Tensor, into y: Tensor, rows: Range<Int>) { base.add(x, into: y, rows: rows) }
    func softcap(_ x: Tensor, rows: Range<Int>, cap: Float) { base.softcap(x, rows: rows, cap: cap) }
    func scale(_ x: Tensor, rows: Range<Int>, by factor: Float) { base.scale(x, rows: rows, by: factor) }
    func copyRows(_ src: Tensor, from: Int, count: Int, into dst: Tensor, to: Int) {
        base.copyRows(src, from: from, count: count, into: dst, to: to)
    }

    func copySlots(from: KVStore, slots: Range<Int>, to: KVStore, at: Int) {
        base.copySlots(from: from, slots: mutation == .copySlotsOneShort ? slots.dropLast() : slots, to: to, at: at)
    }

    func rmsNorm(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight, offset: Float, eps: Float,
                 out: Tensor, outColumn: Int) {
        base.rmsNorm(x, rows: rows, column: column, width: width, groups: groups, weight: weight, offset: offset,
                     eps: mutation == .epsIgnored ? 0 : eps, out: out, outColumn: outColumn)
    }

    func linear(_ x: Tensor, rows: Range<Int>, xColumn: Int, weight: Weight, bias: Weight?, out: Tensor, column: Int) {
        base.linear(x, rows: rows, xColumn: xColumn, weight: weight, bias: mutation == .biasDropped ? nil : bias, out: out, column: column)
        if mutation == .linearInBFloat16 { round(out, rows: rows, columns: column..<(column + weight.rows)) { Float(bitPattern: UInt32(DTypeConversion.bf16($0)) << 16) } }
    }

    func rope(_ x: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int) {
        let shift = mutation == .ropeTableRowShifted && tableRow + rows.count < tables.count ? 1 : 0
        base.rope(x, rows: rows, column: column, heads: heads, headDim: headDim, tables: tables, tableRow: tableRow + shift)
    }

    func storeKeysValues(_ x: Tensor, rows: Range<Int>, keyColumn: Int, valueColumn: Int, slots: [Int], in kv: KVStore, layer: Int) {
        let swap = mutation == .keysAndValuesSwapped
        base.storeKeysValues(x, rows: rows, keyColumn: swap ? valueColumn : keyColumn, valueColumn: swap ? keyColumn : valueColumn,
                             slots: slots, in: kv, layer: layer)
    }

    func attention(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                   spec: AttentionSpec, out: Tensor) {
        var s = spec
        if mutation == .windowOneWider { s.window = spec.window.map { $0 + 1 } }
        if mutation == .softcapIgnored { s.softcap = nil }
        base.attention(q, column: column, queries: queries, layout: layout, kv: kv, layer: layer, spec: s, out: out)
        if mutation == .attentionInHalfPrecision {
            round(out, rows: 0..<queries.count, columns: 0..<out.cols) { WeightBytes.halfValue(DTypeConversion.f16($0)) }
        }
    }

    func gatedActivation(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, out: Tensor) {
        let swapped: MLPActivation = kind == .silu ? .geluTanh : .silu
        base.gatedActivation(x, rows: rows, width: width, kind: mutation == .activationsSwapped ? swapped : kind, out: out)
    }

    func gather(_ src: Tensor, rows: [Int], into dst: Tensor, row: Int) {
        base.gather(src, rows: rows, into: dst, row: mutation == .gatherAtRowZero ? 0 : row)
    }

    func projectOut(_ x: Tensor, rows: RowSet, unit: Tensor, strength: Float) {
        base.projectOut(x, rows: rows, unit: unit, strength: mutation == .projectOutFullStrength ? 1 : strength)
    }

    func addVector(_ vector: Tensor, scale: Float, to x: Tensor, rows: RowSet) {
        base.addVector(vector, scale: mutation == .addVectorUnscaled ? 1 : scale, to: x, rows: rows)
    }

    func erase(_ x: Tensor, rows: RowSet, left: Tensor, right: Tensor, bias: Tensor) {
        let zero = base.upload([Float](repeating: 0, count: bias.cols))
        base.erase(x, rows: rows, left: left, right: right, bias: mutation == .eraseIgnoresBias ? zero : bias)
    }

    func accumulate(_ x: Tensor, rows: [Int], into acc: Accumulator, targets: [Int]) {
        let n = mutation == .accumulateDropsLastRow ? rows.count - 1 : rows.count
        base.accumulate(x, rows: Array(rows.prefix(n)), into: acc, targets: Array(targets.prefix(n)))
    }

    func zero(_ x: Tensor, rows: Range<Int>) { base.zero(x, rows: rows) }

    func linearInputGradient(_ dy: Tensor, rows: Range<Int>, dyColumn: Int, weight: Weight, out: Tensor, column: Int,
                             accumulate: Bool) {
        base.linearInputGradient(dy, rows: rows, dyColumn: dyColumn, weight: weight, out: out, column: column,
                                 accumulate: mutation == .inputGradientOverwrites ? false : accumulate)
    }

    func rmsNormBackward(_ x: Tensor, rows: Range<Int>, column: Int, width: Int, groups: Int, weight: Weight, offset: Float,
                         eps: Float, gradient dy: Tensor, dyColumn: Int, out: Tensor, outColumn: Int, accumulate: Bool) {
        base.rmsNormBackward(x, rows: rows, column: column, width: width, groups: groups, weight: weight,
                             offset: mutation == .normBackwardOffsetIgnored ? 0 : offset, eps: eps, gradient: dy, dyColumn: dyColumn,
                             out: out, outColumn: outColumn, accumulate: accumulate)
    }

    func ropeBackward(_ dx: Tensor, rows: Range<Int>, column: Int, heads: Int, headDim: Int, tables: RoPETables, tableRow: Int) {
        if mutation == .ropeBackwardRotatesForward {
            base.rope(dx, rows: rows, column: column, heads: heads, headDim: headDim, tables: tables, tableRow: tableRow)
        } else {
            base.ropeBackward(dx, rows: rows, column: column, heads: heads, headDim: headDim, tables: tables, tableRow: tableRow)
        }
    }

    func gatedActivationBackward(_ x: Tensor, rows: Range<Int>, width: Int, kind: MLPActivation, gradient dy: Tensor, out: Tensor) {
        let swapped: MLPActivation = kind == .silu ? .geluTanh : .silu
        base.gatedActivationBackward(x, rows: rows, width: width, kind: mutation == .activationBackwardSwapped ? swapped : kind,
                                     gradient: dy, out: out)
    }

    func attentionBackward(_ q: Tensor, column: Int, queries: [Int], layout: SequenceLayout, kv: KVStore, layer: Int,
                           spec: AttentionSpec, outputGradient dOut: Tensor, queryGradient dq: Tensor, dqColumn: Int,
                           keyValueGradient dkv: Tensor, keyColumn: Int, valueColumn: Int) {
        var s = spec
        if mutation == .softcapIgnoredInBackward { s.softcap = nil }
        if mutation == .backwardWindowIgnored { s.window = nil }
        base.attentionBackward(q, column: column, queries: queries, layout: layout, kv: kv, layer: layer, spec: s,
                               outputGradient: dOut, queryGradient: dq, dqColumn: dqColumn, keyValueGradient: dkv,
                               keyColumn: keyColumn, valueColumn: valueColumn)
    }

    func jobs(_ count: Int, _ job: (Int) throws -> Void) throws {
        try base.jobs(count) { i in
            do { try job(i) } catch where mutation == .jobsSwallowErrors {}
        }
    }

    /// Rounds a block of `t` to a 16-bit format's precision, as a backend computing in that format would.
    private func round(_ t: Tensor, rows: Range<Int>, columns: Range<Int>, _ rounded: (Float) -> Float) {
        var values = base.read(t, rows: rows)
        for r in 0..<rows.count {
            for c in columns { values[r * t.cols + c] = rounded(values[r * t.cols + c]) }
        }
        values.withUnsafeBufferPointer { if let p = $0.baseAddress { base.write(p, rows: rows, of: t) } }
    }
}
