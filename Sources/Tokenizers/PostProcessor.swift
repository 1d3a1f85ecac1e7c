import Basics
import Foundation

/// A tokenizer.json `post_processor`: adds special tokens (BOS, ...) around a single sequence
/// when `addSpecialTokens` is true. Pair templates are not needed for chat use and are ignored.
indirect enum PostProcessor {
    case sequence([PostProcessor])
    /// Ids before and after the sequence.
    case template(prefix: [Int], suffix: [Int])
    /// ByteLevel (offsets only) and others that leave ids alone.
    case identity

    init(json: JSONFields) throws {
        let type = try json.type()
        switch type {
        case "Sequence":
            guard let list = try json.objects("processors") else {
                throw TokenizerError.missingKey(file: json.file, key: json.keyPath("processors"))
            }
            self = .sequence(try list.map(PostProcessor.init(json:)))
        case "ByteLevel":
            self = .identity
        case "TemplateProcessing":
            self = try Self.template(json)
        case "RobertaProcessing", "BertProcessing":
            func idOf(_ key: String) throws -> Int {
                guard let pair = try json.array(key), pair.count == 2, let id = pair[1].wholeNumber else {
                    throw json.invalid(key, "expected [token, id]")
                }
                return id
            }
            self = .template(prefix: [try idOf("cls")], suffix: [try idOf("sep")])
        default:
            throw TokenizerError.unsupportedType(file: json.file, component: "post_processor", type: type)
        }
    }

    private static func template(_ json: JSONFields) throws -> PostProcessor {
        guard let single = try json.array("single") else {
            throw TokenizerError.missingKey(file: json.file, key: json.keyPath("single"))
        }
        let specials = try json.object("special_tokens")
        var prefix: [Int] = [], suffix: [Int] = []
        var seenSequence = false
        for (i, item) in single.enumerated() {
            let piece = try json.element(item, of: "single", at: i)
            if piece.has("Sequence") {
                seenSequence = true
            } else if let special = try piece.object("SpecialToken") {
                let name = try special.requiredString("id")
                guard let entry = try specials?.object(name), let ids = try entry.array("ids") else {
                    throw json.invalid("special_tokens", "no entry for '\(name)'")
                }
                let values = try ids.map { v -> Int in
                    guard let id = v.wholeNumber else {
                        throw json.invalid("special_tokens.\(name).ids", "expected integers")
                    }
                    return id
                }
                if seenSequence { suffix += values } else { prefix += values }
            } else {
                throw json.invalid("single[\(i)]", "expected Sequence or SpecialToken")
            }
        }
        return .template(prefix: prefix, suffix: suffix)
    }

    func process(_ ids: [Int]) -> [Int] {
        switch self {
        case .sequence(let list): return list.reduce(ids) { $1.process($0) }
        case .template(let prefix, let suffix): return prefix + ids + suffix
        case .identity: return ids
        }
    }
}
