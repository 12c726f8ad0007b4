// JSON for the stand-ins: a value type that keeps object member order, a strict RFC 8259
// parser whose error reasons read like serde_json's (what Meilisearch quotes), a fast
// scanner that validates and splits document payloads without building values, and a
// serializer that can embed stored documents as they are.
//
// Foundation's JSONSerialization is not used: it loses the difference between 1, 1.0 and
// true on Linux, reorders members, and would force a parse and a re-serialisation of every
// stored document.

import Foundation
import RecetteWorld

/// A JSON value. Numbers keep their literal text, objects their member order.
enum StandInJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written (`12`, `-3.5e2`).
    case number(String)
    case string(String)
    case array([StandInJSON])
    case object([Member])
    /// Already serialised JSON, written out as is (output only, never produced by the parser).
    case raw(Data)

    struct Member: Sendable, Equatable {
        var key: String
        var value: StandInJSON
        init(_ key: String, _ value: StandInJSON) {
            self.key = key
            self.value = value
        }
    }

    static func int(_ value: Int) -> StandInJSON { .number(String(value)) }
    static func optional(_ value: String?) -> StandInJSON { value.map { .string($0) } ?? .null }
    static func optional(_ value: Int?) -> StandInJSON { value.map { .int($0) } ?? .null }
    static func strings(_ values: [String]) -> StandInJSON { .array(values.map { .string($0) }) }
    /// An object from ordered pairs.
    static func obj(_ pairs: KeyValuePairs<String, StandInJSON>) -> StandInJSON {
        .object(pairs.map { Member($0.key, $0.value) })
    }

    // MARK: Reading

    subscript(key: String) -> StandInJSON? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    var members: [Member]? {
        if case .object(let m) = self { return m }
        return nil
    }
    var elements: [StandInJSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    var isNull: Bool { self == .null }
    /// An integer number (no fraction, no exponent) that fits an Int.
    var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }
    var stringArray: [String]? {
        guard let elements else { return nil }
        var out: [String] = []
        for element in elements {
            guard let s = element.stringValue else { return nil }
            out.append(s)
        }
        return out
    }

    /// This object with `key` set (replaced in place, or appended).
    func setting(_ key: String, _ value: StandInJSON) -> StandInJSON {
        guard case .object(var members) = self else { return self }
        if let i = members.firstIndex(where: { $0.key == key }) {
            members[i].value = value
        } else {
            members.append(Member(key, value))
        }
        return .object(members)
    }

    // MARK: Writing

    var data: Data { Data(bytes) }

    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: Self.nullBytes)
        case .bool(let b): out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .raw(let data): out.append(contentsOf: data)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0..<0x20:
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// How deserr names a value in its messages: `a string: `"x"``, `null`, `an array: `[1]``.
    var deserrDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean: `\(text)`"
        case .number(let t):
            if Int(t) != nil { return t.hasPrefix("-") ? "a negative integer: `\(t)`" : "a positive integer: `\(t)`" }
            return "a number: `\(t)`"
        case .string: return "a string: `\(text)`"
        case .array: return "an array: `\(text)`"
        case .object, .raw: return "an object: `\(text)`"
        }
    }

    // MARK: Parsing

    /// Parses one value; only whitespace may follow it.
    static func parse(_ data: Data) throws -> StandInJSON {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws -> StandInJSON in
            var reader = StandInJSONReader(buffer)
            reader.skipWhitespace()
            let value = try reader.parseValue(depth: 0)
            reader.skipWhitespace()
            guard reader.atEnd else { throw reader.error("trailing characters") }
            return value
        }
    }

    static func parse(_ text: String) throws -> StandInJSON { try parse(Data(text.utf8)) }
}

/// A syntax error: its reason as serde_json words it (Meilisearch quotes serde's), without the
/// line and column serde adds, which no test reads.
struct StandInJSONError: Error, CustomStringConvertible, Sendable {
    var reason: String
    var description: String { reason }
}

