import Foundation
import ModelFormats

/// A JSON tree for mutation. Numbers keep their text, so mutants can hold numbers no parser
/// represents (`1e400`, 30-digit integers); objects keep member order and may repeat keys.
public indirect enum FuzzJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([FuzzJSON])
    case object([(String, FuzzJSON)])

    public static func == (a: FuzzJSON, b: FuzzJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)), let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Parses JSON text as written (member order, repeated keys and number text kept).
    public static func parse(_ data: Data) -> FuzzJSON? { FuzzJSONParser.parse(data) }

    /// The member `key` of an object.
    public subscript(key: String) -> FuzzJSON? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// Serialises the tree (`pretty`: two-space indentation, as Hugging Face files are written).
    public func text(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    public func data(pretty: Bool = false) -> Data { Data(text(pretty: pretty).utf8) }

    private func write(into out: inout String, pretty requested: Bool, indent: Int) {
        // Indentation stops 64 levels down: deeply nested mutants stay linear in size.
        let pretty = requested && indent < 64
        let newline = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
        let close = pretty ? "\n" + String(repeating: "  ", count: indent) : ""
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += jsonStringLiteral(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i == 0 ? "" : ",") + newline
                item.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            out += close + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                out += (i == 0 ? "" : ",") + newline + jsonStringLiteral(key) + (pretty ? ": " : ":")
                value.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            out += close + "}"
        }
    }

    // MARK: Paths

    /// One step from a node to a child: an object member's position or an array index.
    public enum Step: Equatable, Sendable { case member(Int), element(Int) }

    /// Every path in the tree (the root is `[]`), depth-first, at most `limit` of them.
    public func paths(limit: Int = 50_000) -> [[Step]] {
        var out: [[Step]] = []
        var stack: [([Step], FuzzJSON)] = [([], self)]
        while let (path, node) = stack.popLast(), out.count < limit {
            out.append(path)
            switch node {
            case .array(let items): for i in items.indices.reversed() { stack.append((path + [.element(i)], items[i])) }
            case .object(let members): for i in members.indices.reversed() { stack.append((path + [.member(i)], members[i].1)) }
            default: break
            }
        }
        return out
    }

    /// The node at `path` (nil when the path does not exist).
    public func node(at path: ArraySlice<Step>) -> FuzzJSON? {
        guard let step = path.first else { return self }
        switch (self, step) {
        case let (.array(items), .element(i)) where items.indices.contains(i): return items[i].node(at: path.dropFirst())
        case let (.object(members), .member(i)) where members.indices.contains(i): return members[i].1.node(at: path.dropFirst())
        default: return nil
        }
    }

    /// The key of the member the path ends at, if it ends at an object member.
    public func key(at path: [Step]) -> String? {
        guard case .member(let i)? = path.last, case .object(let members)? = node(at: path.dropLast()[...]),
              members.indices.contains(i) else { return nil }
        return members[i].0
    }

    /// The tree with the node at `path` replaced by `transform(node)`; `nil` from `transform`
    /// removes the node from its parent (the root becomes `null`).
    public func replacing(at path: ArraySlice<Step>, _ transform: (FuzzJSON) -> FuzzJSON?) -> FuzzJSON {
        guard let step = path.first else { return transform(self) ?? .null }
        switch (self, step) {
        case (.array(var items), .element(let i)) where items.indices.contains(i):
            if path.count > 1 { items[i] = items[i].replacing(at: path.dropFirst(), transform) }
            else if let new = transform(items[i]) { items[i] = new } else { items.remove(at: i) }
            return .array(items)
        case (.object(var members), .member(let i)) where members.indices.contains(i):
            if path.count > 1 { members[i].1 = members[i].1.replacing(at: path.dropFirst(), transform) }
            else if let new = transform(members[i].1) { members[i].1 = new } else { members.remove(at: i) }
            return .object(members)
        default:
            return self
        }
    }
}

extension FuzzJSON {
    /// Whether the serialised tree is shorter than `limit` bytes (stops counting at the limit).
    public func isSmaller(than limit: Int) -> Bool {
        var budget = limit
        func visit(_ node: FuzzJSON) -> Bool {
            switch node {
            case .null, .bool: budget -= 5
            case .number(let n): budget -= n.utf8.count
            case .string(let s): budget -= s.utf8.count + 2
            case .array(let items): budget -= 2; for i in items where budget > 0 { _ = visit(i) }
            case .object(let members): budget -= 2; for m in members where budget > 0 { budget -= m.0.utf8.count + 3; _ = visit(m.1) }
            }
            return budget > 0
        }
        return visit(self)
    }

    /// The tree with member `key` of the root object replaced by `transform(member)` (added when
    /// absent, removed when `transform` gives nil).
    public func replacingMember(_ key: String, _ transform: (FuzzJSON?) -> FuzzJSON?) -> FuzzJSON {
        guard case .object(var members) = self else { return self }
        if let i = members.firstIndex(where: { $0.0 == key }) {
            if let new = transform(members[i].1) { members[i].1 = new } else { members.remove(at: i) }
        } else if let new = transform(nil) {
            members.append((key, new))
        }
        return .object(members)
    }
}
