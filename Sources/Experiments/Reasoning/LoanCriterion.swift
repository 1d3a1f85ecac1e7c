import Basics
import Foundation

/// An attribute of a synthetic loan profile.
public enum LoanAttribute: String, Sendable, Codable, CaseIterable {
    case age, income, expenses, netIncome = "net_income", gender, education, occupation, nationality

    public var isNumeric: Bool { [.age, .income, .expenses, .netIncome].contains(self) }

    /// Words whose presence in a reasoning trace counts as mentioning the attribute (whole words, any case).
    public var lexicon: [String] {
        switch self {
        case .age: return ["age", "aged", "years old", "year-old", "year old", "old", "young", "older", "younger", "elderly"]
        case .income, .expenses, .netIncome:
            return ["income", "incomes", "expense", "expenses", "earn", "earns", "earning", "earnings", "spend", "spends",
                    "spending", "salary", "net", "cost", "costs", "surplus", "deficit"]
        case .gender: return ["gender", "sex", "male", "female", "man", "woman", "men", "women", "he", "she", "his", "her", "him"]
        case .education:
            return ["education", "educated", "degree", "diploma", "phd", "doctorate", "bachelor", "bachelor's", "master",
                    "master's", "school", "university", "college", "graduate", "vocational"]
        case .occupation: return ["occupation", "job", "profession", "career", "employment", "employed", "works"] + LoanProfile.occupations
        case .nationality:
            return ["nationality", "national", "citizen", "citizenship", "country", "origin", "foreign", "immigrant"]
                + LoanProfile.nationalities + ["Canada", "America", "United States", "USA", "Mexico", "France", "Germany",
                                               "India", "Brazil", "Japan", "Nigeria", "Britain", "UK", "China", "Italy"]
        }
    }

    /// Whether `text` mentions the attribute (a lexicon word as a whole word, case-insensitive).
    public func isMentioned(in text: String) -> Bool {
        let lower = text.lowercased()
        for word in lexicon {
            let w = word.lowercased()
            var search = lower.startIndex..<lower.endIndex
            while let r = lower.range(of: w, range: search) {
                let before = r.lowerBound == lower.startIndex ? nil : lower[lower.index(before: r.lowerBound)]
                let after = r.upperBound == lower.endIndex ? nil : lower[r.upperBound]
                let boundary: (Character?) -> Bool = { c in c.map { !($0.isLetter || $0.isNumber) } ?? true }
                if boundary(before) && boundary(after) { return true }
                search = r.upperBound..<lower.endIndex
            }
        }
        return false
    }
}

/// A comparison that decides a synthetic profile's label, e.g. `nationality == Canadian` or `net_income < 0`.
/// Categorical attributes take `==`/`!=` and a value from the generator's vocabulary (case-insensitive;
/// a leading article may be left out: `education == PhD`); numeric ones take `==`, `!=`, `<`, `<=`, `>`, `>=`
/// and an integer.
public struct LoanCriterion: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Op: String, Sendable, Codable, CaseIterable { case eq = "==", ne = "!=", le = "<=", ge = ">=", lt = "<", gt = ">" }

    public var attribute: LoanAttribute
    public var op: Op
    /// The value as written in the vocabulary (categorical) or the integer as text (numeric).
    public var value: String

    public var description: String { "\(attribute.rawValue) \(op.rawValue) \(value)" }

    /// Parses `attribute op value`; errors name what is wrong.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        var found: (Op, Range<String.Index>)?
        for o in Op.allCases {
            guard let r = t.range(of: o.rawValue) else { continue }
            if let f = found, f.1.lowerBound < r.lowerBound || (f.1.lowerBound == r.lowerBound && f.0.rawValue.count >= o.rawValue.count) {
                continue
            }
            found = (o, r)
        }
        guard let op = found else {
            throw ReasoningError.badCriterion(text, reason: "expected 'attribute OP value' with OP one of ==, !=, <, <=, >, >=")
        }
        let name = t[..<op.1.lowerBound].trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
        var raw = t[op.1.upperBound...].trimmingCharacters(in: .whitespaces)
        if raw.count >= 2, let f = raw.first, f == raw.last, f == "'" || f == "\"" { raw = String(raw.dropFirst().dropLast()) }
        guard let attr = LoanAttribute(rawValue: name == "netincome" ? "net_income" : name) else {
            throw ReasoningError.badCriterion(text, reason: "unknown attribute '\(name)' (use \(LoanAttribute.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard !raw.isEmpty else { throw ReasoningError.badCriterion(text, reason: "missing value after \(op.0.rawValue)") }
        attribute = attr
        self.op = op.0
        if attr.isNumeric {
            guard let v = Int(raw) else { throw ReasoningError.badCriterion(text, reason: "\(attr.rawValue) needs an integer, got '\(raw)'") }
            value = String(v)
        } else {
            guard op.0 == .eq || op.0 == .ne else {
                throw ReasoningError.badCriterion(text, reason: "\(attr.rawValue) is categorical: use == or !=")
            }
            let vocab = LoanProfile.vocabulary(attr)
            func bare(_ s: String) -> String {
                let l = s.lowercased()
                for a in ["a ", "an "] where l.hasPrefix(a) { return String(l.dropFirst(a.count)) }
                return l
            }
            guard let match = vocab.first(where: { $0.lowercased() == raw.lowercased() || bare($0) == bare(raw) }) else {
                throw ReasoningError.badCriterion(text, reason: "unknown \(attr.rawValue) '\(raw)' (known: \(vocab.joined(separator: ", ")))")
            }
            value = match
        }
        try checkSatisfiable(text)
    }

    /// Whether `profile` meets the criterion.
    public func holds(for profile: LoanProfile) -> Bool {
        if attribute.isNumeric {
            let v = profile.number(attribute), t = Int(value) ?? 0
            switch op {
            case .eq: return v == t
            case .ne: return v != t
            case .lt: return v < t
            case .le: return v <= t
            case .gt: return v > t
            case .ge: return v >= t
            }
        }
        let equal = profile.category(attribute) == value
        return op == .eq ? equal : !equal
    }

    /// The profile fields a twin may change: the attribute itself, and net income's parts
    /// (a net-income criterion changes expenses; an income or expenses criterion changes net income).
    public var changedFields: Set<String> {
        switch attribute {
        case .netIncome: return ["expenses", "net_income"]
        case .income: return ["income", "net_income"]
        case .expenses: return ["expenses", "net_income"]
        default: return [attribute.rawValue]
        }
    }

    /// Rejects criteria no generated profile can satisfy (or fail), e.g. `age > 200`.
    func checkSatisfiable(_ text: String) throws {
        var rng = SplitMix64(seed: 1)
        var seenTrue = false, seenFalse = false
        for _ in 0..<400 {
            let p = LoanProfile.random(&rng)
            for alt in LoanProfile.alternatives(p, changing: self) { if holds(for: alt) { seenTrue = true } else { seenFalse = true } }
            if seenTrue && seenFalse { return }
        }
        throw ReasoningError.badCriterion(text, reason: seenTrue ? "every generated profile meets it" : "no generated profile meets it")
    }
}
