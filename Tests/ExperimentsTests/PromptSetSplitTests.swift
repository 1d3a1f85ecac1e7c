import Basics
import Foundation
import XCTest
@testable import Experiments

final class PromptSetSplitTests: XCTestCase {
    func testSHA256AgainstHashlib() throws {
        let vectors: [[String: String]] = try PromptFixtures.section("sha256")
        XCTAssertGreaterThan(vectors.count, 10)
        for vector in vectors {
            let message = try XCTUnwrap(vector["message"])
            XCTAssertEqual(SHA256.hex(of: Array(message.utf8)), vector["sha256"], "length \(message.utf8.count)")
        }
        // Incremental updates in odd-sized chunks give the same digest.
        let long = Array(String(repeating: "a", count: 1000).utf8)
        var hash = SHA256()
        var start = 0
        for size in [1, 63, 64, 65, 7, 800] { hash.update(long[start..<(start + size)]); start += size }
        XCTAssertEqual(hash.finalize(), SHA256.digest(long))
        // Sequences without contiguous storage go byte by byte; mixed with contiguous chunks, the same digest.
        var mixed = SHA256()
        start = 0
        for (k, size) in [3, 100, 61, 200, 5, 631].enumerated() {
            let part = long[start..<(start + size)]
            if k % 2 == 0 { mixed.update(AnySequence(part)) } else { mixed.update(Data(part)) }
            start += size
        }
        XCTAssertEqual(mixed.finalize(), SHA256.digest(long))
    }

    func testSplitMix64MatchesPython() throws {
        let section: [String: Any] = try PromptFixtures.section("splitmix64")
        var generator = SplitMix64(seed: 42)
        let outputs = try XCTUnwrap(section["outputs"] as? [String]).compactMap(UInt64.init)
        XCTAssertEqual(outputs.count, 5)
        XCTAssertEqual((0..<5).map { _ in generator.next() }, outputs)
        var zero = SplitMix64(seed: 0)
        XCTAssertEqual((0..<3).map { _ in zero.next() },
                       try XCTUnwrap(section["seed0_outputs"] as? [String]).compactMap(UInt64.init))
    }

    func testFisherYatesMatchesPython() throws {
        let cases: [[String: Any]] = try PromptFixtures.section("permutations")
        for item in cases {
            let n = try XCTUnwrap(item["n"] as? Int), seed = try XCTUnwrap(item["seed"] as? Int)
            XCTAssertEqual(SplitMix64.permutation(count: n, seed: UInt64(seed)), try XCTUnwrap(item["order"] as? [Int]),
                           "n \(n) seed \(seed)")
        }
    }

    func testSeededSplitIsReproducible() throws {
        let set = try PromptFixtures.load("twenty.txt")
        let split = try PromptSplit.shuffled(set, train: 12, val: 5, seed: 42)
        XCTAssertEqual(split.train.count, 12)
        XCTAssertEqual(split.val.count, 5)
        XCTAssertEqual(split.test.count, 3, "test takes the rest")
        let order = SplitMix64.permutation(count: 20, seed: 42)
        XCTAssertEqual((split.train + split.val + split.test).map(\.text), order.map { set.rows[$0].text })
        XCTAssertEqual(Set((split.train + split.val + split.test).map(\.text)).count, 20)
        XCTAssertEqual(try PromptSplit.shuffled(set, train: 12, val: 5, seed: 42), split)
        XCTAssertNotEqual(try PromptSplit.shuffled(set, train: 12, val: 5, seed: 43).train, split.train)
        let sized = try PromptSplit.load(PromptFixtures.url("twenty.txt"), train: 12, val: 5, test: 2, seed: 42)
        XCTAssertEqual(sized.test.map(\.text), Array(split.test.prefix(2)).map(\.text))
        let hashes: [String: String] = try PromptFixtures.section("file_sha256")
        XCTAssertEqual(sized.sources, [PromptSource(set, role: "train+val+test")])
        XCTAssertEqual(sized.sources.first?.sha256, hashes["twenty.txt"])
        XCTAssertEqual(sized.seed, 42)
    }

    func testSplitTooSmall() throws {
        let set = try PromptFixtures.load("twenty.txt")
        let error = PromptFixtures.error { _ = try PromptSplit.shuffled(set, seed: 1) }
        XCTAssertEqual(error, .tooSmall(path: set.path, available: 20, requested: 160, detail: "train 128 + val 32"))
        XCTAssertTrue(error?.description.contains("twenty.txt: has 20 prompts but the split needs 160") ?? false)
        let withTest = PromptFixtures.error { _ = try PromptSplit.shuffled(set, train: 10, val: 5, test: 6, seed: 1) }
        XCTAssertEqual(withTest, .tooSmall(path: set.path, available: 20, requested: 21, detail: "train 10 + val 5 + test 6"))
        guard case .badSizes? = PromptFixtures.error({ _ = try PromptSplit.shuffled(set, train: -1, seed: 1) }) else {
            return XCTFail("expected badSizes")
        }
        XCTAssertEqual(try PromptSplit.shuffled(set, train: 15, val: 5, seed: 1).test, [])
    }

    func testExplicitFiles() throws {
        let split = try PromptSplit.load(train: PromptFixtures.url("split_train.txt"),
                                         val: PromptFixtures.url("split_val.jsonl"),
                                         test: PromptFixtures.url("split_test.csv"))
        XCTAssertEqual(split.train.map(\.text), ["alpha", "beta", "gamma"])
        XCTAssertEqual(split.val.map(\.text), ["delta", "epsilon"])
        XCTAssertEqual(split.test.map(\.text), ["zeta"])
        XCTAssertNil(split.seed)
        XCTAssertEqual(split.sources.map(\.role), ["train", "val", "test"])
        XCTAssertEqual(split.sources.map(\.format), [.text, .jsonl, .csv])
        let trainOnly = try PromptSplit.load(train: PromptFixtures.url("split_train.txt"))
        XCTAssertEqual(trainOnly.val, [])
        let overlap = PromptFixtures.error {
            _ = try PromptSplit.load(train: PromptFixtures.url("split_train.txt"),
                                     val: PromptFixtures.url("split_val_overlap.txt"))
        }
        XCTAssertEqual(overlap, .overlap(first: PromptFixtures.url("split_train.txt").path, firstLine: 2,
                                         second: PromptFixtures.url("split_val_overlap.txt").path, secondLine: 2,
                                         text: "beta"))
    }

    func testSplitIsCodable() throws {
        let split = try PromptSplit.load(PromptFixtures.url("objects.json"), train: 2, val: 1, seed: 3)
        let data = try JSONEncoder().encode(split)
        XCTAssertEqual(try JSONDecoder().decode(PromptSplit.self, from: data), split)
    }
}
