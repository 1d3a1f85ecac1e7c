import Foundation
import XCTest
@testable import Tokenizers

/// Compares ids, decodes and streaming decodes with the references recorded from `tokenizers`
/// (and tiktoken for Qwen-1) by scripts/make_tokenizer_fixtures.py.
final class FixtureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizers")

    static func fixtureNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    static func loadCases(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name).appendingPathComponent("cases.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func ints(_ v: Any?) -> [Int] { (v as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [] }

    static func chunks(_ v: Any?) -> [String?]? {
        guard let a = v as? [Any] else { return nil }
        return a.map { $0 as? String }
    }

    func stream(_ tok: Tokenizer, _ ids: [Int], skip: Bool) -> [String?] {
        let d = tok.makeStreamDecoder(skipSpecialTokens: skip)
        return ids.map { d.feed($0) }
    }

    func testAllFixtures() throws {
        let names = Self.fixtureNames()
        XCTAssertGreaterThanOrEqual(names.count, 12)
        var checked = 0, failed = 0
        for name in names {
            let tok = try Tokenizer.load(directory: Self.fixtures.appendingPathComponent(name))
            let meta = try Self.loadCases(name)
            var localFail = 0
            func check<T: Equatable>(_ what: String, _ got: T, _ want: T, _ text: String) {
                checked += 1
                if got != want {
                    failed += 1
                    localFail += 1
                    if localFail <= 6 {
                        XCTFail("\(name) \(what) for \(text.debugDescription):\n got  \(got)\n want \(want)")
                    }
                }
            }
            check("vocab_size", tok.vocabularySize, (meta["vocab_size"] as? NSNumber)?.intValue ?? -1, "")
            for probe in meta["tokens"] as? [[String: Any]] ?? [] {
                let t = probe["token"] as? String ?? ""
                let id = (probe["id"] as? NSNumber)?.intValue ?? -1
                check("id(forToken:)", tok.id(forToken: t), id, t)
                check("token(forId:)", tok.token(forId: id), t, t)
            }
            for c in meta["cases"] as? [[String: Any]] ?? [] {
                let text = c["text"] as? String ?? ""
                let ids = Self.ints(c["ids"])
                let idsSp = Self.ints(c["ids_with_special"])
                check("ids", tok.encode(text), ids, text)
                check("ids_with_special", tok.encode(text, addSpecialTokens: true), idsSp, text)
                check("decode", tok.decode(ids), c["decode"] as? String ?? "", text)
                check("decode_skip", tok.decode(ids, skipSpecialTokens: true), c["decode_skip"] as? String ?? "", text)
                check("decode_with_special_skip", tok.decode(idsSp, skipSpecialTokens: true),
                      c["decode_with_special_skip"] as? String ?? "", text)
                if let want = Self.chunks(c["stream"]) { check("stream", stream(tok, idsSp, skip: false), want, text) }
                if let want = Self.chunks(c["stream_skip"]) { check("stream_skip", stream(tok, idsSp, skip: true), want, text) }
            }
            for d in meta["decodes"] as? [[String: Any]] ?? [] {
                let ids = Self.ints(d["ids"])
                check("decode(random)", tok.decode(ids), d["decode"] as? String ?? "", "\(ids)")
                check("decode_skip(random)", tok.decode(ids, skipSpecialTokens: true), d["decode_skip"] as? String ?? "", "\(ids)")
                if let want = Self.chunks(d["stream"]) { check("stream(random)", stream(tok, ids, skip: false), want, "\(ids)") }
            }
            print("fixture \(name): \(localFail == 0 ? "ok" : "\(localFail) mismatches")")
        }
        print("tokenizer fixtures: \(checked - failed)/\(checked) checks passed")
    }
}
