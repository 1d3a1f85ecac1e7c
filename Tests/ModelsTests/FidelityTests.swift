import XCTest
import Compute
@testable import Models

/// Every family against transformers' outputs on its tiny random fixture model.
final class FidelityTests: XCTestCase {
    /// The project's fidelity bar against transformers, an independent implementation (its own kernels and
    /// operation order), so not a rounding bound of Steer's arithmetic: logits within 1e-4. It holds with
    /// margin under OpenBLAS's Haswell, Zen, SkylakeX, Sandybridge and Prescott kernels, 1 and 2 threads.
    /// Comparisons of two of Steer's own passes use the derived `roundingBound` instead.
    static let tolerance: Float = 1e-4

    func testLogitsMatchTransformers() throws {
        for name in FixtureModel.names {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids")
            let (_, logits) = try model.prefill([ids], logits: .all)
            let diff = maxAbsDiff(try XCTUnwrap(logits).array, try f.floats("logits"))
            XCTAssertLessThan(diff, Self.tolerance, "\(name): logits differ by \(diff)")
        }
    }

    func testHiddenStatesEqualResidPre() throws {
        for name in FixtureModel.names {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids")
            let d = model.config.hiddenSize, t = ids.count
            var captured = [[Float]](repeating: [], count: model.config.numLayers)
            let hooks = Hooks()
            hooks.add(.residPre) { act in
                XCTAssertEqual(act.rows.count, t)
                captured[act.layer] = Array(UnsafeBufferPointer(start: act.data, count: t * d))
            }
            _ = try model.prefill([ids], hooks: hooks, logits: .none)
            let hs = try f.floats("hidden_states")
            for l in 0..<model.config.numLayers {
                let ref = Array(hs[(l * t * d)..<((l + 1) * t * d)])
                let scale = max(1, ref.map(abs).max() ?? 1)
                let diff = maxAbsDiff(captured[l], ref)
                XCTAssertLessThan(diff / scale, Self.tolerance, "\(name): hidden_states[\(l)] vs resid_pre differ by \(diff)")
            }
        }
    }

    func testGreedyGenerationUnbatchedAndBatched() throws {
        for name in FixtureModel.names {
            let f = try FixtureModel(name)
            let model = try f.load()
            let prompts = try (0..<3).map { try f.ints("gen_prompt_\($0)") }
            let opts = GenerationOptions(maxNewTokens: 20)
            for i in 0..<3 {
                let r = try model.generate([prompts[i]], options: opts)
                XCTAssertEqual(r.tokens[0], try f.ints("gen_unbatched_\(i)"), "\(name): unbatched prompt \(i)")
            }
            let batched = try model.generate(prompts, options: opts)
            for i in 0..<3 {
                XCTAssertEqual(batched.tokens[i], try f.ints("gen_batched_\(i)"), "\(name): batched prompt \(i)")
            }
        }
    }

    func testBatchedPrefillLogitsMatchTransformers() throws {
        for name in FixtureModel.names {
            let f = try FixtureModel(name)
            let model = try f.load()
            let prompts = try (0..<3).map { try f.ints("gen_prompt_\($0)") }
            let (_, logits) = try model.prefill(prompts, logits: .all)
            let out = try XCTUnwrap(logits)
            let ref = try f.floats("batch_logits"), mask = try f.ints("batch_attention_mask")
            let steps = try f.shape("batch_logits")[1], v = model.config.vocabSize
            // transformers' batch is left-padded; Steer's rows are the prompts' tokens, prompt after prompt.
            var worst: Float = 0, row = 0
            for b in 0..<3 {
                for t in 0..<steps where mask[b * steps + t] == 1 {
                    for j in 0..<v { worst = max(worst, abs(out[row * v + j] - ref[(b * steps + t) * v + j])) }
                    row += 1
                }
            }
            XCTAssertEqual(row * v, out.count)
            XCTAssertLessThan(worst, Self.tolerance, "\(name): batched logits differ by \(worst)")
        }
    }

    func testBatchedEqualsUnbatched() throws {
        for name in ["llama", "gemma2", "qwen3"] {
            let model = try FixtureModel(name).load()
            let prompts = [[3, 1, 4, 1, 5], [9, 2, 6, 5, 3, 5, 8, 9, 7], [2, 7]]
            let (_, batched) = try model.prefill(prompts, logits: .last)
            let v = model.config.vocabSize
            for (i, p) in prompts.enumerated() {
                let (_, single) = try model.prefill([p], logits: .last)
                let a = Array(try XCTUnwrap(batched).array[(i * v)..<((i + 1) * v)]), b = try XCTUnwrap(single).array
                // Padding changes only the shapes of the products, hence the rounding.
                let diff = maxAbsDiff(a, b), bound = roundingBound(model, a, b, tokens: 9)
                XCTAssertLessThanOrEqual(diff, bound, "\(name) prompt \(i): \(diff)")
            }
        }
    }

    func testZeroHookChangesNothing() throws {
        for name in ["qwen2", "gemma2"] {
            let f = try FixtureModel(name)
            let model = try f.load()
            let ids = try f.ints("input_ids")
            let (_, plain) = try model.prefill([ids], logits: .all)
            let hooks = Hooks()
            var calls = 0
            for point in HookPoint.allCases {
                hooks.add(point) { act in
                    calls += 1
                    for r in 0..<act.rows.count {
                        let v = act.vector(r)
                        for i in 0..<v.count { v[i] += 0 }
                    }
                }
            }
            let (_, hooked) = try model.prefill([ids], hooks: hooks, logits: .all)
            XCTAssertEqual(calls, HookPoint.allCases.count * model.config.numLayers)
            XCTAssertEqual(try XCTUnwrap(plain).array, try XCTUnwrap(hooked).array, name)
        }
    }

    func testHalfPrecisionStorageMatchesFloat32() throws {
        let f = try FixtureModel("llama_bf16")
        let ids = try f.ints("input_ids")
        let (_, a) = try f.load(.f32).prefill([ids], logits: .all)
        let (_, b) = try f.load(.bf16).prefill([ids], logits: .all)
        // The same weight values (bf16 widens exactly), converted on use: only the rounding of the products differs.
        let (full, widened) = (try XCTUnwrap(a).array, try XCTUnwrap(b).array)
        XCTAssertLessThanOrEqual(maxAbsDiff(full, widened), roundingBound(try f.load(), full, widened, tokens: ids.count))
        XCTAssertLessThan(maxAbsDiff(try XCTUnwrap(b).array, try f.floats("logits")), Self.tolerance)
        // Decoding reads 16-bit rows directly (the single-row path); it must pick the same tokens.
        let half = try f.load(.bf16)
        for i in 0..<3 {
            let r = try half.generate([try f.ints("gen_prompt_\(i)")], options: GenerationOptions(maxNewTokens: 20))
            XCTAssertEqual(r.tokens[0], try f.ints("gen_unbatched_\(i)"), "bf16 storage, prompt \(i)")
        }
    }
}
