// DType conversions checked against torch (fixtures from scripts/make_format_fixtures.py).
import Foundation
import XCTest
@testable import ModelFormats

final class DTypeTests: XCTestCase {
    /// Tensors of Tests/Fixtures/formats/dtypes.safetensors, read with a minimal parser of its own
    /// so these tests do not depend on ModelFormats.
    static let fixture: [String: (dtype: String, bytes: [UInt8])] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/formats/dtypes.safetensors")
        guard let data = try? Data(contentsOf: url), data.count >= 8 else { return [:] }
        let bytes = [UInt8](data)
        let n = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else { return [:] }
        var out: [String: (String, [UInt8])] = [:]
        for (name, entry) in header {
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else { continue }
            out[name] = (dtype, Array(bytes[(8 + n + offsets[0])..<(8 + n + offsets[1])]))
        }
        return out
    }()

    func tensor<T>(_ name: String, as: T.Type) throws -> [T] {
        let entry = try XCTUnwrap(Self.fixture[name], "fixture tensor \(name) missing; run scripts/make_format_fixtures.py")
        return entry.bytes.withUnsafeBytes { raw in
            (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }

    func assertSameFloat(_ a: Float, _ b: Float, _ message: @autoclosure () -> String, line: UInt = #line) {
        if a.isNaN || b.isNaN {
            XCTAssertTrue(a.isNaN && b.isNaN, message(), line: line)
        } else {
            XCTAssertEqual(a.bitPattern, b.bitPattern, message(), line: line)
        }
    }

    func testByteSizesAndNames() {
        XCTAssertEqual(DType.f32.byteSize, 4)
        XCTAssertEqual(DType.f16.byteSize, 2)
        XCTAssertEqual(DType.bf16.byteSize, 2)
        XCTAssertEqual(DType(rawValue: "BF16"), .bf16)
        XCTAssertEqual(DType.floatTypes.filter(\.isFloat), [.f32, .f16, .bf16])
        XCTAssertEqual(DType.allCases.filter(\.isFloat).count, 3)
        XCTAssertFalse(DType.i64.isFloat)
    }

    func testEveryBF16PatternWidensLikeTorch() throws {
        let expected = try tensor("all_bf16_as_f32", as: Float.self)
        XCTAssertEqual(expected.count, 65536)
        let patterns = (0...65535).map { UInt16($0) }
        let converted = DTypeConversion.floats(bf16: patterns)
        for i in 0..<65536 {
            assertSameFloat(converted[i], expected[i], "bf16 0x\(String(i, radix: 16))")
            assertSameFloat(DTypeConversion.float(bf16: patterns[i]), expected[i], "scalar bf16 0x\(String(i, radix: 16))")
        }
    }

    func testEveryF16PatternWidensLikeTorch() throws {
        let expected = try tensor("all_f16_as_f32", as: Float.self)
        XCTAssertEqual(expected.count, 65536)
        let converted = DTypeConversion.floats(f16: (0...65535).map { UInt16($0) })
        for i in 0..<65536 {
            assertSameFloat(converted[i], expected[i], "f16 0x\(String(i, radix: 16))")
        }
    }

    func testF32ToBF16RoundsLikeTorch() throws {
        try assertNarrowsLikeTorch("torch_bf16", DTypeConversion.bf16Bits, widen: DTypeConversion.float(bf16:))
    }

    func testF32ToF16RoundsLikeTorch() throws {
        try assertNarrowsLikeTorch("torch_f16", DTypeConversion.f16Bits, widen: DTypeConversion.float(f16:))
    }

    /// `narrow` of the fixture's `input_f32` gives torch's bits (tensor `expected`); a NaN stays a NaN.
    func assertNarrowsLikeTorch(_ expected: String, _ narrow: ([Float]) -> [UInt16], widen: (UInt16) -> Float,
                                line: UInt = #line) throws {
        let input = try tensor("input_f32", as: Float.self)
        let torch = try tensor(expected, as: UInt16.self)
        let got = narrow(input)
        XCTAssertEqual(got.count, torch.count, line: line)
        for i in 0..<input.count {
            if input[i].isNaN {
                XCTAssertTrue(widen(got[i]).isNaN, "NaN at \(i) must stay NaN", line: line)
            } else {
                XCTAssertEqual(got[i], torch[i], "input \(input[i]) (0x\(String(input[i].bitPattern, radix: 16)))", line: line)
            }
        }
    }

    func testNaNPayloadsWithOnlyLowBitsStayNaN() {
        // A NaN whose payload lives in the low 16 bits would truncate to infinity.
        let nan = Float(bitPattern: 0x7F80_0001)
        XCTAssertTrue(DTypeConversion.float(bf16: DTypeConversion.bf16(nan)).isNaN)
        XCTAssertTrue(DTypeConversion.float(f16: DTypeConversion.f16(nan)).isNaN)
        XCTAssertTrue(DTypeConversion.float(bf16: DTypeConversion.bf16(-nan)).isNaN)
    }

    func testLargeBuffersUseThreadsAndMatchScalar() {
        let count = DTypeConversion.parallelThreshold * 2 + 17
        var state: UInt32 = 12345
        let input: [Float] = (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(bitPattern: state & 0xBFFF_FFFF)   // finite-heavy mix of magnitudes
        }
        let bf = DTypeConversion.bf16Bits(input)
        let h = DTypeConversion.f16Bits(input)
        for i in stride(from: 0, to: count, by: 97) {
            XCTAssertEqual(bf[i], DTypeConversion.bf16(input[i]))
            XCTAssertEqual(h[i], DTypeConversion.f16(input[i]))
        }
        let back = DTypeConversion.floats(bf16: bf)
        for i in stride(from: 0, to: count, by: 101) {
            XCTAssertEqual(back[i].bitPattern, DTypeConversion.float(bf16: bf[i]).bitPattern)
        }
    }

    func testUnalignedRawSourcesAndDestinations() {
        let values: [Float] = (0..<1000).map { Float($0) * 0.37 - 100 }
        for dtype in DType.floatTypes {
            let encoded = DTypeConversion.bytes(values, as: dtype)
            // Shift by one byte so every element is misaligned.
            let shifted = [UInt8(0)] + encoded
            var decoded = [Float](repeating: 0, count: values.count)
            shifted.withUnsafeBytes { raw in
                decoded.withUnsafeMutableBufferPointer { dst in
                    DTypeConversion.toFloats(raw.baseAddress! + 1, dtype: dtype, count: values.count, into: dst.baseAddress!)
                }
            }
            let aligned = encoded.withUnsafeBytes { DTypeConversion.floats(from: $0, dtype: dtype) }
            XCTAssertEqual(decoded, aligned, "\(dtype)")
            if dtype == .f32 { XCTAssertEqual(decoded, values) }
            var out = [UInt8](repeating: 0, count: encoded.count + 1)
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { dst in
                    DTypeConversion.fromFloats(src.baseAddress!, count: values.count, dtype: dtype, into: dst.baseAddress! + 1)
                }
            }
            XCTAssertEqual(Array(out.dropFirst()), encoded, "\(dtype)")
        }
    }
}
