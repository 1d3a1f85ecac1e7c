import Foundation
import XCTest
@testable import FuzzKit

/// The harness itself: deterministic case generation, mutators that keep their promises, the
/// supervisor's classification of crashes and hangs, and the saved reproducers (regressions).
final class FuzzHarnessTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let seeds = Result { try FuzzSeeds(root: root) }

    func seeds() throws -> FuzzSeeds { try Self.seeds.get() }

    func testCasesAreDeterministicPerSeedKindAndIndex() throws {
        let seeds = try seeds()
        for kind in FuzzKind.inputs {
            var distinct = Set<[String: FuzzFile]>()
            for index in 0..<20 {
                let a = FuzzTargets.make(kind: kind, seed: 7, index: index, seeds: seeds)
                XCTAssertEqual(a, FuzzTargets.make(kind: kind, seed: 7, index: index, seeds: seeds), "\(kind) \(index)")
                XCTAssertFalse(a.files.isEmpty, "\(kind) \(index)")
                distinct.insert(a.files)
            }
            XCTAssertGreaterThan(distinct.count, 15, "\(kind): cases should differ")
        }
    }

    func testFuzzJSONKeepsTheTextAsWrittenAndEdits() throws {
        let text = #"{"b": [1, 2.5, "x", null, true], "a": {"c": -3}}"#
        let tree = try XCTUnwrap(FuzzJSON.parse(Data(text.utf8)))
        // Member order, repeated keys and number text are kept as written.
        XCTAssertEqual(tree.text(), #"{"b":[1,2.5,"x",null,true],"a":{"c":-3}}"#)
        XCTAssertEqual(FuzzJSON.parse(tree.data(pretty: true)), tree)
        XCTAssertEqual(FuzzJSON.parse(Data(#"{"k": 1e400, "k": 1.50}"#.utf8))?.text(), #"{"k":1e400,"k":1.50}"#)
        XCTAssertEqual(FuzzJSON.parse(Data(#""\u00e9\ud83d\ude00""#.utf8)), .string("é😀"))
        XCTAssertNil(FuzzJSON.parse(Data("[1,".utf8)))
        XCTAssertEqual(tree.paths().count, 9)
        let removed = tree.replacing(at: [.member(0), .element(0)][...]) { _ in nil }
        XCTAssertEqual(removed.text(), #"{"b":[2.5,"x",null,true],"a":{"c":-3}}"#)
        let huge = tree.replacingMember("a") { _ in .number("1e400") }
        XCTAssertEqual(huge.text(), #"{"b":[1,2.5,"x",null,true],"a":1e400}"#)
        XCTAssertEqual(FuzzJSON.string("q\"\n\u{1}").text(), #""q\"\n\u0001""#)
    }

    func testCrashSignaturesNameTheFailureAndTheFirstFrameInSteer() {
        let runtime = """
        *** Swift runtime failure: Division results in an overflow ***
        Thread 0 "steer-fuzz" crashed:
          0 [inlined] [system]      0x000055a5 Swift runtime failure: Division results in an overflow in steer-fuzz at //<compiler-generated>
          1                         0x000055a5 specialized static Operators.arithmetic(_:_:_:) + 5180 in steer-fuzz-soak at /w/Sources/ChatTemplates/Operators.swift:49:27
        """
        XCTAssertEqual(FuzzReport.crashSignature(runtime),
                       "Division results in an overflow @ ChatTemplates/Operators.swift:49 (specialized static Operators.arithmetic(_:_:_:))")
        let fatal = """
        FuzzKit/PromptFuzzer.swift:81: Fatal error: failed to allocate 1000000000048 bytes
        *** Program crashed: Aborted at 0x00000000000062ed ***
          0  0x00007f6ce48cfeec __pthread_kill_implementation + 268 in libc.so.6
          1  0x0000aaaa FuzzTarget.run + 3 in steer-fuzz at /w/Sources/FuzzKit/FuzzTarget.swift:3:1
        """
        XCTAssertEqual(FuzzReport.crashSignature(fatal), "FuzzKit/PromptFuzzer.swift:#: Fatal error: failed to allocate # bytes @ ?")
        XCTAssertEqual(FuzzReport.errorClass("/tmp/x/case-12/config.json: key 'head_dim': 17 at 0x7ffe12ab"),
                       "config.json: key '…': # at <addr>")
    }

    /// Template segments: tags whole, a `{` that opens no tag ends a text segment, an unclosed tag runs to the end,
    /// and the pieces always join back to the source (40,000 tags included: the long run's case 839, seed 7, spent
    /// 100 s of CPU cutting such a template before the scan became one pass).
    func testTemplateSegmentsCutTagsAndJoinBack() {
        XCTAssertEqual(TemplateFuzzer.segments("a{{ x }}b{% if y %}{# c #}{d{%}e{{ open"),
                       ["a", "{{ x }}", "b", "{% if y %}", "{# c #}", "{", "d", "{%}", "e", "{{ open"])
        XCTAssertEqual(TemplateFuzzer.segments("é{"), ["é{"])
        XCTAssertEqual(TemplateFuzzer.segments(""), [])
        let big = String(repeating: "{% if true %}", count: 20_000) + "ü" + String(repeating: "{% endif %}", count: 20_000)
        let parts = TemplateFuzzer.segments(big)
        XCTAssertEqual(parts.count, 40_001)
        XCTAssertEqual(parts.joined(), big)
    }

    func testByteMutatorStaysWithinItsLengthLimit() {
        var rng = FuzzRandom(seed: 3, kind: .gguf, index: 0)
        for _ in 0..<200 {
            let out = ByteMutator.mutate(Data(repeating: 7, count: 100), count: 5, rng: &rng, maxLength: 4096)
            XCTAssertLessThanOrEqual(out.count, 4096 + 32)
        }
    }

    /// An unmutated seed passes through its target: a run's errors come from the mutations.
    func testSeedCaseRunsCleanly() throws {
        let seeds = try seeds()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("steer-fuzz-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = FuzzCase(kind: .config, seed: 0, index: 0, params: ["precision": "f32"])
        let model = try XCTUnwrap(seeds.models.first { $0.name == "qwen3" })
        c.files["config.json"] = .bytes(model.config)
        ConfigFuzzer.linkWeights(of: model, into: &c)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertNoThrow(try FuzzTargets.run(c, folder: folder, fixtures: seeds.fixtures))
    }

    /// Reproducers of every crash and hang found (and of the issue's cases) under
    /// Tests/Fixtures/fuzz/regressions/<kind>/: each must now end in success or a clean error.
    func testRegressionReproducersEndCleanly() throws {
        let dir = Self.root.appendingPathComponent("Tests/Fixtures/fuzz/regressions")
        let kinds = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        var replayed = 0
        for kind in kinds {
            let kindDir = dir.appendingPathComponent(kind)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: kindDir.path, isDirectory: &isDir), isDir.boolValue else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: kindDir.path).sorted() where !name.hasPrefix(".") {
                let c = try FuzzCase.load(from: kindDir.appendingPathComponent(name))
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("steer-fuzz-regression-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: folder) }
                // A crash here ends the test process; a thrown error is the clean outcome.
                do { try FuzzTargets.run(c, folder: folder, fixtures: Self.root.appendingPathComponent("Tests/Fixtures")) } catch {
                    XCTAssertFalse("\(error)".isEmpty, "\(kind)/\(name)")
                }
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 0)
    }

    /// The supervisor counts the self-check's success, clean error, crash, blocked worker, memory
    /// exhaustion and CPU spin, and saves their reproducers. Needs the built binary.
    func testSupervisorClassifiesCrashesAndHangs() throws {
        let binary = URL(fileURLWithPath: FuzzSupervisor.currentExecutable()).deletingLastPathComponent().appendingPathComponent("steer-fuzz")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("steer-fuzz is not built next to the tests") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("steer-fuzz-selfcheck-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var o = FuzzSupervisor.Options(kinds: [.selfcheck], root: Self.root, out: out)
        o.cases = 6; o.timeout = 2; o.memoryMB = 512; o.executable = binary.path
        let results = try FuzzSupervisor(o).run()
        var expected = FuzzCounts()
        (expected.success, expected.cleanError, expected.crash, expected.timeout) = (1, 1, 2, 2)
        XCTAssertEqual(results.map(\.counts), [expected])
        let saved = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("selfcheck").path).sorted()
        XCTAssertEqual(saved, ["crash-s1-2", "crash-s1-4", "timeout-s1-3", "timeout-s1-5"])
        let replay = try FuzzCase.load(from: out.appendingPathComponent("selfcheck/timeout-s1-3"))
        XCTAssertEqual(replay.params["action"], "hang")
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("selfcheck/crash-s1-2/worker.log"), encoding: .utf8)
            .contains("self-check: a crash"))
    }
}
