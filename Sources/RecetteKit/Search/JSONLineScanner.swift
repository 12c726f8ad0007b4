import Foundation

/// Checks one line of NDJSON without building it (a transform prints tens of thousands of
/// documents a second, and Foundation's parser would cost more than the rest of the rebuild):
/// exactly one JSON value, surrounding whitespace allowed, and, for an object, where one
/// top-level member is. Strings are checked for escapes and control characters, not for
/// UTF-8 (Meilisearch refuses bad UTF-8 itself, and the rebuild then fails like any task).
struct JSONLineScanner {
    enum Kind: Equatable {
        case object
        case null
        /// Any other JSON value: "an array", "a string", …
        case other(String)
    }

    /// A top-level member of an object, as byte offsets in the line.
    struct Member: Equatable {
        /// From the key's opening quote to the end of its value.
        var range: Range<Int>
        var value: Range<Int>
        /// What to cut to remove the member and one comma next to it.
        var removal: Range<Int>
    }

    struct Scan: Equatable {
        var kind: Kind
        /// The offset of the object's `{`, when it is one.
        var objectStart: Int
        /// Whether the object has members other than `member`.
        var otherMembers: Bool
        var member: Member?
    }

    struct Failure: Error, Equatable {
        var reason: String
    }

    /// The deepest nesting accepted: deeper is refused rather than recursed into.
    static let maximumDepth = 512

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Scans `line`; `key` is the raw (unescaped) text of the top-level key to find.
    static func scan(_ line: UnsafeRawBufferPointer, findingKey key: [UInt8]?) throws(Failure) -> Scan {
        var scanner = JSONLineScanner(line)
        scanner.skipWhitespace()
        let start = scanner.position
        var result = Scan(kind: .null, objectStart: start, otherMembers: false, member: nil)
        guard let first = scanner.peek() else { throw Failure(reason: "the line is empty") }
        switch first {
        case UInt8(ascii: "{"):
            result.kind = .object
            (result.member, result.otherMembers) = try scanner.topLevelObject(findingKey: key)
        case UInt8(ascii: "n"):
            try scanner.literal("null")
            result.kind = .null
        default:
            let kind: String
            switch first {
            case UInt8(ascii: "["): kind = "an array"
            case UInt8(ascii: "\""): kind = "a string"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): kind = "a boolean"
            default: kind = "a number"
            }
            try scanner.value(depth: 0)
            result.kind = .other(kind)
        }
        scanner.skipWhitespace()
        guard scanner.position == line.count else {
            throw Failure(reason: "unexpected \(scanner.shown(scanner.position)) after the value, at byte \(scanner.position + 1)")
        }
        return result
    }

    /// The member `key` when it is the object's first, written `{"key":` with no space (as
    /// PostgreSQL's row_to_json writes it): its value is read, the rest of the line is not.
    static func leadingMember(of line: UnsafeRawBufferPointer, key: [UInt8]) throws(Failure) -> Member? {
        let opening = key.count + 4  // {"key":
        guard line.count > opening, line[0] == UInt8(ascii: "{"), line[1] == UInt8(ascii: "\""),
              line[key.count + 2] == UInt8(ascii: "\""), line[key.count + 3] == UInt8(ascii: ":") else { return nil }
        for (offset, byte) in key.enumerated() where line[2 + offset] != byte { return nil }
        var scanner = JSONLineScanner(line)
        scanner.position = opening
        try scanner.value(depth: 1)
        let valueEnd = scanner.position
        let removal = scanner.peek() == UInt8(ascii: ",") ? 1..<valueEnd + 1 : 1..<valueEnd
        return Member(range: 1..<valueEnd, value: opening..<valueEnd, removal: removal)
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private func shown(_ offset: Int) -> String {
        guard offset < bytes.count else { return "end of line" }
        let byte = bytes[offset]
        return byte >= 0x20 && byte < 0x7f ? "'\(Character(UnicodeScalar(byte)))'" : String(format: "byte 0x%02x", byte)
    }

    private func unexpected() -> Failure {
        Failure(reason: position < bytes.count ? "unexpected \(shown(position)) at byte \(position + 1)" : "the line ends inside a value")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0a, 0x0d: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek() == byte else { throw unexpected() }
        position += 1
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw unexpected() }
        for index in 0..<count where bytes[position + index] != word.utf8Start[index] {
            position += index
            throw unexpected()
        }
        position += count
    }

    /// The top-level object: each member's key compared with `key`.
    private mutating func topLevelObject(findingKey key: [UInt8]?) throws(Failure) -> (Member?, Bool) {
        try expect(UInt8(ascii: "{"))
        var found: Member?
        var members = 0
        var previousComma: Int?
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return (nil, false)
        }
        while true {
            skipWhitespace()
            let keyStart = position
            try string()
            let isKey = key.map { matches($0, keyStart + 1..<position - 1) } ?? false
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let valueStart = position
            try value(depth: 1)
            let valueEnd = position
            members += 1
            skipWhitespace()
            let next = peek()
            if isKey && found == nil {
                // With the comma after it, or else the one before it: what stays is an object.
                let removal = next == UInt8(ascii: ",") ? keyStart..<position + 1 : (previousComma ?? keyStart)..<valueEnd
                found = Member(range: keyStart..<valueEnd, value: valueStart..<valueEnd, removal: removal)
            }
            if next == UInt8(ascii: ",") {
                previousComma = position
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return (found, members > (found == nil ? 0 : 1))
        }
    }

    private func matches(_ key: [UInt8], _ range: Range<Int>) -> Bool {
        guard range.count == key.count else { return false }
        for (offset, byte) in key.enumerated() where bytes[range.lowerBound + offset] != byte { return false }
        return true
    }

    private mutating func value(depth: Int) throws(Failure) {
        guard depth < Self.maximumDepth else { throw Failure(reason: "nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = peek() else { throw unexpected() }
        switch byte {
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { position += 1; return }
            while true {
                skipWhitespace()
                try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { position += 1; return }
            while true {
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    private mutating func string() throws(Failure) {
        try expect(UInt8(ascii: "\""))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return
            case UInt8(ascii: "\\"):
                position += 1
                guard let escaped = peek() else { throw unexpected() }
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    for _ in 0..<4 {
                        guard let digit = peek(), isHexDigit(digit) else { throw unexpected() }
                        position += 1
                    }
                default:
                    throw unexpected()
                }
            case 0..<0x20:
                throw Failure(reason: "a control character (\(shown(position))) inside a string at byte \(position + 1)")
            default:
                position += 1
            }
        }
        throw Failure(reason: "the line ends inside a string")
    }

    private func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    private mutating func number() throws(Failure) {
        func digits() -> Int {
            let start = position
            while let byte = peek(), (0x30...0x39).contains(byte) { position += 1 }
            return position - start
        }
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), (0x30...0x39).contains(first) else { throw unexpected() }
        if first == UInt8(ascii: "0") { position += 1 } else { _ = digits() }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw unexpected() }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw unexpected() }
        }
    }
}
