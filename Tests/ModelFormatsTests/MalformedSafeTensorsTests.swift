// Every kind of malformed safetensors file produces its own error, naming file and tensor.
import Foundation
import XCTest
@testable import ModelFormats

final class MalformedSafeTensorsTests: XCTestCase {
    var tmp: TemporaryFolder!
    let source = Fixtures.url("small_f32.safetensors")
    // The entry of one tensor as the Python library wrote it (checked present before each edit).
    let embed = #""embed.weight":{"dtype":"F32","shape":[5,3],"data_offsets":[48,108]}"#

    override func setUpWithError() throws { tmp = try TemporaryFolder() }
    override func tearDown() { tmp = nil }

    /// Writes `bytes` to a temporary file and returns the error opening it.
    func openError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> (FormatError?, String) {
        let url = tmp.file("bad-\(UUID().uuidString).safetensors")
        XCTAssertNoThrow(try Data(bytes).write(to: url), file: file, line: line)
        do {
            _ = try SafeTensorsFile(url: url)
            XCTFail("opened a malformed file", file: file, line: line)
            return (nil, url.path)
        } catch {
            XCTAssertTrue("\(error)".contains(url.path), "message must name the file: \(error)", file: file, line: line)
            return (error as? FormatError, url.path)
        }
    }

    func edited(_ edit: (inout SafeTensorsBytes) -> Void) throws -> [UInt8] {
        var b = try SafeTensorsBytes(contentsOf: source)
        edit(&b)
        return b.bytes
    }

