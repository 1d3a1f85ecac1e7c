import Foundation

/// Structure-aware mutation of a JSON document: values replaced by interesting ones of the same or
/// another type, numbers nudged, members deleted, duplicated or added from a vocabulary of keys
/// the target reads, subtrees nested deeply or swapped. Each kind supplies its vocabulary.
public struct JSONMutator {
    /// Keys worth adding, each with values worth trying for it (empty: any interesting value).
    public var vocabulary: [String: [FuzzJSON]]
    /// Object paths (from the root, by key) where vocabulary keys may be added; `[]` is the root.
    public var insertionPoints: [[String]]

    public init(vocabulary: [String: [FuzzJSON]] = [:], insertionPoints: [[String]] = [[]]) {
        self.vocabulary = vocabulary
        self.insertionPoints = insertionPoints
    }

    /// `count` mutations of `tree`.
    public func mutate(_ tree: FuzzJSON, count: Int, rng: inout FuzzRandom) -> FuzzJSON {
        var t = tree
        for _ in 0..<count { t = mutateOnce(t, rng: &rng) }
        return t
    }

    func mutateOnce(_ tree: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        let paths = tree.paths()
        guard let path = rng.pick(paths) else { return tree }
        switch rng.below(12) {
        case 0, 1:
            // A value the vocabulary suggests for this key, else an interesting one.
            let key = tree.key(at: path)
            return tree.replacing(at: path[...]) { node in suggestion(for: key, replacing: node, rng: &rng) }
        case 2, 3:
            return tree.replacing(at: path[...]) { node in nudge(node, rng: &rng) }
        case 4:
            return path.isEmpty ? tree : tree.replacing(at: path[...]) { _ in nil }
        case 5, 6:
            return insertKey(tree, rng: &rng)
        case 7:
            return tree.replacing(at: path[...]) { node in duplicateChild(node, rng: &rng) }
        case 8:
            let depth = rng.pick(2, 8, 100, 600, 5000)
            return tree.replacing(at: path[...]) { node in nest(node, depth: depth, asArray: rng.chance(0.5)) }
        case 9:
            guard let other = rng.pick(paths), let donor = tree.node(at: other[...]) else { return tree }
            return tree.replacing(at: path[...]) { _ in donor }
        case 10:
            return tree.replacing(at: path[...]) { _ in Self.randomValue(rng: &rng) }
        default:
            return tree.replacing(at: path[...]) { node in retype(node, rng: &rng) }
        }
    }

    func suggestion(for key: String?, replacing node: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        if let key, let values = vocabulary[key], !values.isEmpty, rng.chance(0.7), let v = rng.pick(values) { return v }
        if case .number = node { return .number(rng.chance(0.6) ? rng.pick(Interesting.integers)! : rng.pick(Interesting.reals)!) }
        return Self.randomValue(rng: &rng)
    }

    /// A number scaled, negated or shifted; a string lengthened, cut or made odd; a bool flipped.
    func nudge(_ node: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        switch node {
        case .number(let text):
            let v = Double(text) ?? 0
            let isInt = !text.contains(".") && !text.lowercased().contains("e")
            let candidates: [Double] = [v * 2, v / 2, -v, v + 1, v - 1, v * 1000, v * 1e9, 0, v * v, 1 / v]
            let x = rng.pick(candidates) ?? v
            if isInt, x.isFinite, abs(x) < 9e18 { return .number(String(Int64(x.rounded()))) }
            return .number(x.isFinite ? "\(x)" : rng.pick("1e400", "-1e400", "0"))
        case .string(let s):
            switch rng.below(5) {
            case 0: return .string(s + s)
            case 1: return .string(String(s.prefix(rng.below(s.count + 1))))
            case 2:
                // Up to a megabyte: the count is capped before repeating, not after (a long string
                // repeated 20,000 times would need gigabytes).
                let unit = s.isEmpty ? "a" : s
                return .string(String(repeating: unit, count: min(rng.pick(10, 1000, 20_000), max(1, (1 << 20) / unit.utf8.count))))
            case 3: return .string(s + rng.pick(Interesting.strings)!)
            default: return .string(String(s.reversed()))
            }
        case .bool(let b): return .bool(!b)
        case .array(let items): return .array(rng.chance(0.5) ? Array(items.dropLast()) : items + items)
        default: return Self.randomValue(rng: &rng)
        }
    }

    func insertKey(_ tree: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        guard let key = rng.pick(vocabulary.keys.sorted()), let at = rng.pick(insertionPoints) else { return tree }
        let value = vocabulary[key].flatMap { rng.pick($0) } ?? Self.randomValue(rng: &rng)
        // Find the object at `at` by keys; add or replace the member.
        var path: [FuzzJSON.Step] = []
        var node = tree
        for k in at {
            guard case .object(let members) = node, let i = members.firstIndex(where: { $0.0 == k }) else {
                // Create the missing object at the root when the insertion point is one level deep.
                if path.isEmpty, case .object(var members) = tree {
                    members.append((k, .object([(key, value)])))
                    return .object(members)
                }
                return tree
            }
            path.append(.member(i))
            node = members[i].1
        }
        return tree.replacing(at: path[...]) { target in
            guard case .object(var members) = target else { return target }
            if let i = members.firstIndex(where: { $0.0 == key }), rng.chance(0.8) { members[i].1 = value } else { members.append((key, value)) }
            return .object(members)
        }
    }

    func duplicateChild(_ node: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        switch node {
        case .array(var items):
            guard let item = rng.pick(items) else { return node }
            // Many copies only of small items: a thousand copies of a large subtree would make
            // cases of hundreds of megabytes that test nothing but the size limits.
            let times = item.isSmaller(than: 256) ? rng.pick(1, 1, 10, 1000) : rng.pick(1, 2, 10)
            for _ in 0..<times { items.insert(item, at: rng.below(items.count + 1)) }
            return .array(items)
        case .object(var members):
            guard let m = rng.pick(members) else { return node }
            members.append(m)   // a repeated key
            return .object(members)
        default: return node
        }
    }

    func nest(_ node: FuzzJSON, depth: Int, asArray: Bool) -> FuzzJSON {
        var out = node
        for _ in 0..<depth { out = asArray ? .array([out]) : .object([("a", out)]) }
        return out
    }

    func retype(_ node: FuzzJSON, rng: inout FuzzRandom) -> FuzzJSON {
        switch node {
        case .number(let n): return rng.chance(0.5) ? .string(n) : .array([node])
        case .string(let s): return Double(s) != nil ? .number(s) : rng.pick(.array([node]), .object([(s, node)]), .null)
        case .array(let items): return items.first ?? .object([])
        case .object(let members): return .array(members.map(\.1))
        default: return .string("\(node.text())")
        }
    }

    /// Any interesting value: a number (integer or real text), string, bool, null or small container.
    public static func randomValue(rng: inout FuzzRandom) -> FuzzJSON {
        switch rng.below(7) {
        case 0, 1: return .number(rng.pick(Interesting.integers)!)
        case 2: return .number(rng.pick(Interesting.reals)!)
        case 3: return .string(rng.pick(Interesting.strings)!)
        case 4: return rng.pick(.null, .bool(true), .bool(false))
        case 5: return .array((0..<rng.below(4)).map { _ in .number(rng.pick(Interesting.integers)!) })
        default: return .object([])
        }
    }
}
