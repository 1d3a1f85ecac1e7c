// Writing: byte-compatibility with the Python library, round trips, atomicity, sharded export.
import Foundation
import XCTest
@testable import ModelFormats

final class SafeTensorsWriterTests: XCTestCase {
    func referenceWriter() throws -> SafeTensorsWriter {
        let reference = try Fixtures.section("writer_reference")
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        for name in reference.keys.sorted().reversed() {   // insertion order must not matter
            let t = try XCTUnwrap(reference[name] as? [String: Any])
            let dtype = try XCTUnwrap(DType(rawValue: try XCTUnwrap(t["dtype"] as? String)))
            let shape = try XCTUnwrap(t["shape"] as? [Int])
            let bytes = try XCTUnwrap(t["bytes"] as? [Int]).map(UInt8.init)
            if let float = dtype.floatType {
                // Go through Float so the encoders are exercised too (exact for values already in dtype).
                let values = bytes.withUnsafeBytes { DTypeConversion.floats(from: $0, dtype: float) }
                writer.add(name, floats: values, shape: shape, as: float)
            } else {
                writer.add(name, dtype: dtype, shape: shape, bytes: bytes)
            }
        }
        return writer
    }

    func testOutputMatchesPythonLibraryByteForByte() throws {
        let tmp = try TemporaryFolder()
        let out = tmp.file("out.safetensors")
        try referenceWriter().write(to: out)
        XCTAssertEqual(try Data(contentsOf: out), try Data(contentsOf: Fixtures.url("writer_reference.safetensors")))
    }

