import Foundation

/// One forced re-run (a line of `rows.jsonl`).
public struct TraceRow: Sendable, Codable, Equatable {
    public var rolloutId: String
    public var sample: Int
    /// `original` (prompt P) or `counterfactual` (P′).
    public var source: String
    public var condition: String
    public var fraction: Double?
    public var keptUnits: Int?
    public var totalUnits: Int?
    /// The forced ids decoded (special tokens skipped).
    public var prefix: String
    public var prefixTokens: Int
    /// The forced token ids after the prompt: the first `cutToken` ids of the rollout's reply (nil for unforced runs).
    public var forcedIds: [Int]?
    /// Where the cut fell: reply tokens kept, and the characters (Unicode scalars) of the reply they cover.
    public var cutToken: Int?
    public var cutChar: Int?
    /// The character offset the cut aimed at: the answer value, R's end, a sentence end (nil for a token count).
    public var targetChar: Int?
    /// True when the rollout had no token ids and its completion was re-tokenized whole (older rollouts files).
    public var retokenized: Bool?
    public var completion: String
    /// The lenient answer of the forced ids + the completion, decoded together; nil = invalid.
    public var answer: String?
    public var strictValid: Bool
    /// The rollout's answer y.
    public var originalAnswer: String
    public var consistent: Bool
    /// What following the changed attribute would answer on P′ (its `label`, else the unforced answer on P′).
    public var attributeTarget: String?
    /// Logit variant: probability of each answer's first token.
    public var probabilities: [String: Double]?

    /// The key rows are grouped by in the summary: `condition`, `truncated@f`, `control:condition` on P with a
    /// counterfactual, `unforced-counterfactual` for the plain P′ run.
    public var group: String {
        if condition == TraceCondition.truncated.rawValue, let f = fraction { return "truncated@" + TraceRow.format(f) }
        return condition
    }

    static func format(_ f: Double) -> String { String(format: "%.2f", f) }

    enum CodingKeys: String, CodingKey {
        case rolloutId = "rollout_id", sample, source, condition, fraction, keptUnits = "kept_units", totalUnits = "total_units"
        case prefix, prefixTokens = "prefix_tokens", forcedIds = "forced_ids", cutToken = "cut_token", cutChar = "cut_char"
        case targetChar = "target_char", retokenized, completion, answer, strictValid = "strict_valid"
        case originalAnswer = "original_answer", consistent, attributeTarget = "attribute_target", probabilities
    }
}
