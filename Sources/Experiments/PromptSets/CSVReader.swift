import Foundation

/// An RFC 4180 CSV reader: comma-separated fields, fields optionally in double quotes, a doubled
/// quote inside quotes stands for one quote, quoted fields may span lines, records end with
/// CRLF or LF. A final line break is optional.
enum CSVReader {
    /// One record and the 1-based line where it starts.
    struct Record: Equatable {
        var fields: [String]
        var line: Int
    }

    /// All records of `text`; `path` names the file in errors.
    static func records(_ text: String, path: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var quoteLine = 1
        var inQuotes = false
        var afterQuote = false
        var atFieldStart = true
        var bytes = Array(text.utf8)
        if bytes.last != 0x0A { bytes.append(0x0A) }
        var i = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            atFieldStart = true
            afterQuote = false
        }
        while i < bytes.count {
            let byte = bytes[i]
            if inQuotes {
                if byte == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                i += 1
                continue
            }
            switch byte {
            case 0x2C:
                endField()
            case 0x0A, 0x0D:
                if byte == 0x0D {
                    guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else {
                        throw PromptSetError.malformedCSV(path: path, line: line, reason: "carriage return without line feed")
                    }
                    i += 1
                }
                endField()
                records.append(Record(fields: fields, line: recordLine))
                fields.removeAll()
                line += 1
                recordLine = line
            case 0x22 where atFieldStart:
                inQuotes = true
                atFieldStart = false
                quoteLine = line
            default:
                if afterQuote {
                    throw PromptSetError.malformedCSV(path: path, line: line,
                                                      reason: "text after the closing quote of field \(fields.count + 1)")
                }
                if byte == 0x22 {
                    throw PromptSetError.malformedCSV(path: path, line: line,
                                                      reason: "quote inside unquoted field \(fields.count + 1)")
                }
                atFieldStart = false
                field.append(byte)
            }
            i += 1
        }
        if inQuotes {
            throw PromptSetError.malformedCSV(path: path, line: quoteLine, reason: "quoted field never closed")
        }
        return records
    }
}
