import XCTest
@testable import SteerCLI

/// `steer info` on the dense families: layer types and windows, RoPE bases, norms, scales, skipped towers.
extension CommandTests {
    func testInfoShowsLayerTypesRoPEBasesAndSkippedTowers() {
        let (status, out, err) = steer(["info", fixture("models/gemma3")])
        XCTAssertEqual(status, 0, err)
        for part in ["sliding_attention (window 5) on 5 of 6 layers (0-4); full_attention on 1 (5)",
                     "full layers: base 1000000, linear ×8, rotary_dim 16 (5)", "sliding layers: base 10000, rotary_dim 16 (0-4)",
                     "q/k RMSNorm per head", "vision tower and multimodal projector:", "(not loaded)"] {
            XCTAssertTrue(out.contains(part), "info lacks '\(part)':\n\(out)")
        }
        let (s2, smol, _) = steer(["info", fixture("models/smollm3")])
        XCTAssertEqual(s2, 0)
        XCTAssertTrue(smol.contains("no RoPE on 1 of 4 layers (3)"), smol)
        XCTAssertFalse(smol.contains("skipped"), smol)
        let (s3, granite, _) = steer(["info", fixture("models/granite")])
        XCTAssertEqual(s3, 0)
        XCTAssertTrue(granite.contains("embedding ×12, attention scale 0.05 (not 1/√8), residual ×0.22, logits ÷4"), granite)
        let (s4, olmo, _) = steer(["info", fixture("models/olmo2")])
        XCTAssertEqual(s4, 0)
        XCTAssertTrue(olmo.contains("post only; q/k RMSNorm over all heads"), olmo)
    }
}
