import XCTest
import Basics

final class JSONWriterTests: XCTestCase {
    func testQuoteEscapesAsSerdeAndPython() {
        // serde_json and json.dumps(ensure_ascii=False) agree: short escapes, else \u00XX in lower case; DEL kept.
        XCTAssertEqual(JSONWriter.quote("a\"b\\c/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é💥"),
                       "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7F}é💥\"")
        XCTAssertEqual(JSONWriter.quote("plain text"), "\"plain text\"")
        // ensure_ascii=True: UTF-16 units, DEL too.
        XCTAssertEqual(JSONWriter.quote("é💥\u{7F}~", asciiOnly: true), "\"\\u00e9\\ud83d\\udca5\\u007f~\"")
    }

    func testLayouts() throws {
        let v = try JSONValue.parse(#"{"b": [1, {"x": null}], "a": "é", "e": [], "o": {}}"#)
        XCTAssertEqual(v.text(), #"{"b":[1,{"x":null}],"a":"é","e":[],"o":{}}"#)
        XCTAssertEqual(v.text(.pretty), """
        {
          "b": [
            1,
            {
              "x": null
            }
          ],
          "a": "é",
          "e": [],
          "o": {}
        }
        """)
        // json.dumps(v, sort_keys=True) with Python's default separators and ensure_ascii.
        let python = JSONFormat(itemSeparator: ", ", keySeparator: ": ", sortKeys: true, asciiOnly: true)
        XCTAssertEqual(v.text(python), #"{"a": "\u00e9", "b": [1, {"x": null}], "e": [], "o": {}}"#)
    }

    /// Containers from `indentedLevels` down are written on one line, so deep nesting stays linear in size.
    func testIndentationStopsAtTheLevelLimit() throws {
        var format = JSONFormat.pretty
        format.indentedLevels = 1
        XCTAssertEqual(try JSONValue.parse(#"{"a": [1, {"b": 2}], "c": 3}"#).text(format),
                       "{\n  \"a\": [1,{\"b\": 2}],\n  \"c\": 3\n}")
        var deep = JSONValue.int(0)
        for _ in 0..<1000 { deep = .array([deep]) }
        format.indentedLevels = 64
        let text = deep.text(format)
        // 2,000 brackets plus the indentation of 64 levels (about 8,300 bytes); all 1,000 would take 2 MB.
        XCTAssertLessThan(text.utf8.count, 11_000)
        XCTAssertEqual(try JSONValue.parse(text, options: JSONParseOptions(maxDepth: 1000)), deep)
    }

    func testRoundTrip() throws {
        let text = #"{"k":[1e400,-0,"\u0000",true,{"k":2,"k":3}],"":18446744073709551616}"#
        XCTAssertEqual(try JSONValue.parse(text).text(), text)
        XCTAssertEqual(try JSONValue.parse(JSONValue.parse(text).text(.pretty)), try JSONValue.parse(text))
    }

    func testErrorText() {
        XCTAssertEqual(JSONValue.string("a\"b").errorText, #""a\"b""#)
        XCTAssertEqual(JSONValue.int(-3).errorText, "-3")
        XCTAssertEqual(JSONValue.array([]).errorText, "an array")
        XCTAssertEqual(JSONValue.string(String(repeating: "x", count: 100)).errorText,
                       "\"" + String(repeating: "x", count: 60) + "\"…")
    }
}
