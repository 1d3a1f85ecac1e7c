// GGUF control vectors: files by gguf-py (repeng / llama.cpp style), round trips, malformed files.
import Foundation
import XCTest
@testable import ModelFormats

final class ControlVectorTests: XCTestCase {
    func expectedVector() throws -> ControlVector {
        let section = try Fixtures.section("control_vector")
        let dirs = try XCTUnwrap(section["directions"] as? [String: Any])
        var directions: [Int: [Float]] = [:]
        for (k, v) in dirs { directions[try XCTUnwrap(Int(k))] = try Fixtures.floats(v) }
        return ControlVector(modelHint: try XCTUnwrap(section["model_hint"] as? String), directions: directions)
    }

    func testReadsFilesWrittenByGGUFPy() throws {
        let expected = try expectedVector()
        for name in ["cvec_repeng.gguf", "cvec_llamacpp.gguf"] {
            let v = try ControlVector.read(from: Fixtures.url(name))
            XCTAssertEqual(v.modelHint, expected.modelHint, name)
            XCTAssertEqual(v.directions, expected.directions, name)
            XCTAssertEqual(v.declaredLayerCount, try Fixtures.section("control_vector")["layer_count"] as? Int)
            XCTAssertEqual(v.layers, expected.layers)
            XCTAssertEqual(v.dModel, 12)
        }
        let repeng = try GGUFFile(url: Fixtures.url("cvec_repeng.gguf"))
        XCTAssertEqual(repeng.metadata["controlvector.layer_count"]?.typeCode, 4)   // u32
        let llama = try GGUFFile(url: Fixtures.url("cvec_llamacpp.gguf"))
        XCTAssertEqual(llama.metadata["controlvector.layer_count"]?.typeCode, 5)    // i32
        XCTAssertEqual(llama.version, 3)
        XCTAssertEqual(llama.alignment, 32)
        XCTAssertEqual(llama.keys, ["general.architecture", "controlvector.model_hint", "controlvector.layer_count"])
    }

    func testWriteMatchesGGUFPyByteForByte() throws {
        let tmp = try TemporaryFolder()
        let url = tmp.file("out.gguf")
        try expectedVector().write(to: url)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: Fixtures.url("cvec_llamacpp.gguf")))
    }

    func testRoundTrip() throws {
        let tmp = try TemporaryFolder()
        let url = tmp.file("rt.gguf")
        let v = ControlVector(modelHint: "qwen2 ✓", directions: [1: [1, -2, 3.5], 7: [0, .infinity, -0.0], 30: [4, 5, 6]])
        try v.write(to: url)
        var back = try ControlVector.read(from: url)
        XCTAssertEqual(back.declaredLayerCount, 3)
        back.declaredLayerCount = nil
        XCTAssertEqual(back, v)
        XCTAssertEqual(try Data(contentsOf: url).count % 32, 0)
        XCTAssertThrowsError(try ControlVector(modelHint: "", directions: [0: [1]]).write(to: url))
        XCTAssertThrowsError(try ControlVector(modelHint: "", directions: [1: [1], 2: [1, 2]]).write(to: url))
    }

    // MARK: Malformed files

    func fixtureBytes() throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url("cvec_llamacpp.gguf"))) }

    /// Index of the first occurrence of `s` in `bytes`.
    func find(_ s: String, in bytes: [UInt8]) throws -> Int {
        let needle = Array(s.utf8)
        return try XCTUnwrap((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
    }

    func put<T: FixedWidthInteger>(_ v: T, at i: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { for k in 0..<MemoryLayout<T>.size { bytes[i + k] = $0[k] } }
    }

    func readError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> FormatError? {
        let tmp = try TemporaryFolder()
        let url = tmp.file("bad.gguf")
        try Data(bytes).write(to: url)
        do {
            _ = try ControlVector.read(from: url)
            XCTFail("read a malformed file", file: file, line: line)
            return nil
        } catch {
            XCTAssertTrue("\(error)".contains(url.path), "\(error)", file: file, line: line)
            return error as? FormatError
        }
    }

    func assertGGUFError(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) throws {
        guard case .invalidGGUF(_, let reason)? = try readError(bytes, line: line) else { return XCTFail("not invalidGGUF", line: line) }
        XCTAssertTrue(reason.contains(fragment), reason, line: line)
    }

    func assertControlVectorError(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) throws {
        guard case .invalidControlVector(_, let reason)? = try readError(bytes, line: line) else { return XCTFail("not invalidControlVector", line: line) }
        XCTAssertTrue(reason.contains(fragment), reason, line: line)
    }

    func testBadMagicVersionAndCounts() throws {
        var b = try fixtureBytes(); b[0] = UInt8(ascii: "X")
        try assertGGUFError(b, "magic")
        b = try fixtureBytes(); put(UInt32(1), at: 4, in: &b)
        try assertGGUFError(b, "version 1")
        b = try fixtureBytes(); put(UInt64(1 << 40), at: 8, in: &b)
        try assertGGUFError(b, "tensor count")
        b = try fixtureBytes(); put(UInt64(1 << 40), at: 16, in: &b)
        try assertGGUFError(b, "metadata count")
        try assertGGUFError(Array(try fixtureBytes().prefix(12)), "shorter")
        try assertGGUFError(Array(try fixtureBytes().prefix(100)), "impossible for the file size")
        try assertGGUFError(Array(try fixtureBytes().prefix(200)), "truncated")
    }

    func testStringLengthAndValueTypes() throws {
        var b = try fixtureBytes()
        let key = try find("general.architecture", in: b)
        put(UInt64(1 << 50), at: key - 8, in: &b)
        try assertGGUFError(b, "runs past the end")
        b = try fixtureBytes()
        put(UInt32(77), at: key + "general.architecture".utf8.count, in: &b)
        try assertGGUFError(b, "unknown value type 77")
    }

    func testTensorOffsetsAndShapes() throws {
        let base = try fixtureBytes()
        let t = try find("direction.1", in: base) + "direction.1".utf8.count
        // layout after the name: n_dims u32 | dims u64… | type u32 | offset u64
        var b = base; put(UInt64(4), at: t + 16, in: &b)
        try assertGGUFError(b, "not a multiple of 32")
        b = base; put(UInt64(1 << 20), at: t + 16, in: &b)
        try assertGGUFError(b, "past the end")
        b = base; put(UInt64(1000), at: t + 4, in: &b)
        try assertGGUFError(b, "outside the data section")
        b = base; put(UInt32(9), at: t, in: &b)
        try assertGGUFError(b, "9 dimensions")
        b = base; put(UInt32(1), at: t + 12, in: &b)
        try assertControlVectorError(b, "not F32")
        b = base; put(UInt64(6), at: t + 4, in: &b)
        try assertControlVectorError(b, "others have")
    }

    func testDirectionNamesAndArchitecture() throws {
        let base = try fixtureBytes()
        var b = base
        b[try find("direction.1", in: b) + 10] = UInt8(ascii: "0")
        try assertControlVectorError(b, "layer 0")
        b = base
        b[try find("direction.2", in: b) + 9] = UInt8(ascii: "_")
        try assertControlVectorError(b, "direction_2")
        b = base
        b[try find("direction.3", in: b) + 10] = UInt8(ascii: "2")
        try assertGGUFError(b, "duplicate tensor 'direction.2'")
        b = base
        b[try find("controlvector", in: b)] = UInt8(ascii: "k")
        try assertControlVectorError(b, "general.architecture")
    }
}
