import Basics
import Foundation

/// Where a split's prompts came from: enough to record in a run manifest.
public struct PromptSource: Sendable, Equatable, Codable {
    /// The file path as given.
    public var path: String
    /// SHA-256 of the file's bytes (hex).
    public var sha256: String
    public var format: PromptFormat
    /// Prompts kept after dropping duplicates.
    public var prompts: Int
    public var duplicatesDropped: Int
    /// Which split(s) the file fed: "train+val+test" for a shuffled file, else "train", "val" or "test".
    public var role: String

    public init(_ set: PromptSet, role: String) {
        path = set.path
        sha256 = set.sha256
        format = set.format
        prompts = set.count
        duplicatesDropped = set.duplicatesDropped
        self.role = role
    }
}

/// Train / validation / test prompts of one class (e.g. harmful or harmless), with provenance.
public struct PromptSplit: Sendable, Equatable, Codable {
    /// The defaults of the refusal-direction method (SPEC): 128 train and 32 validation prompts per class.
    public static let defaultTrain = 128
    public static let defaultVal = 32

    public var train: [PromptRow]
    public var val: [PromptRow]
    public var test: [PromptRow]
    /// The input files and their hashes.
    public var sources: [PromptSource]
    /// The shuffle seed; nil when the splits came from separate files.
    public var seed: UInt64?

    public init(train: [PromptRow], val: [PromptRow], test: [PromptRow], sources: [PromptSource], seed: UInt64?) {
        self.train = train
        self.val = val
        self.test = test
        self.sources = sources
        self.seed = seed
    }

    /// Shuffles one set with `SplitMix64(seed:)` (Fisher–Yates, see `SplitMix64.shuffle`) and cuts it
    /// into consecutive train, val and test parts, in shuffled order.
    /// - Parameters:
    ///   - train: train size (default 128).
    ///   - val: validation size (default 32).
    ///   - test: test size; nil takes every prompt left over (possibly none).
    /// - Throws: `PromptSetError.tooSmall` naming the file and how many prompts it has when the
    ///   sizes add up to more; `.badSizes` for negative sizes.
    public static func shuffled(_ set: PromptSet, train: Int = defaultTrain, val: Int = defaultVal, test: Int? = nil,
                                seed: UInt64) throws -> PromptSplit {
        guard train >= 0, val >= 0, (test ?? 0) >= 0 else {
            throw PromptSetError.badSizes("negative size (train \(train), val \(val), test \(test.map(String.init) ?? "rest"))")
        }
        let needed = train + val + (test ?? 0)
        guard set.count >= needed else {
            let detail = "train \(train) + val \(val)" + (test.map { " + test \($0)" } ?? "")
            throw PromptSetError.tooSmall(path: set.path, available: set.count, requested: needed, detail: detail)
        }
        let order = SplitMix64.permutation(count: set.count, seed: seed)
        let rows = order.map { set.rows[$0] }
        let testEnd = test.map { train + val + $0 } ?? rows.count
        return PromptSplit(train: Array(rows[0..<train]), val: Array(rows[train..<(train + val)]),
                           test: Array(rows[(train + val)..<testEnd]),
                           sources: [PromptSource(set, role: "train+val+test")], seed: seed)
    }

    /// Reads one file and splits it (see `shuffled(_:train:val:test:seed:)`).
    public static func load(_ url: URL, field: String? = nil, train: Int = defaultTrain, val: Int = defaultVal,
                            test: Int? = nil, seed: UInt64) throws -> PromptSplit {
        try shuffled(PromptSet.load(url, field: field), train: train, val: val, test: test, seed: seed)
    }

    /// Uses one file per split, in file order, unshuffled.
    /// - Throws: the files' reading errors, or `PromptSetError.overlap` when a prompt (same key as
    ///   for duplicates) occurs in two of the files.
    public static func load(train: URL, val: URL? = nil, test: URL? = nil, field: String? = nil) throws -> PromptSplit {
        let trainSet = try PromptSet.load(train, field: field)
        let valSet = try val.map { try PromptSet.load($0, field: field) }
        let testSet = try test.map { try PromptSet.load($0, field: field) }
        return try fromSets(train: trainSet, val: valSet, test: testSet)
    }

    /// Uses already-read sets as the splits, checking that no prompt is in two of them.
    public static func fromSets(train: PromptSet, val: PromptSet?, test: PromptSet?) throws -> PromptSplit {
        var firstSeen: [String: (path: String, line: Int)] = [:]
        for set in [train, val, test].compactMap({ $0 }) {
            var inThisSet = Set<String>()
            for row in set.rows {
                let key = row.dedupKey
                if let earlier = firstSeen[key], !inThisSet.contains(key) {
                    throw PromptSetError.overlap(first: earlier.path, firstLine: earlier.line, second: set.path,
                                                 secondLine: row.line, text: row.text)
                }
                inThisSet.insert(key)
                firstSeen[key] = firstSeen[key] ?? (set.path, row.line)
            }
        }
        var sources = [PromptSource(train, role: "train")]
        if let val { sources.append(PromptSource(val, role: "val")) }
        if let test { sources.append(PromptSource(test, role: "test")) }
        return PromptSplit(train: train.rows, val: val?.rows ?? [], test: test?.rows ?? [], sources: sources, seed: nil)
    }
}
