// Typed errors for everything read from or written to model files.
import Foundation

/// An error reading or writing a model file. Every message names the file and, where one is
/// involved, the tensor, so it can be shown to a user as is.
public enum FormatError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file could not be opened, mapped, read or written (`reason` is the system's message).
    case io(path: String, reason: String)
    /// The file is too short to hold its header (`size` bytes, `needed` at least).
    case fileTooShort(path: String, size: Int, needed: Int)
    /// The declared header length is unusable (zero, past the end of the file, or over the limit).
    case invalidHeaderLength(path: String, length: UInt64, fileSize: Int, reason: String)
    /// The header is not valid UTF-8 / JSON / a JSON object.
    case invalidHeader(path: String, reason: String)
    /// The `__metadata__` entry is not a map from strings to strings.
    case invalidMetadata(path: String, reason: String)
    /// A tensor entry is missing a field or has a field of the wrong kind.
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    /// A tensor's dtype name is not one safetensors defines.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's offsets are reversed, outside the data area, or overlap another tensor.
    case invalidOffsets(path: String, tensor: String, reason: String)
    /// shape × dtype size differs from the tensor's byte length.
    case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    /// The tensor is not in the file or folder.
    case tensorNotFound(path: String, tensor: String)
    /// The tensor's dtype cannot be used for the requested operation.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A model folder's index file is malformed or disagrees with its shards.
    case invalidIndex(path: String, reason: String)
    /// A shard file named by the index does not exist.
    case missingShard(path: String, shard: String)
    /// The same tensor name occurs in two files of a folder.
    case duplicateTensor(path: String, tensor: String, otherPath: String)
    /// The folder holds no safetensors weights.
    case noWeights(path: String)
    /// A writer was asked to replace a file it was told is an input.
    case wouldOverwriteInput(path: String)
    /// Values given to a writer are inconsistent (shape vs. data length, duplicate names, …).
    case invalidWriteRequest(path: String, tensor: String, reason: String)
    /// A GGUF file is malformed.
    case invalidGGUF(path: String, reason: String)
    /// A GGUF file is valid but is not a usable control vector.
    case invalidControlVector(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .fileTooShort(path, size, needed):
            return "\(path): file is \(size) bytes, too short for a header (needs at least \(needed))"
        case let .invalidHeaderLength(path, length, fileSize, reason):
            return "\(path): invalid header length \(length) for a file of \(fileSize) bytes: \(reason)"
        case let .invalidHeader(path, reason):
            return "\(path): invalid header: \(reason)"
        case let .invalidMetadata(path, reason):
            return "\(path): invalid __metadata__: \(reason)"
        case let .invalidTensorEntry(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)': unknown dtype '\(dtype)'"
        case let .invalidOffsets(path, tensor, reason):
            return "\(path): tensor '\(tensor)': invalid data_offsets: \(reason)"
        case let .sizeMismatch(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named '\(tensor)'"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)': dtype \(dtype) is not supported here"
        case let .invalidIndex(path, reason):
            return "\(path): invalid index: \(reason)"
        case let .missingShard(path, shard):
            return "\(path): shard '\(shard)' named in the index does not exist"
        case let .duplicateTensor(path, tensor, otherPath):
            return "\(path): tensor '\(tensor)' also appears in \(otherPath)"
        case let .noWeights(path):
            return "\(path): no model.safetensors, model.safetensors.index.json or *.safetensors found"
        case let .wouldOverwriteInput(path):
            return "\(path): refusing to overwrite an input file"
        case let .invalidWriteRequest(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .invalidGGUF(path, reason):
            return "\(path): invalid GGUF: \(reason)"
        case let .invalidControlVector(path, reason):
            return "\(path): not a usable control vector: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// The system error message for `errno`.
func systemError(_ code: Int32) -> String {
    String(cString: strerror(code))
}
