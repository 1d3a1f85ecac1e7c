import XCTest
import Models
@testable import Experiments

/// Trace mediation on a model whose tokenizer glues tags to what follows them (`<recommendation` + `>approve`,
/// `<reasoning` + `>\n`), against a transformers reference that forces the rollouts' own token ids
/// (Tests/Fixtures/trace, made by scripts/make_trace_fixture.py).
final class ReasoningTokenCutTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/trace")

    struct Reference: Decodable {
        struct Rollout: Decodable { var id: String; var tokens: [Int]; var completion: String; var answer: String? }
        struct Row: Decodable {
            var id: String, condition: String, fraction: Double?
            var forced_ids: [Int], new_tokens: [Int], answer: String?, consistent: Bool
            var cut_token: Int?
        }
        var max_new_tokens: Int, answer_tokens: Int, fractions: [Double]
        var rollouts: [Rollout], rows: [Row], old_rows: [Row]
        var consistency: [String: Double], old_consistency: [String: Double]
    }

    func load() throws -> (LanguageModel, ChatFormatter, Reference, [ReasoningPrompt]) {
        let dir = Self.folder.appendingPathComponent("model")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.folder.appendingPathComponent("reference.json")))
        return (try ModelLoader.load(directory: dir), try ChatFormatter(directory: dir), ref,
                try ReasoningPrompt.load(Self.folder.appendingPathComponent("prompts.jsonl")))
    }

    func rollouts(_ model: LanguageModel, _ formatter: ChatFormatter, _ ref: Reference, _ prompts: [ReasoningPrompt]) throws -> [RolloutRecord] {
        var s = RolloutSettings()
        s.maxNewTokens = ref.max_new_tokens
        return try RolloutRunner(model: model, formatter: formatter, settings: s).run(prompts)
    }

    func key(_ id: String, _ condition: String, _ f: Double?) -> String { "\(id) \(condition) \(f.map { TraceRow.format($0) } ?? "-")" }

    func testRolloutsAreTheReferenceTokens() throws {
        let (model, formatter, ref, prompts) = try load()
        let records = try rollouts(model, formatter, ref, prompts)
        XCTAssertEqual(records.map(\.prompt.id), ref.rollouts.map(\.id))
        for (r, x) in zip(records, ref.rollouts) {
            XCTAssertEqual(r.tokens, x.tokens, r.prompt.id)
            XCTAssertEqual(r.completion, x.completion)
            XCTAssertEqual(r.answer, x.answer)
            XCTAssertTrue(r.wellFormed, r.completion)
        }
    }

    func testOwnTokensReproduceTheAnswerAsTransformersDoes() throws {
        let (model, formatter, ref, prompts) = try load()
        let records = try rollouts(model, formatter, ref, prompts)
        var ts = TraceSettings()
        ts.conditions = [.frozenClosed, .frozenOpen, .truncated]
        ts.fractions = ref.fractions
        ts.maxNewTokens = ref.max_new_tokens
        ts.answerTokens = ref.answer_tokens
        let rows = try TraceMediation(model: model, formatter: formatter, settings: ts).run(records)
        let byKey = Dictionary(rows.map { (key($0.rolloutId, $0.condition, $0.fraction), $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(rows.count, ref.rows.count)
        for x in ref.rows {
            let row = try XCTUnwrap(byKey[key(x.id, x.condition, x.fraction)], key(x.id, x.condition, x.fraction))
            XCTAssertEqual(row.forcedIds, x.forced_ids, "forced ids \(key(x.id, x.condition, x.fraction))")
            XCTAssertEqual(row.cutToken, x.cut_token)
            XCTAssertEqual(row.completion, formatter.tokenizer.decode(x.new_tokens, skipSpecialTokens: true))
            XCTAssertEqual(row.answer, x.answer)
            XCTAssertNil(row.retokenized)
        }
        let s = try TraceSummary(rows: rows, rollouts: records.count, usableRollouts: records.count)
        for (name, c) in ref.consistency { XCTAssertEqual(s.conditions[name]?.consistency, c, name) }
        // The issue's check: frozen-closed and f = 1 reproduce the original answer.
        XCTAssertEqual(s.conditions["frozen-closed"]?.consistency, 1)
        XCTAssertEqual(s.conditions["truncated@1.00"]?.consistency, 1)
        XCTAssertEqual(s.conditions["truncated@0.00"]?.consistency, 1)
        // frozen-closed stopped before '>approve' / '>reject', which the model wrote again.
        for row in rows where row.condition == "frozen-closed" { XCTAssertTrue(row.completion.hasPrefix(">"), row.completion) }
    }

    /// The prefixes Steer used to build (tags and R re-tokenized from text) end in a lone `>` the model never
    /// produced: it stops at once, so frozen-closed and f = 0 lose every answer, as in the transformers reference.
    func testTextRetokenizedPrefixesLoseTheAnswer() throws {
        let (model, formatter, ref, prompts) = try load()
        let t = formatter.tokenizer, f = TraceFormat.loan
        let records = try rollouts(model, formatter, ref, prompts)
        var forced: [(String, String, Double?, [Int], [Int])] = []
        for r in records {
            let prompt = t.encode(try r.prompt.render(formatter))
            let reasoning = try XCTUnwrap(r.reasoning), sep = r.separator ?? "\n"
            let open = t.encode(f.reasoningOpen), body = t.encode(reasoning)
            forced.append((r.prompt.id, "frozen-closed", nil, prompt, open + body + t.encode(f.reasoningClose + sep + f.answerOpen)))
            forced.append((r.prompt.id, "frozen-open", nil, prompt, open + body))
            for x in ref.fractions {
                forced.append((r.prompt.id, "truncated", x, prompt, open + Array(body.prefix(try TracePrefixBuilder.kept(fraction: x, of: body.count)))))
            }
        }
        let expected = Dictionary(ref.old_rows.map { (key($0.id, $0.condition, $0.fraction), $0) }, uniquingKeysWith: { a, _ in a })
        var consistent: [String: [Bool]] = [:]
        let eos = RolloutRunner.eosIds(model, formatter)
        for (id, condition, x, prompt, ids) in forced {
            let opts = GenerationOptions(maxNewTokens: condition == "frozen-closed" ? ref.answer_tokens : ref.max_new_tokens, eosTokenIds: eos,
                                         stopStrings: [f.answerClose], decode: { t.decode($0, skipSpecialTokens: true) })
            let new = try model.generate([prompt + ids], options: opts).tokens[0]
            let answer = f.parse(t.decode(ids + new, skipSpecialTokens: true)).lenientAnswer
            let x0 = try XCTUnwrap(expected[key(id, condition, x)])
            XCTAssertEqual(ids, x0.forced_ids, key(id, condition, x))
            XCTAssertEqual(answer, x0.answer, key(id, condition, x))
            let y = records.first { $0.prompt.id == id }?.answer
            consistent[condition + (x.map { "@" + TraceRow.format($0) } ?? ""), default: []].append(answer != nil && answer == y)
        }
        for (name, c) in ref.old_consistency {
            let v = try XCTUnwrap(consistent[name])
            XCTAssertEqual(Double(v.filter { $0 }.count) / Double(v.count), c, name)
        }
        XCTAssertEqual(ref.old_consistency["frozen-closed"], 0, "the old frozen-closed prefix loses every answer")
        XCTAssertEqual(ref.old_consistency["truncated@0.00"], 0)
    }
}
