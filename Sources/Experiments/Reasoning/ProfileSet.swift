import Basics
import Foundation

/// One line of a profiles file: a profile or its counterfactual twin, rendered as a prompt, with the
/// criterion's label. Originals and twins alternate (`p0001`, `p0001-twin`, …); each names the other in `twin_of`.
public struct ProfileRow: Sendable, Codable, Equatable {
    public var id: String
    public var pair: Int
    /// `original` or `twin`.
    public var variant: String
    public var twinOf: String
    public var prompt: String
    public var template: Int
    public var attributes: LoanProfile
    public var criterion: String
    public var criterionValue: Bool
    /// The answer the criterion dictates (`approve` when it holds, else `reject`, or the configured answers).
    public var label: String

    enum CodingKeys: String, CodingKey {
        case id, pair, variant, twinOf = "twin_of", prompt, template, attributes, criterion
        case criterionValue = "criterion_value", label
    }

    /// As a prompt for the reasoning runners.
    public func asPrompt(line: Int) -> ReasoningPrompt {
        ReasoningPrompt(id: id, text: prompt, label: label, twinOf: twinOf, line: line)
    }
}

/// Generates profile pairs for a criterion: half the originals meet it (seeded coin), and each twin takes
/// a random value of the criterion's attribute on the other side, everything else equal.
public struct ProfileGenerator {
    public var criterion: LoanCriterion
    /// Answers for criterion true / false.
    public var positive: String
    public var negative: String

    public init(criterion: LoanCriterion, positive: String = "approve", negative: String = "reject") {
        self.criterion = criterion; self.positive = positive; self.negative = negative
    }

    /// `pairs` pairs (2·pairs rows) from `seed`.
    public func generate(pairs: Int, seed: UInt64) throws -> [ProfileRow] {
        guard pairs > 0 else { throw ReasoningError.badFormat("the number of profile pairs must be positive") }
        var rng = SplitMix64(seed: seed)
        var rows: [ProfileRow] = []
        var attempts = 0
        while rows.count < 2 * pairs {
            attempts += 1
            if attempts > 1000 * pairs { throw ReasoningError.badCriterion(criterion.description, reason: "cannot generate balanced twins") }
            let want = rng.next() & 1 == 0
            let base = LoanProfile.random(&rng)
            let same = ([base] + LoanProfile.alternatives(base, changing: criterion)).filter { criterion.holds(for: $0) == want }
            guard !same.isEmpty else { continue }
            let original = same[rng.index(below: same.count)]
            let other = LoanProfile.alternatives(original, changing: criterion).filter { criterion.holds(for: $0) != want }
            guard !other.isEmpty else { continue }
            let twin = other[rng.index(below: other.count)]
            let template = rng.index(below: LoanProfile.templates.count)
            let pair = rows.count / 2 + 1
            let id = String(format: "p%04d", pair)
            for (variant, p, me, partner) in [("original", original, id, id + "-twin"), ("twin", twin, id + "-twin", id)] {
                let holds = criterion.holds(for: p)
                rows.append(ProfileRow(id: me, pair: pair, variant: variant, twinOf: partner, prompt: p.render(template: template),
                                       template: template, attributes: p, criterion: criterion.description, criterionValue: holds,
                                       label: holds ? positive : negative))
            }
        }
        return rows
    }

    /// Reads a profiles JSONL file; errors name the line and field.
    public static func read(_ url: URL) throws -> [(line: Int, row: ProfileRow)] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw PromptSetError.missingFile(path: url.path) }
        var out: [(Int, ProfileRow)] = []
        for (i, raw) in data.split(separator: 0x0a, omittingEmptySubsequences: false).enumerated() {
            guard raw.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d }) else { continue }
            do {
                out.append((i + 1, try JSONDecoder().decode(ProfileRow.self, from: Data(raw))))
            } catch let DecodingError.keyNotFound(key, ctx) {
                throw ReasoningError.missingField(path: url.path, line: i + 1, field: (ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))
            } catch let DecodingError.typeMismatch(_, ctx) {
                throw ReasoningError.badField(path: url.path, line: i + 1, field: ctx.codingPath.map(\.stringValue).joined(separator: "."),
                                              reason: ctx.debugDescription)
            } catch {
                throw ReasoningError.malformedLine(path: url.path, line: i + 1, reason: "\(error)")
            }
        }
        guard !out.isEmpty else { throw ReasoningError.empty(path: url.path) }
        return out
    }
}
