import XCTest
import Basics

final class JSONParserTests: XCTestCase {
    func parse(_ text: String, _ options: JSONParseOptions = .init()) throws -> JSONValue {
        try JSONValue.parse(text, options: options)
    }

    func error(_ text: String, _ options: JSONParseOptions = .init(), line: UInt = #line) -> JSONError? {
        do {
            _ = try parse(text, options)
            XCTFail("parsed: \(text.prefix(40))", line: line)
            return nil
        } catch {
            guard let e = error as? JSONError else { XCTFail("\(error)", line: line); return nil }
            return e
        }
    }

    func testObjectsKeepSourceOrderAndRepeatedKeys() throws {
        let v = try parse(#" {"z": 1, "a": [true, false, null], "m": {}, "z": "last"} "#)
        XCTAssertEqual(v.members?.map(\.key), ["z", "a", "m", "z"])
        XCTAssertEqual(v["z"], .string("last"))   // a lookup sees the last, as Python's json does
        XCTAssertEqual(v["a"], .array([.bool(true), .bool(false), .null]))
        XCTAssertEqual(v["m"], .object([]))
        XCTAssertNil(v["missing"])
        XCTAssertNil(JSONValue.array([])["z"])
    }

    func testNumbersKeepTheirText() throws {
        let v = try parse("[9223372036854775807, -9223372036854775808, 18446744073709551616, 2.0, 1e3, -0, 1E400, 0.5]")
        let items = try XCTUnwrap(v.array)
        XCTAssertEqual(items.map { $0.numberText ?? "" },
                       ["9223372036854775807", "-9223372036854775808", "18446744073709551616", "2.0", "1e3", "-0", "1E400", "0.5"])
        XCTAssertEqual(items[0].integer, Int.max)
        XCTAssertEqual(items[1].integer, Int.min)
        XCTAssertNil(items[2].integer)                 // beyond Int: still a number, read as a double
        XCTAssertEqual(items[2].double, 0x1p64)
        XCTAssertNil(items[3].integer)                 // written with a fraction
        XCTAssertEqual(items[3].wholeNumber, 2)
        XCTAssertEqual(items[4].wholeNumber, 1000)
        XCTAssertEqual(items[5].integer, 0)
        XCTAssertEqual(items[6].double, .infinity)
        XCTAssertNil(items[7].wholeNumber)
        XCTAssertNil(items[2].wholeNumber)             // 2^64 is not an Int
        XCTAssertTrue(items[2].isIntegerLiteral)
        XCTAssertFalse(items[4].isIntegerLiteral)
        XCTAssertEqual(v.text(), "[9223372036854775807,-9223372036854775808,18446744073709551616,2.0,1e3,-0,1E400,0.5]")
    }

    func testStringsAndEscapes() throws {
        let v = try parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\udca5", "é💥", ""]"#)
        XCTAssertEqual(v.array?.compactMap(\.string), ["a\"b\\c/d\u{08}\u{0C}\n\r\t", "é€", "💥", "é💥", ""])
    }

    func testLoneSurrogates() throws {
        XCTAssertEqual(try parse(#""a\ud800b""#), .string("a\u{FFFD}b"))
        XCTAssertEqual(try parse(#""\udc00""#), .string("\u{FFFD}"))
        XCTAssertEqual(try parse(#""\ud800\u0041""#), .string("\u{FFFD}A"))   // the second escape stands alone
        let strict = JSONParseOptions(rejectLoneSurrogates: true)
        XCTAssertEqual(error(#""a\ud800b""#, strict)?.reason, "lone surrogate in a \\u escape")
        XCTAssertEqual(try parse(#""\ud83d\udca5""#, strict), .string("💥"))
    }

    func testStrictGrammar() {
        let bad = ["", " ", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "NaN", "[Infinity]", "[-]",
                   "// c\n1", "'a'", "{a:1}", "[1 2]", "{\"a\" 1}", "\"\u{01}\"", "\"abc", "\"\\x\"", "\"\\u12\"", "tru",
                   "nul", "[1] x", "{\"a\":1}}", "\u{FEFF}{}", "[\"\\u00zz\"]"]
        for text in bad { XCTAssertNotNil(error(text), text.debugDescription) }
        for good in ["0", "-0.0e-0", "[]", "{}", "\"\"", "true", " \n\t\r null \n", "[1E+2, -1e-2]"] {
            XCTAssertNoThrow(try parse(good), good.debugDescription)
        }
    }

    func testErrorsGiveLineAndColumn() {
        let e = error("{\n  \"a\": 1,\n  \"é\": [1, 2,, 3]\n}")
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, 14)   // characters, not bytes: "é" is one
        XCTAssertEqual(e?.description, "unexpected character ',' at line 3, column 14")
        XCTAssertEqual(error("[1, 2")?.reason, "expected ',' or ']'")
        XCTAssertEqual(error("[007]")?.column, 2)
        XCTAssertEqual(error("{\"k\": \"a\nb\"}")?.reason, "control character byte 0xa in a string")
    }

    func testDepthLimit() throws {
        let deep = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        XCTAssertNoThrow(try parse(deep(512)))
        XCTAssertEqual(error(deep(513))?.reason, "nested more than 512 levels deep")
        XCTAssertNoThrow(try parse(deep(10), JSONParseOptions(maxDepth: 10)))
        XCTAssertNotNil(error(deep(100_000)))   // refused before the stack is at risk
        XCTAssertNotNil(error(String(repeating: "{\"a\":", count: 11) + "1" + String(repeating: "}", count: 11),
                              JSONParseOptions(maxDepth: 10)))
    }

    func testRejectingDuplicateKeys() throws {
        let options = JSONParseOptions(rejectDuplicateKeys: true)
        XCTAssertEqual(error(#"{"a": 1, "b": {"c": 1, "c": 2}}"#, options)?.reason, #"duplicate key "c""#)
        // Past a few members the check uses a set: the same answer.
        let many = (0..<40).map { "\"k\($0)\": \($0)" }.joined(separator: ",")
        XCTAssertNoThrow(try parse("{\(many)}", options))
        XCTAssertNotNil(error("{\(many), \"k7\": 0}", options))
    }

    func testParsesBytesFromAnyContainer() throws {
        let text = #"{"a": [1, "x"]}"#
        let expected = JSONValue.object([("a", .array([.int(1), .string("x")]))])
        XCTAssertEqual(try JSONValue.parse(Array(text.utf8)), expected)
        XCTAssertEqual(try JSONValue.parse(Data(text.utf8)), expected)
        XCTAssertEqual(try JSONValue.parse(text.utf8), expected)
    }
}
