// Reading files written by the Python safetensors library.
import Foundation
import XCTest
@testable import ModelFormats

final class SafeTensorsFileTests: XCTestCase {
    func testReadsFilesWrittenByPython() throws {
        let small = try Fixtures.section("small")
        XCTAssertEqual(small.count, 3)
        for (fileName, value) in small {
            let expected = try XCTUnwrap(value as? [String: Any])
            let file = try SafeTensorsFile(url: Fixtures.url(fileName))
            XCTAssertEqual(file.metadata, expected["metadata"] as? [String: String], fileName)
            XCTAssertEqual(file.headerLength, expected["header_length"] as? Int, fileName)
            XCTAssertEqual(file.headerLength % 8, 0)
            let tensors = try XCTUnwrap(expected["tensors"] as? [String: [String: Any]])
            XCTAssertEqual(Set(file.names), Set(tensors.keys), fileName)
            for (name, t) in tensors {
                let info = try file.tensorInfo(name)
                XCTAssertEqual(info.dtype.rawValue, t["dtype"] as? String, "\(fileName) \(name)")
                XCTAssertEqual(info.shape, t["shape"] as? [Int], "\(fileName) \(name)")
                let offsets = try XCTUnwrap(t["data_offsets"] as? [Int])
                XCTAssertEqual(info.dataOffsets, offsets[0]..<offsets[1])
                XCTAssertEqual(info.fileRange.lowerBound, file.dataStart + offsets[0])
                if info.floatType != nil {
                    let want = try Fixtures.floats(t["values"])
                    XCTAssertEqual(try file.floats(name), want, "\(fileName) \(name)")
                    var buffer = [Float](repeating: .nan, count: want.count)
                    try buffer.withUnsafeMutableBufferPointer { try file.floats(name, into: $0) }
                    XCTAssertEqual(buffer, want)
                } else {
                    let want = try XCTUnwrap(t["values"] as? [Int]).map(Int64.init)
                    let raw = try file.rawBytes(name)
                    let got = (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
                    XCTAssertEqual(got, want)
                    XCTAssertThrowsError(try file.floats(name)) { error in
                        XCTAssertEqual(error as? FormatError,
                                       .unsupportedDType(path: file.path, tensor: name, dtype: "I64"))
                    }
                }
            }
            // Tensors come back in data-offset order.
            XCTAssertEqual(file.tensors.map(\.dataOffsets.lowerBound), file.tensors.map(\.dataOffsets.lowerBound).sorted())
        }
    }

    func testScalarAndEmptyTensors() throws {
        let file = try SafeTensorsFile(url: Fixtures.url("small_bf16.safetensors"))
        let scalar = try file.tensorInfo("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.elementCount, 1)
        let empty = try file.tensorInfo("empty")
        XCTAssertEqual(empty.elementCount, 0)
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.rawBytes("empty").count, 0)
    }

    func testAlignmentIsReported() throws {
        let file = try SafeTensorsFile(url: Fixtures.url("small_f32.safetensors"))
        for t in file.tensors {
            XCTAssertEqual(t.isAligned, t.fileRange.lowerBound % t.dtype.byteSize == 0)
            let raw = try file.rawBytes(t.name)
            if let base = raw.baseAddress, t.isAligned {
                XCTAssertEqual(Int(bitPattern: base) % t.dtype.byteSize, 0, t.name)
            }
        }
        // Shift the data by a byte-odd header so F32 data is misaligned, then read it anyway.
        var bytes = try SafeTensorsBytes(contentsOf: Fixtures.url("small_f32.safetensors"))
        bytes.header = bytes.header.trimmingCharacters(in: .whitespaces) + " "
        XCTAssertNotEqual(bytes.header.utf8.count % 4, 0)
        let tmp = try TemporaryFolder()
        try bytes.write(to: tmp.file("odd.safetensors"))
        let odd = try SafeTensorsFile(url: tmp.file("odd.safetensors"))
        let info = try odd.tensorInfo("embed.weight")
        XCTAssertFalse(info.isAligned)
        XCTAssertEqual(try odd.floats("embed.weight"), try file.floats("embed.weight"))
    }

    func testTensorNotFoundNamesFileAndTensor() throws {
        let file = try SafeTensorsFile(url: Fixtures.url("small_f16.safetensors"))
        XCTAssertNil(file.info("nope"))
        XCTAssertFalse(file.contains("nope"))
        XCTAssertThrowsError(try file.rawBytes("nope")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("small_f16.safetensors") && message.contains("'nope'"), message)
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/x.safetensors")) { error in
            guard case .io(let path, _)? = error as? FormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/x.safetensors")
        }
    }

    func testDTypeNamesAndSizes() {
        XCTAssertEqual(DType(rawValue: "F8_E4M3")?.byteSize, 1)
        XCTAssertEqual(DType(rawValue: "I64")?.byteSize, 8)
        XCTAssertEqual(DType(rawValue: "BOOL")?.byteSize, 1)
        XCTAssertEqual(DType.bf16.floatType, .bf16)
        XCTAssertNil(DType.i32.floatType)
    }
}
