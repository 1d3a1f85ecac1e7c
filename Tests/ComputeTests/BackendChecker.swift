import Compute
import Foundation
import ModelFormats
import XCTest

/// Checks every operation of `backend` against the Float64 reference (`ReferenceOps`,
/// `ReferenceAttention`) on seeded random inputs, with error bounds that follow from Float32
/// arithmetic, not from any kernel or thread count. Checking a new backend is one call in a test.
/// Returns, per operation, the largest observed error as a fraction of its bound.
@discardableResult
func checkAllOperations(_ backend: ComputeBackend, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Double] {
    let checker = BackendChecker(backend) { XCTFail($0, file: file, line: line) }
    try checker.checkAll()
    return checker.worst
}

/// The state of one `checkAllOperations` run: the backend, the random inputs, the worst error ratios.
/// The checks themselves are grouped in extensions (blocks, attention).
final class BackendChecker {
    let backend: ComputeBackend
    var random = SeededRandom(seed: 0x57EE_2026)
    /// Per operation, the largest |error| / bound seen (≤ 1 passes).
    private(set) var worst: [String: Double] = [:]
    /// Whether to run the one large case (a 1M-element weight, most of the run time).
    var includesLargeCases = true
    /// Where failures go: `XCTFail` at the caller's line, or a list when the checker itself is tested.
    private let report: (String) -> Void
    /// Weight bytes live as long as the checker: a backend may keep 16-bit or F32 weights mapped.
    private var weightBytes: [WeightData] = []

    init(_ backend: ComputeBackend, report: @escaping (String) -> Void) {
        self.backend = backend; self.report = report
    }

    func checkAll() throws {
        require(!backend.name.isEmpty, "an empty name")
        checkMemory()
        try checkWeights()
        try checkRMSNorm()
        try checkLinear()
        try checkJoined()
        try checkLinearParts()
        try checkElementwise()
        checkInterventions()
        checkErase()
        checkRoPE()
        checkAttention()
        checkCopySlots()
        try checkBackward()
        try checkJobs()
        // The mixture-of-experts operations last, so that the inputs of the checks above stay as they were.
        try checkExperts()
        checkSinks()
        checkYaRN()
    }

    // MARK: Helpers