    func withLength(_ length: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: source))
        withUnsafeBytes(of: length.littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
        return bytes
    }

    func testFileShorterThanEightBytes() throws {
        let bytes = Array([UInt8](try Data(contentsOf: source)).prefix(5))
        let (error, path) = openError(bytes)
        XCTAssertEqual(error, .fileTooShort(path: path, size: 5, needed: 8))
        let (emptyError, emptyPath) = openError([])
        XCTAssertEqual(emptyError, .fileTooShort(path: emptyPath, size: 0, needed: 8))
    }

    func testHeaderLengthZeroTooLargeOrPastEnd() throws {
        for length: UInt64 in [0, 100_000_001, UInt64.max, 1 << 40] {
            guard case .invalidHeaderLength(_, let got, _, _)? = openError(try withLength(length)).0 else {
                return XCTFail("length \(length)")
            }
            XCTAssertEqual(got, length)
        }
        let size = try Data(contentsOf: source).count
        guard case .invalidHeaderLength(_, _, _, let reason)? = openError(try withLength(UInt64(size - 7))).0 else {
            return XCTFail("past end")
        }
        XCTAssertTrue(reason.contains("past the end"), reason)
    }

    func testHeaderNotUTF8() throws {
        var bytes = try edited { _ in }
        bytes[8 + 20] = 0xFF
        guard case .invalidHeader(_, let reason)? = openError(bytes).0 else { return XCTFail() }
        XCTAssertTrue(reason.contains("UTF-8"), reason)
    }

    func testHeaderNotJSONOrNotObject() throws {
        let notJSON = try edited { $0.replace(embed, with: #""embed.weight":{"dtype":"F32",}"#) }
        guard case .invalidHeader(_, let r1)? = openError(notJSON).0 else { return XCTFail() }
        XCTAssertTrue(r1.contains("JSON"), r1)
        let array = try edited { $0.header = "[1, 2, 3]" }
        guard case .invalidHeader(_, let r2)? = openError(array).0 else { return XCTFail() }
        XCTAssertTrue(r2.contains("not an object"), r2)
        let duplicate = try edited { $0.replace(embed, with: embed + "," + embed) }
        guard case .invalidHeader(_, let r3)? = openError(duplicate).0 else { return XCTFail() }
        XCTAssertTrue(r3.contains("duplicate"), r3)
    }

    func testEntryMissingFields() throws {
        for field in [#""dtype":"F32","#, #""shape":[5,3],"#, #","data_offsets":[48,108]"#] {
            let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: field, with: "")) }
            guard case .invalidTensorEntry(_, let tensor, let reason)? = openError(bytes).0 else { return XCTFail(field) }
            XCTAssertEqual(tensor, "embed.weight")
            XCTAssertTrue(reason.contains("missing"), reason)
        }
        let notObject = try edited { $0.replace(embed, with: #""embed.weight":[1]"#) }
        guard case .invalidTensorEntry(_, "embed.weight", _)? = openError(notObject).0 else { return XCTFail() }
    }

    func testUnknownDType() throws {
        let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "F32", with: "F31")) }
        let (error, path) = openError(bytes)
        XCTAssertEqual(error, .unknownDType(path: path, tensor: "embed.weight", dtype: "F31"))
    }

    func testNegativeOrNonIntegerShape() throws {
        for shape in ["[-5,3]", "[5.0,3]", #"["5",3]"#, "[5,null]", "5"] {
            let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[5,3]", with: shape)) }
            guard case .invalidTensorEntry(_, "embed.weight", _)? = openError(bytes).0 else { return XCTFail(shape) }
        }
    }

    func testReversedOffsets() throws {
        let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[48,108]", with: "[108,48]")) }
        guard case .invalidOffsets(_, "embed.weight", let reason)? = openError(bytes).0 else { return XCTFail() }
        XCTAssertTrue(reason.contains("after"), reason)
    }

    func testOffsetsOutsideDataArea() throws {
        let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[48,108]", with: "[1000,1060]")) }
        guard case .invalidOffsets(_, "embed.weight", let reason)? = openError(bytes).0 else { return XCTFail() }
        XCTAssertTrue(reason.contains("outside"), reason)
        let negative = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[48,108]", with: "[-12,48]")) }
        guard case .invalidTensorEntry(_, "embed.weight", _)? = openError(negative).0 else { return XCTFail() }
        let truncated = try edited { $0.data.removeLast(2) }
        guard case .invalidOffsets(_, "scalar", _)? = openError(truncated).0 else { return XCTFail() }
    }

    func testOverlappingTensors() throws {
        // Move embed.weight to start inside `positions` ([0, 48)); its size stays right.
        let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[48,108]", with: "[40,100]")) }
        guard case .invalidOffsets(_, let tensor, let reason)? = openError(bytes).0 else { return XCTFail() }
        XCTAssertEqual(tensor, "embed.weight")
        XCTAssertTrue(reason.contains("overlaps") && reason.contains("positions"), reason)
    }

    func testShapeTimesDTypeSizeMismatch() throws {
        let bytes = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "[5,3]", with: "[5,2]")) }
        let (error, path) = openError(bytes)
        XCTAssertEqual(error, .sizeMismatch(path: path, tensor: "embed.weight", expected: 40, actual: 60))
        let f16 = try edited { $0.replace(embed, with: embed.replacingOccurrences(of: "F32", with: "F16")) }
        let (error2, path2) = openError(f16)
        XCTAssertEqual(error2, .sizeMismatch(path: path2, tensor: "embed.weight", expected: 30, actual: 60))
    }

    func testMetadataNotAStringMap() throws {
        for replacement in [#""format":1"#, #""format":["pt"]"#, #""format":null"#] {
            let bytes = try edited { $0.replace(#""format":"pt""#, with: replacement) }
            guard case .invalidMetadata(_, let reason)? = openError(bytes).0 else { return XCTFail(replacement) }
            XCTAssertTrue(reason.contains("format"), reason)
        }
        let notObject = try edited { b in
            let start = b.header.range(of: #""__metadata__":{"#)!
            let end = b.header.range(of: "}", range: start.upperBound..<b.header.endIndex)!
            b.header.replaceSubrange(start.lowerBound..<end.upperBound, with: #""__metadata__":"pt""#)
        }
        guard case .invalidMetadata? = openError(notObject).0 else { return XCTFail() }
    }
}