    func testRoundTripAllFloatTypesAndRawBytes() throws {
        let tmp = try TemporaryFolder()
        let values: [Float] = (0..<24).map { Float($0) * 1.37 - 11 }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "source": "steer \"test\" é"])
        for dtype in DType.floatTypes {
            writer.add("w.\(dtype.rawValue)", floats: values, shape: [2, 3, 4], as: dtype)
        }
        writer.add("ids", dtype: .i32, shape: [3], bytes: [1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255])
        writer.add("scalar", floats: [0.5], shape: [], as: .f32)
        writer.add("empty", floats: [], shape: [0, 7], as: .bf16)
        let url = tmp.file("rt.safetensors")
        try writer.write(to: url)

        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.metadata, writer.metadata)
        XCTAssertEqual(file.headerLength % 8, 0)
        XCTAssertEqual(try file.floats("w.F32"), values)
        XCTAssertEqual(try file.floats("w.BF16"), DTypeConversion.floats(bf16: DTypeConversion.bf16Bits(values)))
        XCTAssertEqual(try file.floats("w.F16"), DTypeConversion.floats(f16: DTypeConversion.f16Bits(values)))
        XCTAssertEqual(try file.tensorInfo("w.F16").shape, [2, 3, 4])
        XCTAssertEqual(Array(try file.rawBytes("ids")), [1, 0, 0, 0, 2, 0, 0, 0, 255, 255, 255, 255])
        XCTAssertEqual(try file.floats("scalar"), [0.5])
        XCTAssertEqual(try file.tensorInfo("empty").shape, [0, 7])
        // Descending dtype order puts F32 first, so it is 8-aligned after the padded header.
        XCTAssertTrue(try file.tensorInfo("w.F32").isAligned)
    }

    func testInvalidRequestsAreRejectedBeforeWriting() throws {
        let tmp = try TemporaryFolder()
        let url = tmp.file("bad.safetensors")
        var cases: [(SafeTensorsWriter, String)] = []
        var w = SafeTensorsWriter(); w.add("a", floats: [1, 2], shape: [3], as: .f32); cases.append((w, "a"))
        w = SafeTensorsWriter(); w.add("a", floats: [1], shape: [1], as: .f32); w.add("a", floats: [1], shape: [1], as: .f16); cases.append((w, "a"))
        w = SafeTensorsWriter(); w.add("b", dtype: .i64, shape: [2], bytes: [0, 0, 0]); cases.append((w, "b"))
        w = SafeTensorsWriter(); w.add("c", floats: [1], shape: [-1], as: .f32); cases.append((w, "c"))
        w = SafeTensorsWriter(); w.add("__metadata__", floats: [1], shape: [1], as: .f32); cases.append((w, "__metadata__"))
        for (writer, tensor) in cases {
            XCTAssertThrowsError(try writer.write(to: url)) { error in
                guard case .invalidWriteRequest(let path, let t, _)? = error as? FormatError else { return XCTFail("\(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertEqual(t, tensor)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path), [])
    }

    func testRefusesToOverwriteProtectedInputs() throws {
        let tmp = try TemporaryFolder()
        let input = tmp.file("model.safetensors")
        try FileManager.default.copyItem(at: Fixtures.url("small_f32.safetensors"), to: input)
        let before = try Data(contentsOf: input)
        try FileManager.default.createSymbolicLink(at: tmp.file("link.safetensors"), withDestinationURL: input)
        try FileManager.default.linkItem(at: input, to: tmp.file("hard.safetensors"))
        var writer = SafeTensorsWriter(protecting: [input])
        writer.add("x", floats: [1], shape: [1], as: .f32)
        for target in ["model.safetensors", "link.safetensors", "hard.safetensors", "./model.safetensors"] {
            let url = URL(fileURLWithPath: tmp.url.path + "/" + target)
            XCTAssertThrowsError(try writer.write(to: url), target) { error in
                XCTAssertEqual(error as? FormatError, .wouldOverwriteInput(path: url.path))
            }
        }
        XCTAssertEqual(try Data(contentsOf: input), before)
        try writer.write(to: tmp.file("other.safetensors"))
    }

    func testAtomicWriteReplacesOrLeavesTheOriginal() throws {
        let tmp = try TemporaryFolder()
        let url = tmp.file("data.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]))
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: url) { out in
            try out.write([9, 9, 9, 9])
            throw Boom()
        })
        XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]))
        // Large streamed write (past the internal buffer) and no temporary files left behind.
        let big = [UInt8](repeating: 7, count: 9 << 20)
        try AtomicFile.write(to: url) { out in
            try out.write([1])
            try out.write(big)
            try out.writeZeros(3)
            XCTAssertEqual(out.bytesWritten, big.count + 4)
        }
        let data = try Data(contentsOf: url)
        XCTAssertEqual(data.count, big.count + 4)
        XCTAssertEqual(data.first, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path), ["data.bin"])
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: URL(fileURLWithPath: "/nonexistent-dir/x"))) { error in
            guard case .io(let path, _)? = error as? FormatError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent-dir/x")
        }
    }

    func testShardedExportReproducesTransformersFolder() throws {
        let source = Fixtures.url("sharded")
        let store = try WeightStore(folder: source)
        var writer = SafeTensorsWriter(metadata: ["format": "pt"], protecting: store.inputURLs)
        for name in store.names { try writer.addUnchanged(name, from: store) }
        let tmp = try TemporaryFolder()
        let index = try writer.writeSharded(to: tmp.url, plan: writer.shardPlan(matching: store))
        XCTAssertEqual(index?.weightMap, store.index?.weightMap)
        let names = try FileManager.default.contentsOfDirectory(atPath: source.path).sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).sorted(), names)
        for name in names {
            XCTAssertEqual(try Data(contentsOf: tmp.file(name)), try Data(contentsOf: source.appendingPathComponent(name)), name)
        }
        // Exporting over the source is refused before anything is written.
        let copy = try TemporaryFolder()
        for name in names { try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: copy.file(name)) }
        let copyStore = try WeightStore(folder: copy.url)
        var over = SafeTensorsWriter(metadata: ["format": "pt"], protecting: copyStore.inputURLs)
        for name in copyStore.names { over.add(name, floats: try copyStore.floats(name), shape: try copyStore.shape(name), as: .f32) }
        XCTAssertThrowsError(try over.writeSharded(to: copy.url, plan: over.shardPlan(matching: copyStore))) { error in
            guard case .wouldOverwriteInput? = error as? FormatError else { return XCTFail("\(error)") }
        }
        for name in names {
            XCTAssertEqual(try Data(contentsOf: copy.file(name)), try Data(contentsOf: source.appendingPathComponent(name)), name)
        }
    }

    func testShardPlanBySize() throws {
        var writer = SafeTensorsWriter()
        for i in 0..<5 { writer.add("t\(i)", floats: [Float](repeating: 1, count: 100), shape: [100], as: .f32) }
        let plan = writer.shardPlan(maxShardBytes: 900)
        XCTAssertEqual(Set(plan.values), ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        XCTAssertEqual(plan["t0"], plan["t1"])
        XCTAssertEqual(Set(writer.shardPlan(maxShardBytes: 1 << 20).values), [WeightStore.singleFileName])
        let tmp = try TemporaryFolder()
        let index = try XCTUnwrap(try writer.writeSharded(to: tmp.url, plan: plan))
        XCTAssertEqual(index.totalSize, 2000)
        let store = try WeightStore(folder: tmp.url)
        XCTAssertEqual(store.layout, .sharded)
        XCTAssertEqual(store.parameterCount, 500)
        XCTAssertEqual(try store.floats("t4"), [Float](repeating: 1, count: 100))
        XCTAssertNil(try writer.writeSharded(to: tmp.url, plan: writer.shardPlan(maxShardBytes: 1 << 20)))
    }
}