    /// Reports `message` (prefixed by the backend's name) unless `condition` holds.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { report("\(backend.name): \(message())") }
    }

    func upload(_ g: Grid) -> Tensor {
        g.floats.withUnsafeBufferPointer { backend.upload($0, rows: g.rows, cols: g.cols) }
    }

    /// A weight made from file bytes of `dtype` (`first` values, then random ones of size `scale`), and the
    /// values the backend must use.
    func weight(_ name: String, rows: Int, cols: Int, dtype: DType = .f32, keepHalf: Bool = false,
                misaligned: Bool = false, scale: Float = 1, first: [Float] = []) throws -> (weight: Weight, values: Grid) {
        let floats = first + random.floats(rows * cols - first.count, scale: scale)
        let (data, values) = WeightBytes.make(name, floats, rows: rows, cols: cols, dtype: dtype, misaligned: misaligned)
        weightBytes.append(data)
        return (try backend.weight(data, keepHalf: keepHalf), values)
    }

    /// Fails unless every element of `t` is within its bound of `want` (bit-exact where the bound is 0).
    func expect(_ t: Tensor, _ want: Grid, _ op: String, _ what: String) {
        require(t.rows == want.rows && t.cols == want.cols, "\(op) \(what): shape \(t.rows) × \(t.cols)")
        compare(backend.read(t).map(Double.init), want, op, what)
    }

    /// Element by element: `|got − value| ≤ bound`; a 0 bound demands equality, sign of zero included
    /// (no NaN passes).
    func compare(_ got: [Double], _ want: Grid, _ op: String, _ what: String) {
        guard got.count == want.values.count else {
            return require(false, "\(op) \(what): \(got.count) values, want \(want.values.count)")
        }
        var failures = 0, ratio = 0.0
        for i in 0..<got.count {
            let error = abs(got[i] - want.values[i]), bound = want.bounds[i]
            if bound > 0 { ratio = max(ratio, error / bound) }
            guard !(bound > 0 ? error <= bound : got[i] == want.values[i] && got[i].sign == want.values[i].sign) else { continue }
            failures += 1
            if failures <= 3 {
                require(false, "\(op) \(what): [\(i / want.cols), \(i % want.cols)] = \(got[i]), want \(want.values[i]) ± \(bound)")
            }
        }
        require(failures <= 3, "\(op) \(what): \(failures) elements outside their bounds")
        worst[op] = max(worst[op] ?? 0, ratio)
    }

    /// `rows` of a grid as a grid.
    func slice(_ g: Grid, rows: Range<Int>) -> Grid {
        Grid(rows: rows.count, cols: g.cols, floats: Array(g.values[(rows.lowerBound * g.cols)..<(rows.upperBound * g.cols)]).map { Float($0) })
    }

    // MARK: Memory and weights

    /// tensor / upload / write / read: exact, rows not starting at 0 included.
    func checkMemory() {
        var a = random.grid(5, 7)
        let t = backend.tensor(rows: 5, cols: 7)
        require(t.rows == 5 && t.cols == 7, "tensor(rows: 5, cols: 7) is \(t.rows) × \(t.cols)")
        a.floats.withUnsafeBufferPointer { if let p = $0.baseAddress { backend.write(p, rows: 0..<5, of: t) } }
        expect(t, a, "write/read", "all rows")
        let patch = random.grid(2, 7)
        patch.floats.withUnsafeBufferPointer { if let p = $0.baseAddress { backend.write(p, rows: 2..<4, of: t) } }
        for r in 0..<2 { for c in 0..<7 { a.set(2 + r, c, patch[r, c], bound: 0) } }
        expect(t, a, "write/read", "rows 2..<4 rewritten")
        compare(backend.read(t, rows: 1..<4).map(Double.init), slice(a, rows: 1..<4), "write/read", "rows 1..<4")
        require(backend.read(t, rows: 3..<3).isEmpty, "read of no rows")
        expect(upload(a), a, "upload", "round trip")
    }

    /// Every dtype, kept 16-bit or converted, at aligned and odd addresses: shape, dtype, and values read
    /// back bit-exactly through `embed` (16-bit values widen exactly; signed zeros, subnormals and the
    /// largest finite values of each format lead the table); then `embed`'s scale and row offset;
    /// a weight with too few bytes is a `badWeight` error naming it.
    func checkWeights() throws {
        for dtype in [DType.f32, .bf16, .f16] {
            for keepHalf in [false, true] {
                for misaligned in [false, true] {
                    let what = "\(dtype) keepHalf=\(keepHalf) misaligned=\(misaligned)"
                    let (w, values) = try weight("table", rows: 37, cols: 21, dtype: dtype, keepHalf: keepHalf, misaligned: misaligned,
                                                 first: Self.extremes[dtype] ?? [])
                    require(w.rows == 37 && w.cols == 21, "weight \(what): shape \(w.rows) × \(w.cols)")
                    require(w.dtype == (keepHalf ? dtype : .f32), "weight \(what): held as \(w.dtype)")
                    var x = random.grid(39, 21)
                    let xt = upload(x)
                    backend.embed(Array((0..<37).reversed()), table: w, scale: nil, into: xt, row: 1)
                    ReferenceOps.embed(Array((0..<37).reversed()), table: values, scale: nil, into: &x, row: 1)
                    expect(xt, x, "weight", what)
                }
            }
        }
        for dtype in [DType.f32, .bf16] {
            let (table, values) = try weight("embed", rows: 11, cols: 20, dtype: dtype, keepHalf: true)
            var x = random.grid(7, 20)
            let xt = upload(x), tokens = [3, 0, 10, 3]
            backend.embed(tokens, table: table, scale: Float(20).squareRoot(), into: xt, row: 2)
            ReferenceOps.embed(tokens, table: values, scale: Float(20).squareRoot(), into: &x, row: 2)
            expect(xt, x, "embed", "\(dtype) scaled, repeated tokens, from row 2")
        }
        var (data, _) = WeightBytes.make("short", random.floats(16), rows: 4, cols: 4, dtype: .f32)
        weightBytes.append(data)
        data.bytes = UnsafeRawBufferPointer(rebasing: data.bytes[0..<60])
        do {
            _ = try backend.weight(data, keepHalf: false)
            require(false, "a weight with 60 of 64 bytes was accepted")
        } catch {
            guard case .badWeight(let name, _)? = error as? ComputeError else { return require(false, "short weight: \(error)") }
            require(name == "short", "short weight: the error names \(name)")
        }
    }

    /// Values at the edges of each format: zeros of both signs, subnormals, the smallest normal, the largest finite.
    static let extremes: [DType: [Float]] = [
        .f32: [0, -0.0, 1e-45, -3e-39, 1.1754944e-38, .greatestFiniteMagnitude, -.greatestFiniteMagnitude],
        .bf16: [0, -0.0, 1e-40, -2e-39, 1.1754944e-38, 3.3e38, -3.3e38],
        .f16: [0, -0.0, 6e-8, -3e-5, 6.1035156e-5, 65504, -65504],
    ]

    // MARK: Jobs

    /// Every index once (none for 0 jobs); operations inside jobs; the first error comes back, and on one
    /// thread no job starts after the failing one.
    func checkJobs() throws {
        let saved = backend.threads
        defer { backend.threads = saved }
        let lock = NSLock()
        var seen = [Int](repeating: 0, count: 23)
        try backend.jobs(23) { i in lock.lock(); seen[i] += 1; lock.unlock() }
        require(seen == Array(repeating: 1, count: 23), "jobs(23) ran indices \(seen) times")
        try backend.jobs(0) { _ in require(false, "a job of zero ran") }

        let (w, wv) = try weight("w", rows: 24, cols: 33)
        var cases = (0..<6).map { _ in (x: random.grid(3, 33), out: random.grid(3, 24)) }
        let tensors = cases.map { (x: upload($0.x), out: upload($0.out)) }
        try backend.jobs(cases.count) { i in
            backend.linear(tensors[i].x, rows: 0..<3, xColumn: 0, weight: w, bias: nil, out: tensors[i].out, column: 0)
        }
        for i in cases.indices {
            ReferenceOps.linear(cases[i].x, rows: 0..<3, xColumn: 0, weight: wv, bias: nil, out: &cases[i].out, column: 0)
            expect(tensors[i].out, cases[i].out, "linear", "inside job \(i)")
        }

        struct Failure: Error, Equatable { let index: Int }
        for threads in [saved, 1] {
            backend.threads = threads
            require(backend.threads == threads, "threads = \(threads) reads back \(backend.threads)")
            var started = 0, startedBeforeThrow = -1
            do {
                try backend.jobs(200) { i in
                    lock.lock(); started += 1; lock.unlock()
                    if i == 3 { lock.lock(); startedBeforeThrow = started; lock.unlock(); throw Failure(index: 3) }
                }
                require(false, "jobs: a job's error was not rethrown (\(threads) threads)")
            } catch {
                require(error as? Failure == Failure(index: 3), "jobs rethrew \(error)")
            }
            // With several threads, jobs already handed out may still start: only one thread is deterministic.
            require(threads != 1 || started == startedBeforeThrow, "jobs: \(started - startedBeforeThrow) started after the error")
            do {
                try backend.jobs(40) { i in if i % 7 == 2 { throw Failure(index: i) } }
                require(false, "jobs: none of several errors was rethrown (\(threads) threads)")
            } catch {
                require((error as? Failure).map { $0.index % 7 } == 2, "jobs rethrew \(error)")
            }
        }
    }
}
