import Foundation
import ModelFormats
@testable import SteerCLI
import XCTest

/// `steer gradient`, `steer latents` and `generate --add-latent/--ablate-latent` end to end.
extension CommandTests {
    /// The fixture prompts of `model` as an --ids-file.
    func idsFile(_ model: String) throws -> (String, [[Int]]) {
        let file = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("gradient/\(model).safetensors"))
        var prompts: [[Int]] = []
        while file.contains("ids.\(prompts.count)") { prompts.append(try ints(file, "ids.\(prompts.count)")) }
        let url = temp.appendingPathComponent("\(model)-ids.json")
        try JSONSerialization.data(withJSONObject: prompts).write(to: url)
        return (url.path, prompts)
    }

    /// --ids (one prompt) and --ids-file (all) give torch's gradients (case 0 of the fixture: resid_pre[0] → M = 2).
    func testGradientFileMatchesTorch() throws {
        let (ids, prompts) = try idsFile("qwen2"), ref = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("gradient/qwen2.safetensors"))
        let out = temp.appendingPathComponent("g.safetensors").path
        let common = ["gradient", fixture("models/qwen2"), "--direction", fixture("gradient/qwen2.safetensors"), "--layer", "0", "--metric-layer", "2",
                      "--out", out]
        for (args, count) in [(["--ids-file", ids], prompts.count), (["--ids", prompts[1].map(String.init).joined(separator: ",")], 1)] {
            let (status, _, err) = steer(common + args)
            XCTAssertEqual(status, 0, err)
            let file = try SafeTensorsFile(url: URL(fileURLWithPath: out))
            XCTAssertEqual(try file.tensorInfo("metric").shape, [count])
            for i in 0..<count {
                let want = try ref.floats("grad.0.\(count == 1 ? 1 : i)"), got = try file.floats("grad.\(i)")
                XCTAssertEqual(try file.tensorInfo("grad.\(i)").shape, [want.count / 64, 64])
                let largest = want.map(abs).max() ?? 1
                XCTAssertLessThanOrEqual(zip(got, want).map { abs($0 - $1) }.max() ?? 1, 1e-4 * largest)
            }
        }
        for (args, message) in [(["--layer", "2"], "--layer"), (["--metric-layer", "3"], "--metric-layer")] {
            let (status, _, err) = steer(common + ["--ids-file", ids] + args)
            XCTAssertEqual(status, 64, err)
            XCTAssertTrue(err.contains(message), err)
        }
        let (status, _, err) = steer(common)
        XCTAssertEqual(status, 64)
        XCTAssertTrue(err.contains("--prompts FILE, --ids LIST or --ids-file FILE"), err)
    }

    /// latents.json on the fixture equals the Python ranking; prompts.json is sorted by gradient norm; the page exists.
    func testLatentsRankingMatchesPython() throws {
        let (ids, prompts) = try idsFile("qwen2"), out = temp.appendingPathComponent("latents")
        let (status, stdout, err) = steer(["latents", fixture("models/qwen2"), "--sae", fixture("gradient/sae_jumprelu"), "--direction",
                                           fixture("gradient/qwen2.safetensors"), "--metric-layer", "2", "--ids-file", ids, "--top", "12",
                                           "--out", out.path])
        XCTAssertEqual(status, 0, err)
        XCTAssertTrue(stdout.contains("blocks.0.hook_resid_post"), stdout)
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("gradient/fixture.json")))
        let ranking = try XCTUnwrap((((reference as? [String: Any])?["saes"] as? [String: Any])?["sae_jumprelu"] as? [String: Any])?["ranking"] as? [Int])
        let latents = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("latents.json"))) as? [String: Any])
        XCTAssertEqual(latents["hook"] as? String, "blocks.0.hook_resid_post")
        let list = try XCTUnwrap(latents["latents"] as? [[String: Any]])
        XCTAssertEqual(list.compactMap { $0["index"] as? Int }, Array(ranking.prefix(12)))
        XCTAssertTrue(list.allSatisfy { $0["frequency"] != nil && $0["mean_activation"] != nil && $0["attribution"] != nil })
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("prompts.json"))) as? [[String: Any]])
        XCTAssertEqual(rows.count, prompts.count)
        let norms = rows.compactMap { $0["grad_norm"] as? Double }
        XCTAssertEqual(norms, norms.sorted(by: >))
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("#57") && page.contains("Tokens by attribution"))
    }

    /// The whole command on a chat model: prompts through the template, a steering test of the top latents.
    func testLatentsWithPromptsAndSteeringTest() throws {
        let out = temp.appendingPathComponent("run"), direction = temp.appendingPathComponent("direction.safetensors")
        var writer = SafeTensorsWriter()
        writer.add("direction", floats: (0..<64).map { Float(sin(Double($0))) }, shape: [64], as: .f32)
        try writer.write(to: direction)
        let (status, _, err) = steer(["latents", fixture("pipeline/model"), "--sae", fixture("gradient/sae_jumprelu"), "--direction", direction.path,
                                      "--metric-layer", "4", "--prompts", fixture("pipeline/prompts/harmful_val.json"), "--out", out.path,
                                      "--top", "5", "--test", "2", "--max-tokens", "4", "--threads", "1"])
        XCTAssertEqual(status, 0, err)
        let latents = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("latents.json"))) as? [String: Any])
        let list = try XCTUnwrap(latents["latents"] as? [[String: Any]])
        XCTAssertEqual(list.count, 5)
        XCTAssertEqual(list.filter { $0["test"] != nil }.count, 2)
        XCTAssertNotNil(latents["baseline"])
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("Steering along the top latents"))
    }

    func testLatentsErrors() throws {
        let (ids, _) = try idsFile("qwen2")
        let base = ["latents", fixture("models/qwen2"), "--direction", fixture("gradient/qwen2.safetensors"), "--ids-file", ids]
        let empty = temp.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["--sae", empty.path, "--metric-layer", "2"], "has no cfg.json"),
            // blocks.1.hook_resid_mid is inside block 1: below resid_pre[2], not below resid_pre[1].
            (["--sae", fixture("gradient/sae_standard"), "--metric-layer", "1"], "not before resid_pre[1]"),
            (["--sae", fixture("gradient/sae_jumprelu"), "--metric-layer", "1"], "not before resid_pre[1]"),
            (["--sae", fixture("models/qwen2"), "--metric-layer", "2"], "cfg.json"),
        ]
        for (args, message) in cases {
            let (status, _, err) = steer(base + args + ["--out", temp.appendingPathComponent("o").path])
            XCTAssertEqual(status, 1, err)
            XCTAssertTrue(err.contains(message), err)
        }
    }

    /// --add-latent and --ablate-latent change the continuation; a bad reference is a clear error.
    func testGenerateAlongALatent() throws {
        let ids = "5,9,14,3,77", sae = fixture("gradient/sae_jumprelu")
        func run(_ extra: [String]) -> String {
            let (status, out, err) = steer(["generate", fixture("models/qwen2"), "--ids", ids, "--max-tokens", "8"] + extra)
            XCTAssertEqual(status, 0, err)
            return out
        }
        let plain = run([]), added = run(["--add-latent", "\(sae):57", "--scale", "40"]), ablated = run(["--ablate-latent", "\(sae):57"])
        XCTAssertNotEqual(plain, added)
        XCTAssertEqual(run(["--add-latent", "\(sae):57", "--scale", "0"]), plain)
        XCTAssertFalse(ablated.isEmpty)
        let (status, _, err) = steer(["generate", fixture("models/qwen2"), "--ids", ids, "--add-latent", "\(sae):500"])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(err.contains("latent 500"), err)
    }
}
