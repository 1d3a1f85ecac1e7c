import Foundation

// Means over nothing (no prompts in a condition, no reply tokens) are NaN, which JSON cannot hold:
// results write them as `null` and read `null` back as NaN, so a run with an empty condition still
// publishes everything else instead of failing at the last step.
extension KeyedEncodingContainer {
    /// `value`, or `null` where it is not finite (JSON has no NaN): an undefined mean, not an error.
    mutating func encodeNumberOrNull(_ value: Double, forKey key: Key) throws {
        if value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// A number written by `encodeNumberOrNull`: `null` (or absent) reads back as NaN.
    func decodeNumberOrNaN(_ key: Key) throws -> Double {
        try decodeIfPresent(Double.self, forKey: key) ?? .nan
    }
}