/// A cursor over JSON bytes. Strict: no comments, no trailing commas, UTF-8 only.
struct StandInJSONReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    static let maxDepth = 128

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var atEnd: Bool { position >= bytes.count }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    func error(_ reason: String) -> StandInJSONError { StandInJSONError(reason: reason) }

    private func eofReason(_ context: String) -> String { "EOF while parsing \(context)" }

    // MARK: Values

    mutating func parseValue(depth: Int) throws -> StandInJSON {
        guard position < bytes.count else { throw error(eofReason("a value")) }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("recursion limit exceeded") }
            position += 1
            var members: [StandInJSON.Member] = []
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                guard bytes[position] == UInt8(ascii: "\"") else {
                    throw error(bytes[position] == UInt8(ascii: "}") ? "trailing comma" : "key must be a string")
                }
                let key = try parseString()
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                guard bytes[position] == UInt8(ascii: ":") else { throw error("expected `:`") }
                position += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                members.append(.init(key, value))
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { throw error("expected `,` or `}`") }
                position += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("recursion limit exceeded") }
            position += 1
            var elements: [StandInJSON] = []
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("a list")) }
                if bytes[position] == UInt8(ascii: "]") { throw error("trailing comma") }
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("a list")) }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "]") else { throw error("expected `,` or `]`") }
                position += 1
                return .array(elements)
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try skipNumber()
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
        default:
            throw error("expected value")
        }
    }

    /// Validates one value without building it.
    mutating func skipValue(depth: Int) throws {
        guard position < bytes.count else { throw error(eofReason("a value")) }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("recursion limit exceeded") }
            position += 1
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                guard bytes[position] == UInt8(ascii: "\"") else {
                    throw error(bytes[position] == UInt8(ascii: "}") ? "trailing comma" : "key must be a string")
                }
                try skipString()
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                guard bytes[position] == UInt8(ascii: ":") else { throw error("expected `:`") }
                position += 1
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("an object")) }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { throw error("expected `,` or `}`") }
                position += 1
                return
            }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("recursion limit exceeded") }
            position += 1
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("a list")) }
                if bytes[position] == UInt8(ascii: "]") { throw error("trailing comma") }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard position < bytes.count else { throw error(eofReason("a list")) }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                guard bytes[position] == UInt8(ascii: "]") else { throw error("expected `,` or `]`") }
                position += 1
                return
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try skipNumber()
        default:
            throw error("expected value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        for i in 0..<count {
            guard position < bytes.count else { throw error(eofReason("a value")) }
            guard bytes[position] == start[i] else { throw error(i == 0 ? "expected value" : "expected ident") }
            position += 1
        }
    }

    /// Validates a number; returns its byte range.
    mutating func skipNumber() throws -> Range<Int> {
        let start = position
        func digit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw error(eofReason("a value")) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count && digit(bytes[position]) { throw error("invalid number") }
        } else if digit(bytes[position]) {
            while position < bytes.count && digit(bytes[position]) { position += 1 }
        } else {
            throw error("invalid number")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count else { throw error(eofReason("a value")) }
            guard digit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && digit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < bytes.count else { throw error(eofReason("a value")) }
            guard digit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && digit(bytes[position]) { position += 1 }
        }
        return start..<position
    }

    /// Validates a string (at its opening quote); returns the range between the quotes and
    /// whether it holds escapes.
    @discardableResult
    mutating func skipString() throws -> (Range<Int>, escaped: Bool) {
        position += 1
        let start = position
        var escaped = false
        var ascii = true
        while true {
            guard position < bytes.count else { throw error(eofReason("a string")) }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                let range = start..<position
                position += 1
                if !ascii {
                    // serde_json rejects invalid UTF-8 inside strings.
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
                    guard String(validating: slice, as: UTF8.self) != nil else {
                        throw error("invalid unicode code point")
                    }
                }
                return (range, escaped)
            }
            if b == UInt8(ascii: "\\") {
                escaped = true
                position += 1
                guard position < bytes.count else { throw error(eofReason("a string")) }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    for _ in 0..<4 {
                        guard position < bytes.count else { throw error(eofReason("a string")) }
                        guard Self.hexValue(bytes[position]) != nil else { throw error("invalid escape") }
                        position += 1
                    }
                default:
                    throw error("invalid escape")
                }
                continue
            }
            if b < 0x20 { throw error("control character (\\u0000-\\u001F) found while parsing a string") }
            if b >= 0x80 { ascii = false }
            position += 1
        }
    }

    /// Parses a string at its opening quote.
    mutating func parseString() throws -> String {
        let (range, escaped) = try skipString()
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
        if !escaped { return String(decoding: slice, as: UTF8.self) }
        return try Self.unescape(slice)
    }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 48...57: UInt32(b - 48)
        case 65...70: UInt32(b - 55)
        case 97...102: UInt32(b - 87)
        default: nil
        }
    }

    /// Decodes the escapes of a validated string body.
    static func unescape(_ s: UnsafeRawBufferPointer) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 << 4 | (hexValue(s[at + $1]) ?? 0) }
        }
        func appendScalar(_ value: UInt32) {
            if let scalar = Unicode.Scalar(value) { out.append(contentsOf: Array(String(Character(scalar)).utf8)) }
        }
        while i < s.count {
            let b = s[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let unit = hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(unit) {
                    guard i + 6 <= s.count, s[i] == UInt8(ascii: "\\"), s[i + 1] == UInt8(ascii: "u") else {
                        throw StandInJSONError(reason: "lone leading surrogate in hex escape")
                    }
                    let low = hex4(i + 2)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw StandInJSONError(reason: "lone leading surrogate in hex escape")
                    }
                    i += 6
                    appendScalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw StandInJSONError(reason: "invalid unicode code point")
                } else {
                    appendScalar(unit)
                }
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Document payloads

    /// The documents of a `application/json` payload: an array of objects, or one object.
    /// Returns their byte ranges. Throws a serde-like message for anything else.
    static func documentRanges(json bytes: UnsafeRawBufferPointer) throws -> [Range<Int>] {
        var reader = StandInJSONReader(bytes)
        reader.skipWhitespace()
        guard !reader.atEnd else { throw reader.error("EOF while parsing a value") }
        var ranges: [Range<Int>] = []
        switch bytes[reader.position] {
        case UInt8(ascii: "["):
            reader.position += 1
            reader.skipWhitespace()
            if !reader.atEnd && bytes[reader.position] == UInt8(ascii: "]") {
                reader.position += 1
                break
            }
            while true {
                reader.skipWhitespace()
                guard !reader.atEnd else { throw reader.error("EOF while parsing a list") }
                let start = reader.position
                if bytes[start] == UInt8(ascii: "]") { throw reader.error("trailing comma") }
                try reader.skipValue(depth: 1)
                guard bytes[start] == UInt8(ascii: "{") else { throw notAnObject }
                ranges.append(start..<reader.position)
                reader.skipWhitespace()
                guard !reader.atEnd else { throw reader.error("EOF while parsing a list") }
                if bytes[reader.position] == UInt8(ascii: ",") {
                    reader.position += 1
                    continue
                }
                guard bytes[reader.position] == UInt8(ascii: "]") else { throw reader.error("expected `,` or `]`") }
                reader.position += 1
                break
            }
        case UInt8(ascii: "{"):
            let start = reader.position
            try reader.skipValue(depth: 0)
            ranges.append(start..<reader.position)
        default:
            try reader.skipValue(depth: 0)
            throw notAnObject
        }
        reader.skipWhitespace()
        guard reader.atEnd else { throw reader.error("trailing characters") }
        return ranges
    }

    /// The documents of an `application/x-ndjson` payload: objects separated by whitespace.
    static func documentRanges(ndjson bytes: UnsafeRawBufferPointer) throws -> [Range<Int>] {
        var reader = StandInJSONReader(bytes)
        var ranges: [Range<Int>] = []
        while true {
            reader.skipWhitespace()
            if reader.atEnd { return ranges }
            let start = reader.position
            try reader.skipValue(depth: 0)
            guard bytes[start] == UInt8(ascii: "{") else { throw notAnObject }
            ranges.append(start..<reader.position)
        }
    }

    /// Meilisearch's words when a payload holds something else than objects.
    static let notAnObject = StandInJSONError(reason: "data are neither an object nor a list of objects")

    /// One pass over a stored, valid document: the raw value of the top-level member `key`
    /// (nil when absent), and a signature of its structure (keys and nesting, not values):
    /// documents with the same signature have the same fields.
    static func scanDocument(
        _ bytes: UnsafeRawBufferPointer, primaryKey: [UInt8]?, signature: inout [UInt8]
    ) throws -> Range<Int>? {
        var reader = StandInJSONReader(bytes)
        reader.skipWhitespace()
        var keyRange: Range<Int>?
        try reader.signature(into: &signature, depth: 0, primaryKey: primaryKey, found: &keyRange)
        return keyRange
    }

    private mutating func signature(
        into out: inout [UInt8], depth: Int, primaryKey: [UInt8]?, found: inout Range<Int>?
    ) throws {
        guard position < bytes.count else { throw error("EOF while parsing a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            out.append(UInt8(ascii: "{"))
            position += 1
            skipWhitespace()
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                out.append(UInt8(ascii: "}"))
                return
            }
            while true {
                skipWhitespace()
                let (keyRange, escaped) = try skipString()
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(keyRange.lowerBound - 1)..<(keyRange.upperBound + 1)]))
                skipWhitespace()
                position += 1  // ':'
                skipWhitespace()
                var isKey = false
                if depth == 0, let primaryKey {
                    let key = UnsafeRawBufferPointer(rebasing: bytes[keyRange])
                    if escaped {
                        isKey = (try? Self.unescape(key)).map { Array($0.utf8) } == primaryKey
                    } else {
                        isKey = key.elementsEqual(primaryKey)
                    }
                }
                let valueStart = position
                try signature(into: &out, depth: depth + 1, primaryKey: primaryKey, found: &found)
                if isKey { found = valueStart..<position }
                skipWhitespace()
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                position += 1  // '}'
                out.append(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            out.append(UInt8(ascii: "["))
            position += 1
            skipWhitespace()
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                out.append(UInt8(ascii: "]"))
                return
            }
            while true {
                skipWhitespace()
                let b = bytes[position]
                if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    try signature(into: &out, depth: depth + 1, primaryKey: nil, found: &found)
                } else {
                    try skipValue(depth: depth + 1)
                }
                skipWhitespace()
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                position += 1  // ']'
                out.append(UInt8(ascii: "]"))
                return
            }
        default:
            try skipValue(depth: depth)
            out.append(UInt8(ascii: "."))
        }
    }

    /// The top-level members of a valid object: decoded key and raw value range.
    static func topLevelMembers(_ bytes: UnsafeRawBufferPointer) throws -> [(key: String, value: Range<Int>)] {
        var reader = StandInJSONReader(bytes)
        reader.skipWhitespace()
        guard !reader.atEnd, bytes[reader.position] == UInt8(ascii: "{") else { throw notAnObject }
        reader.position += 1
        var members: [(key: String, value: Range<Int>)] = []
        reader.skipWhitespace()
        if !reader.atEnd && bytes[reader.position] == UInt8(ascii: "}") { return members }
        while true {
            reader.skipWhitespace()
            let key = try reader.parseString()
            reader.skipWhitespace()
            reader.position += 1  // ':'
            reader.skipWhitespace()
            let start = reader.position
            try reader.skipValue(depth: 1)
            members.append((key, start..<reader.position))
            reader.skipWhitespace()
            guard !reader.atEnd else { throw reader.error("EOF while parsing an object") }
            if bytes[reader.position] == UInt8(ascii: ",") {
                reader.position += 1
                continue
            }
            return members
        }
    }
}

extension StandInJSON {
    /// The fields Meilisearch counts for a document: every key, nested ones dotted
    /// (`localisation`, `localisation.ville`), objects inside arrays included.
    var flattenedFieldNames: Set<String> {
        var names: Set<String> = []
        func visit(_ value: StandInJSON, prefix: String?) {
            switch value {
            case .object(let members):
                for member in members {
                    let name = prefix.map { "\($0).\(member.key)" } ?? member.key
                    names.insert(name)
                    visit(member.value, prefix: name)
                }
            case .array(let elements):
                guard prefix != nil else { return }
                for element in elements { visit(element, prefix: prefix) }
            default:
                break
            }
        }
        visit(self, prefix: nil)
        return names
    }
}
