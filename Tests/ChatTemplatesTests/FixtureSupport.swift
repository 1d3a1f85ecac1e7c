import Foundation
import XCTest
@testable import ChatTemplates

/// Loads the fixtures recorded by `scripts/make_template_fixtures.py` (expected renderings come from transformers).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/chat-templates")

    /// The fixed clock the fixtures were recorded with (2025-03-07 14:05:09, naive, read here as UTC).
    static let now: Date = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: 2025, month: 3, day: 7, hour: 14, minute: 5, second: 9))!
    }()

    static func load(_ relative: String) throws -> TemplateValue {
        try TemplateValue(json: Data(contentsOf: root.appendingPathComponent(relative)))
    }
}

extension TemplateValue {
    subscript(key: String) -> TemplateValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var arrayValue: [TemplateValue] {
        if case .array(let a) = self { return a }
        return []
    }

    var objectValue: TemplateObject? {
        if case .object(let o) = self { return o }
        return nil
    }
}

/// Shows where two strings first differ, for readable failures.
func firstDifference(_ a: String, _ b: String) -> String {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    var i = 0
    while i < x.count, i < y.count, x[i] == y[i] { i += 1 }
    func around(_ s: [Unicode.Scalar]) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s[max(0, i - 40)..<min(s.count, i + 40)])
        return String(v).debugDescription
    }
    return "at scalar \(i): got \(around(x)) expected \(around(y))"
}
