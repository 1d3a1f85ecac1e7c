import Foundation
import XCTest
@testable import Experiments

/// Prints how long one LEACE layer takes to fit at d = 2048 (no timing assertion; skipped unless
/// STEER_BENCH_LEACE is set, since it costs seconds): `STEER_BENCH_LEACE=1 swift test -c release
/// -Xswiftc -enable-testing --filter LeaceFitSpeedTests`. n = 256 is the last token of 128 + 128 prompts,
/// n = 1280 the five post-instruction positions pooled.
final class LeaceFitSpeedTests: XCTestCase {
    func testPrintFitTime() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["STEER_BENCH_LEACE"] != nil, "set STEER_BENCH_LEACE=1 to time fitting")
        let d = 2048
        var random = SplitMix64(seed: 7)
        for n in [256, 1280] {
            let x = (0..<(n * d)).map { i in Float(random.normal()) * Float(1 + i % d % 13) + (i / d % 2 == 0 ? 0.05 : 0) }
            let labels = (0..<n).map { $0 % 2 == 0 }
            for shrinkage in [true, false] {
                let t0 = Date()
                let fit = try LeaceFitter.fit(x, rows: n, cols: d, labels: labels, settings: LeaceSettings(shrinkage: shrinkage))
                print(String(format: "LEACE fit d=%d n=%d shrinkage=%@: %.2f s (singular value %.3g)", d, n, String(shrinkage),
                             Date().timeIntervalSince(t0), fit.singularValue))
            }
        }
    }
}
