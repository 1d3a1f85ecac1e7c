// Special files and size arithmetic that once hung or trapped: each is now a clear FormatError.
import Foundation
import XCTest
@testable import ModelFormats

final class HostileFileTests: XCTestCase {
    /// The message of the error `body` throws (fails when it throws none).
    func message(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("no error", file: file, line: line)
        return ""
    }

    /// A FIFO named like a model file used to block `open` forever; a device mapped endless data.
    func testOnlyRegularFilesAreOpened() throws {
        let tmp = try TemporaryFolder()
        let fifo = tmp.file("model.safetensors")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertTrue(message { _ = try SafeTensorsFile(url: fifo) }.contains("not a regular file (a FIFO)"))
        XCTAssertTrue(message { _ = try WeightStore(folder: tmp.url) }.contains("model.safetensors: not a regular file (a FIFO)"))
        XCTAssertTrue(message { _ = try RegularFile.read(fifo, limit: 10) }.contains("a FIFO"))

        let dir = try TemporaryFolder()
        try FileManager.default.createSymbolicLink(at: dir.file("model.safetensors"), withDestinationURL: URL(fileURLWithPath: "/dev/zero"))
        XCTAssertTrue(message { _ = try WeightStore(folder: dir.url) }.contains("not a regular file (a character device)"))
        let sub = try TemporaryFolder()
        try FileManager.default.createDirectory(at: sub.file("model.safetensors"), withIntermediateDirectories: false)
        XCTAssertTrue(message { _ = try WeightStore(folder: sub.url) }.contains("not a regular file (a directory)"))
    }

    func testShardIndexIsARegularFileOfBoundedSize() throws {
        let tmp = try TemporaryFolder()
        let index = tmp.file("model.safetensors.index.json")
        XCTAssertEqual(mkfifo(index.path, 0o600), 0)
        XCTAssertTrue(message { _ = try WeightStore(folder: tmp.url) }.contains("index.json: not a regular file (a FIFO)"))
        try FileManager.default.removeItem(at: index)
        // A sparse file just over the limit: refused from its size, without reading it.
        XCTAssertTrue(FileManager.default.createFile(atPath: index.path, contents: nil))
        let handle = try FileHandle(forWritingTo: index)
        try handle.truncate(atOffset: UInt64(ShardIndex.maxFileSize + 1))
        try handle.close()
        XCTAssertTrue(message { _ = try ShardIndex.read(index) }.contains("over the \(ShardIndex.maxFileSize)-byte limit"))
    }

    func testRegularFileReadsWholeFilesWithinTheLimit() throws {
        let tmp = try TemporaryFolder()
        let url = tmp.file("a.json")
        try Data("{\"a\": 1}".utf8).write(to: url)
        XCTAssertEqual(try RegularFile.read(url, limit: 8), Data("{\"a\": 1}".utf8))
        XCTAssertTrue(message { _ = try RegularFile.read(url, limit: 7) }.contains("8 bytes, over the 7-byte limit"))
        let link = tmp.file("link.json")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: url)
        XCTAssertEqual(try RegularFile.read(link, limit: 100).count, 8)
        XCTAssertTrue(message { _ = try RegularFile.read(tmp.file("missing.json"), limit: 1) }.contains("cannot open"))
    }

    /// A GGUF v3 file with one tensor, written byte by byte.
    func gguf(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, metadata: [UInt8] = [], kvCount: UInt64 = 0) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var b = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(1)) + le(kvCount) + metadata
        b += le(UInt64(11)) + Array("direction.1".utf8) + le(UInt32(dims.count))
        for d in dims { b += le(d) }
        b += le(type) + le(offset)
        b += [UInt8](repeating: 0, count: (32 - b.count % 32) % 32) + [UInt8](repeating: 0, count: 64)
        return b
    }

    func ggufError(_ bytes: [UInt8]) throws -> String {
        let tmp = try TemporaryFolder()
        let url = tmp.file("v.gguf")
        try Data(bytes).write(to: url)
        return message { _ = try GGUFFile(url: url) }
    }

    /// Dimensions of 2^31 − 1 multiply past Int.max; the byte count and end offset used to trap.
    func testGGUFTensorSizesAreOverflowChecked() throws {
        let big = UInt64(Int32.max)
        for dims in [[big, big], [big, big, big], [big, big, big, big]] {
            XCTAssertTrue(try ggufError(gguf(dims: dims)).contains("lies outside the data section"))
        }
        XCTAssertTrue(try ggufError(gguf(dims: [big, 2], type: 1)).contains("lies outside the data section"))
    }

    /// Array lengths are checked against the smallest encoding of their element type.
    func testGGUFArrayLengthsAndElementTypes() throws {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let key = le(UInt64(1)) + Array("a".utf8)
        // 200 strings need at least 1,600 bytes; the file has far fewer.
        let strings = key + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(200))
        XCTAssertTrue(try ggufError(gguf(dims: [4], metadata: strings, kvCount: 1)).contains("array length 200 is impossible"))
        let unknown = key + le(UInt32(9)) + le(UInt32(77)) + le(UInt64(0))
        XCTAssertTrue(try ggufError(gguf(dims: [4], metadata: unknown, kvCount: 1)).contains("unknown array element type 77"))
    }

    func testGGUFControlVectorFromAFIFOIsRefused() throws {
        let tmp = try TemporaryFolder()
        let fifo = tmp.file("v.gguf")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertTrue(message { _ = try ControlVector.read(from: fifo) }.contains("not a regular file"))
    }
}
