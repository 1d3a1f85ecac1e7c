// Parsing and validation of a safetensors header.
import Basics
import Foundation

/// The validated header of a safetensors file.
struct SafeTensorsHeader {
    var metadata: [String: String]
    var tensors: [SafeTensorInfo]
    var headerLength: Int

    /// Parses and validates the header at the start of `bytes`, the whole file's contents.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> SafeTensorsHeader {
        let fileSize = bytes.count
        guard fileSize >= 8 else { throw FormatError.fileTooShort(path: path, size: fileSize, needed: 8) }
        let declared = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        func badLength(_ reason: String) -> FormatError {
            .invalidHeaderLength(path: path, length: declared, fileSize: fileSize, reason: reason)
        }
        guard declared > 0 else { throw badLength("the header is empty") }
        guard declared <= UInt64(SafeTensorsFile.maxHeaderLength) else {
            throw badLength("over the \(SafeTensorsFile.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= fileSize - 8 else { throw badLength("the header runs past the end of the file") }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        guard String(bytes: headerBytes, encoding: .utf8) != nil else {
            throw FormatError.invalidHeader(path: path, reason: "not valid UTF-8")
        }
        let json: JSONValue
        do {
            // As the Rust library: no repeated tensor names, no lone surrogates.
            json = try JSONValue.parse(headerBytes, options: JSONParseOptions(maxDepth: 128, rejectDuplicateKeys: true,
                                                                              rejectLoneSurrogates: true))
        } catch {
            throw FormatError.invalidHeader(path: path, reason: "not valid JSON: \(error)")
        }
        guard let members = json.members else {
            throw FormatError.invalidHeader(path: path, reason: "the JSON is \(json.kind), not an object")
        }

        let dataStart = 8 + headerLength
        let dataSize = fileSize - dataStart
        var metadata: [String: String] = [:]
        var tensors: [SafeTensorInfo] = []
        tensors.reserveCapacity(members.count)
        for (key, value) in members {
            if key == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
            } else {
                tensors.append(try parseTensor(key, value, path: path, dataStart: dataStart, dataSize: dataSize))
            }
        }

        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var previous: SafeTensorInfo?
        for t in tensors where !t.dataOffsets.isEmpty {
            if let p = previous, t.dataOffsets.lowerBound < p.dataOffsets.upperBound {
                throw FormatError.invalidOffsets(path: path, tensor: t.name,
                    reason: "[\(t.dataOffsets.lowerBound), \(t.dataOffsets.upperBound)) overlaps tensor '\(p.name)' at [\(p.dataOffsets.lowerBound), \(p.dataOffsets.upperBound))")
            }
            previous = t
        }
        return SafeTensorsHeader(metadata: metadata, tensors: tensors, headerLength: headerLength)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        if value == .null { return [:] }   // the Rust library reads `null` as no metadata
        guard let members = value.members else {
            throw FormatError.invalidMetadata(path: path, reason: "expected an object of strings, found \(value.kind)")
        }
        var result: [String: String] = [:]
        for (key, item) in members {
            guard let s = item.string else {
                throw FormatError.invalidMetadata(path: path, reason: "value of '\(key)' is \(item.kind), not a string")
            }
            result[key] = s
        }
        return result
    }

    private static func parseTensor(_ name: String, _ value: JSONValue, path: String,
                                    dataStart: Int, dataSize: Int) throws -> SafeTensorInfo {
        func bad(_ reason: String) -> FormatError { .invalidTensorEntry(path: path, tensor: name, reason: reason) }
        guard value.members != nil else { throw bad("entry is \(value.kind), not an object") }
        guard let dtypeValue = value["dtype"] else { throw bad("missing 'dtype'") }
        guard let shapeValue = value["shape"] else { throw bad("missing 'shape'") }
        guard let offsetsValue = value["data_offsets"] else { throw bad("missing 'data_offsets'") }

        guard let dtypeName = dtypeValue.string else { throw bad("'dtype' is \(dtypeValue.kind), not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw FormatError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }

        guard let shapeItems = shapeValue.array else { throw bad("'shape' is \(shapeValue.kind), not an array") }
        var shape: [Int] = []
        var elements = 1
        for item in shapeItems {
            guard let d = item.integer, d >= 0 else {
                throw bad("'shape' must hold non-negative integers, found \(item.errorText)")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("shape \(shapeItems.map(\.errorText)) is too large") }
            elements = product
            shape.append(d)
        }
        let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw bad("shape \(shape) is too large") }

        guard let offsetItems = offsetsValue.array, offsetItems.count == 2 else {
            throw bad("'data_offsets' must be an array of two integers")
        }
        guard let begin = offsetItems[0].integer, let end = offsetItems[1].integer, begin >= 0, end >= 0 else {
            throw bad("'data_offsets' must hold non-negative integers, found [\(offsetItems[0].errorText), \(offsetItems[1].errorText)]")
        }
        guard begin <= end else {
            throw FormatError.invalidOffsets(path: path, tensor: name, reason: "begin \(begin) is after end \(end)")
        }
        guard end <= dataSize else {
            throw FormatError.invalidOffsets(path: path, tensor: name,
                reason: "[\(begin), \(end)) is outside the data area of \(dataSize) bytes")
        }
        guard end - begin == expectedBytes else {
            throw FormatError.sizeMismatch(path: path, tensor: name, expected: expectedBytes, actual: end - begin)
        }
        return SafeTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end,
                              fileRange: (dataStart + begin)..<(dataStart + end))
    }
}
