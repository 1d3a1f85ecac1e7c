import Basics
import Foundation

/// A value a chat template works with: the JSON data types plus Jinja's own (undefined, tuples,
/// callables, namespaces). Objects keep their key order, which `tojson`, `items` and `for` expose.
public indirect enum TemplateValue {
    /// A name or key that does not exist (Jinja's default `Undefined`).
    case undefined
    /// Python's `None` / JSON `null`.
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    /// A Python tuple: behaves like an array but prints as `(a, b)`.
    case tuple([TemplateValue])
    case object(TemplateObject)
    /// A macro, global function or bound method; may carry attributes (e.g. `loop.index`).
    case function(TemplateFunction)
    /// A `namespace()` object: mutable attributes shared by reference.
    case namespace(TemplateNamespace)
}

/// A string-keyed dictionary that remembers insertion order (like a Python `dict`).
public struct TemplateObject {
    public private(set) var keys: [String] = []
    private var storage: [String: TemplateValue] = [:]

    public init() {}

    /// Builds an object from key/value pairs; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, TemplateValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }

    /// Key/value pairs in insertion order.
    public var pairs: [(String, TemplateValue)] { keys.map { ($0, storage[$0] ?? TemplateValue.none) } }

    /// Values in insertion order.
    public var values: [TemplateValue] { keys.map { storage[$0] ?? TemplateValue.none } }

    /// Calls `body` with each value in insertion order, without building an array.
    func forEachValue(_ body: (TemplateValue) throws -> Void) rethrows {
        for k in keys { if let v = storage[k] { try body(v) } }
    }
}

/// A callable value. Its body is internal to the module; templates call it with positional and keyword arguments.
public final class TemplateFunction {
    let name: String
    let body: (_ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> TemplateValue
    /// Attribute lookup (`loop.index`); nil for functions without attributes.
    let attributes: ((String) -> TemplateValue?)?

    init(_ name: String, attributes: ((String) -> TemplateValue?)? = nil,
         _ body: @escaping ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) {
        self.name = name
        self.body = body
        self.attributes = attributes
    }
}

/// The object `namespace(...)` returns; `{% set ns.x = ... %}` mutates it in place.
public final class TemplateNamespace {
    var attributes: TemplateObject
    /// The deepest level at which the sandbox has seen this namespace inside another value (1: on its own).
    /// A namespace is the one container that changes after it is nested, so assignments to it check this.
    var level = 1
    init(_ attributes: TemplateObject) { self.attributes = attributes }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(TemplateObject(elements)) }
}

extension TemplateValue {
    /// Parses JSON text, keeping the key order of every object. Numbers without a fraction or exponent
    /// become `.int` (when they fit), the rest `.double`, as Python's `json` does; nesting is bounded like
    /// template values, so reading (and later printing or freeing) a hostile document cannot exhaust the stack.
    public init(json data: Data) throws {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(data, options: JSONParseOptions(maxDepth: TemplateLimits.default.maxValueNesting))
        } catch let error as JSONError {
            throw TemplateError(.json, "Invalid JSON: \(error)")
        }
        self.init(json: parsed)
    }

    /// A parsed JSON value; a key an object repeats keeps its first position and last value (a Python dict).
    public init(json value: JSONValue) {
        switch value {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number:
            if let i = value.integer { self = .int(i) } else { self = .double(value.double ?? .nan) }
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(TemplateValue.init(json:)))
        case .object(let members): self = .object(TemplateObject(members.map { ($0.key, TemplateValue(json: $0.value)) }))
        }
    }

    /// Parses JSON text, keeping the key order of every object.
    public init(json text: String) throws {
        try self.init(json: Data(text.utf8))
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
    var isNone: Bool { if case .none = self { return true } else { return false } }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .object(let o): return o.count > 0
        case .function, .namespace: return true
        }
    }

    /// The Python type name, used in error messages ("'dict object' has no attribute ...").
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .object: return "dict"
        case .function: return "function"
        case .namespace: return "Namespace"
        }
    }

    /// Elements when the value is a list or tuple.
    var sequence: [TemplateValue]? {
        switch self {
        case .array(let a), .tuple(let a): return a
        default: return nil
        }
    }

    /// Numeric view for arithmetic (bools count as ints, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
