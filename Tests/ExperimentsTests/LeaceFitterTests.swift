import XCTest
import Compute
import Interventions
import ModelFormats
@testable import Experiments

/// LEACE fitting (SPEC §7) against concept-erasure 0.2.4 (Tests/Fixtures/leace, scripts/make_leace_fixtures.py)
/// and against its own guarantee.
final class LeaceFitterTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/leace")

    /// F64 tensors (SafeTensorsFile converts only float32 and 16-bit types).
    func doubles(_ file: SafeTensorsFile, _ name: String) throws -> [Double] {
        let raw = try file.rawBytes(name)
        XCTAssertEqual(try file.tensorInfo(name).dtype, .f64, name)
        return (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
    }

    /// Steer's eraser applied to the held-out rows equals `LeaceFitter(...).eraser` of the library within 1e-3,
    /// relative to the size of the edit itself (stricter than relative to the rows), with and without shrinkage;
    /// cases where the library keeps the identity (a singular value at or below svd_tol, identical rows) are the
    /// identity here too. Also through the backend's `erase` op with the eraser as stored (Float32).
    func testMatchesConceptErasure() throws {
        for name in ["tall", "wide", "weak", "identical"] {
            let file = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("\(name).safetensors"))
            let shape = try file.tensorInfo("x_train").shape, n = shape[0], d = shape[1]
            let x = try file.floats("x_train"), labels = try file.floats("z_train").map { $0 == 1 }
            let test = try file.floats("x_test"), m = test.count / d
            for (setting, shrinkage) in [("shrinkage", true), ("plain", false)] {
                let fit = try LeaceFitter.fit(x, rows: n, cols: d, labels: labels, settings: LeaceSettings(shrinkage: shrinkage))
                let want = try doubles(file, "\(setting).erased_test"), what = "\(name) \(setting)"
                let reference = try XCTUnwrap(Double(file.metadata["\(setting).singular_value"] ?? ""))
                XCTAssertEqual(fit.singularValue, reference, accuracy: 1e-6 * max(reference, 1e-12) + 1e-15, what)
                XCTAssertEqual(fit.isIdentity, ["weak", "identical"].contains(name), what)
                XCTAssertEqual(try doubles(file, "\(setting).bias"), fit.bias, what)
                let layer = try fit.layer
                let backend = CPUBackend(), rows = backend.upload(test, rows: m)
                backend.erase(rows, rows: .range(0..<m), left: backend.upload(layer.leftRows, rows: layer.rank),
                              right: backend.upload(layer.projRight, rows: layer.rank), bias: backend.upload(layer.bias))
                let stored = backend.read(rows)
                var worst64 = 0.0, worst32 = 0.0
                for r in 0..<m {
                    let row = (0..<d).map { Double(test[r * d + $0]) }, ref = Array(want[(r * d)..<((r + 1) * d)])
                    let ours = fit.apply(row), ours32 = (0..<d).map { Double(stored[r * d + $0]) }
                    let edit = norm(zip(row, ref).map { $0 - $1 })
                    if edit == 0 {
                        XCTAssertEqual(ours, row, "\(what): identity")
                        XCTAssertEqual(ours32, row, "\(what): identity through the backend")
                        continue
                    }
                    worst64 = max(worst64, norm(zip(ours, ref).map { $0 - $1 }) / edit)
                    worst32 = max(worst32, norm(zip(ours32, ref).map { $0 - $1 }) / edit)
                }
                XCTAssertLessThanOrEqual(worst64, 1e-3, "\(what): Float64 eraser, error / edit")
                XCTAssertLessThanOrEqual(worst32, 1e-3, "\(what): stored Float32 eraser through erase(), error / edit")
                print("LEACE \(what): k \(fit.rank), s \(fit.singularValue), error/edit Float64 \(worst64), Float32 \(worst32)")
            }
        }
    }

    /// The guarantee on the training activations: after erasure the class means are equal (gap ≤ 1e-6 of the gap
    /// before), and a least-squares linear probe (with intercept) on the erased rows does no better than the
    /// constant predictor, while on the original rows it does much better.
    func testErasedActivationsHaveEqualClassMeansAndNoLinearProbe() throws {
        var random = SplitMix64(seed: 20_230_603)
        let n = 400, d = 12
        var x = [Float](repeating: 0, count: n * d), labels = [Bool](repeating: false, count: n)
        let shift = (0..<d).map { _ in Float(random.uniform() * 2 - 1) }
        for i in 0..<n {
            labels[i] = i % 3 != 0
            for j in 0..<d {
                let noise = Float(random.normal()) * Float(j + 1) * 0.5 + 3
                x[i * d + j] = noise + (labels[i] ? shift[j] : 0) + (j > 0 ? 0.3 * x[i * d + j - 1] : 0)
            }
        }
        for shrinkage in [true, false] {
            let fit = try LeaceFitter.fit(x, rows: n, cols: d, labels: labels, settings: LeaceSettings(shrinkage: shrinkage))
            XCTAssertFalse(fit.isIdentity)
            let erased = (0..<n).flatMap { i in fit.apply((0..<d).map { Double(x[i * d + $0]) }) }
            let before = Self.classMeanGap(x.map(Double.init), labels, d), after = Self.classMeanGap(erased, labels, d)
            XCTAssertGreaterThan(before, 0.5)
            XCTAssertLessThanOrEqual(after, 1e-6 * before, "shrinkage \(shrinkage)")
            let (gap, gapAfter) = LeaceComparison.classMeanGap(x, rows: n, cols: d, labels: labels, fit: fit)
            XCTAssertEqual(gap, before, accuracy: 1e-12 * before)
            XCTAssertLessThanOrEqual(gapAfter, 1e-6 * before)

            // Probes: R² = 1 − MSE(probe) / MSE(constant). Erasure leaves Σ_x'z = 0 up to Float64 rounding (~1e-16
            // relative); the probe reads it through eigenvalues of at least 1e-9 of the largest (the erased direction's
            // variance is rounding, far below, and is dropped), so R² after is below 1e-16²/1e-9 ≈ 1e-23: 1e-9 is slack.
            let r2Before = try Self.probeR2(x.map(Double.init), labels, d), r2After = try Self.probeR2(erased, labels, d)
            XCTAssertGreaterThan(r2Before, 0.1)
            XCTAssertLessThanOrEqual(r2After, 1e-9, "shrinkage \(shrinkage): R² of a linear probe on erased rows")
        }
    }

    /// A layer whose classes cannot be told apart gets the identity eraser with a reason, never NaN.
    func testIndistinguishableClassesGiveTheIdentity() throws {
        let d = 6, n = 10
        let row = (0..<d).map { Float($0) * 0.7 - 1 }
        let identical = (0..<n).flatMap { _ in row }, labels = (0..<n).map { $0 % 2 == 0 }
        for shrinkage in [true, false] {
            let fit = try LeaceFitter.fit(identical, rows: n, cols: d, labels: labels, settings: LeaceSettings(shrinkage: shrinkage))
            XCTAssertTrue(fit.isIdentity)
            XCTAssertTrue(fit.identityReason?.contains("cannot be told apart") ?? false, fit.identityReason ?? "")
            XCTAssertEqual(fit.singularValue, 0)
            XCTAssertTrue(try fit.layer.isIdentity)
            XCTAssertEqual(fit.apply(row.map(Double.init)), row.map(Double.init))
        }
        let oneClass = try LeaceFitter.fit((0..<(n * d)).map { Float($0 % 7) }, rows: n, cols: d, labels: Array(repeating: true, count: n))
        XCTAssertTrue(oneClass.identityReason?.contains("one class") ?? false)
        XCTAssertThrowsError(try LeaceFitter.fit([1, 2], rows: 1, cols: 2, labels: [true]))
        XCTAssertThrowsError(try LeaceFitter.fit([1, .nan, 3, 4], rows: 2, cols: 2, labels: [true, false]))
    }

    /// The covariance-trace constraint (never needed by LEACE in exact arithmetic) on an edit that would raise the
    /// trace: Σ = I, P = diag(−2, 1) (trace 5 > 2) is mixed with Q = diag(0, 1) into αP + (1−α)Q of trace 2, so
    /// 4α² + 1 = 2, α = 1/2 and I − P_mix = diag(2, 0).
    func testTraceConstraintMixesInTheOrthogonalProjection() throws {
        let mixed = try XCTUnwrap(LeaceFitter.traceConstrained(sigma: [1, 0, 0, 1], left: [3, 0], right: [1, 0], u: [1, 0], d: 2))
        var product = [Double](repeating: 0, count: 4)
        for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { product[i * 2 + j] += mixed.left[i * 2 + k] * mixed.right[k * 2 + j] } } }
        for (got, want) in zip(product, [2.0, 0, 0, 0]) { XCTAssertEqual(got, want, accuracy: 1e-12) }
        XCTAssertNil(LeaceFitter.traceConstrained(sigma: [1, 0, 0, 1], left: [1, 0], right: [1, 0], u: [1, 0], d: 2))
    }

    // MARK: Helpers

    func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    static func classMeanGap(_ x: [Double], _ labels: [Bool], _ d: Int) -> Double {
        var m = [[Double]](repeating: [Double](repeating: 0, count: d), count: 2), count = [0.0, 0.0]
        for (i, z) in labels.enumerated() {
            count[z ? 1 : 0] += 1
            for j in 0..<d { m[z ? 1 : 0][j] += x[i * d + j] }
        }
        return (0..<d).map { m[1][$0] / count[1] - m[0][$0] / count[0] }.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }

    /// In-sample R² of the least-squares probe z ≈ w·x + b: centred normal equations solved through the
    /// eigendecomposition of the covariance, eigenvalues below 1e-9 of the largest dropped.
    static func probeR2(_ x: [Double], _ labels: [Bool], _ d: Int) throws -> Double {
        let n = labels.count, z = labels.map { $0 ? 1.0 : 0.0 }, mz = z.reduce(0, +) / Double(n)
        let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + x[$1 * d + j] } / Double(n) }
        var cov = [Double](repeating: 0, count: d * d), cross = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for a in 0..<d {
                let xa = x[i * d + a] - mean[a]
                cross[a] += xa * (z[i] - mz)
                for b in 0..<d { cov[a * d + b] += xa * (x[i * d + b] - mean[b]) }
            }
        }
        let (values, vectors) = try HostLinearAlgebra.symmetricEigen(cov, n: d)
        let top = values.last ?? 0
        var explained = 0.0
        for e in 0..<d where values[e] > 1e-9 * top {
            let c = (0..<d).reduce(0.0) { $0 + vectors[e * d + $1] * cross[$1] }
            explained += c * c / values[e]
        }
        let total = z.reduce(0) { $0 + ($1 - mz) * ($1 - mz) }
        return explained / total
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1) from the top 53 bits.
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Box–Muller.
    mutating func normal() -> Double { (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()) }
}
