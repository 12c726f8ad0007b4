import Foundation
import RecetteWorld

/// The names of the databases recette makes beside a project's database: the one a restore
/// builds (`incoming`), the replaced one it keeps (`previous` + a timestamp), the template
/// of the last restore (`pristine`) and its ready copy (`spare`).
///
/// PostgreSQL cuts identifiers at 63 bytes without an error (only a NOTICE). Appending a
/// suffix to a long name and letting the server cut it made `<db>__recette_incoming` become
/// `<db>` itself, and dated copies of one database the same name. Every derived name is
/// built here, within the limit: when the whole name does not fit, the project's name is
/// shortened and a short hash of it keeps names of different databases apart. The suffix is
/// never cut, so a name can be parsed back (`isPrevious`) instead of matched by a pattern.
public struct DerivedDatabaseNames: Sendable, Equatable {
    /// PostgreSQL's NAMEDATALEN - 1.
    public static let maximumBytes = 63
    static let stampPattern = "yyyyMMdd'T'HHmmss"
    static let stampLength = 15

    /// The project's database.
    public let base: String

    /// Refuses a name PostgreSQL would cut: recette would then work on another database than
    /// the one configured.
    public init(base: String) throws {
        guard !base.isEmpty else {
            throw RecetteFailure("the database name is empty; set RECETTE_DATABASE (or the database of DATABASE_URL)")
        }
        guard base.utf8.count <= Self.maximumBytes else {
            throw RecetteFailure("the database name '\(base)' is \(base.utf8.count) bytes long; PostgreSQL keeps only \(Self.maximumBytes): choose a shorter name")
        }
        self.base = base
    }

    public var incoming: String { Self.name(base, suffix: "incoming") }
    public var pristine: String { Self.name(base, suffix: "pristine") }
    public var spare: String { Self.name(base, suffix: "spare") }

    public func previous(at date: Date) -> String {
        Self.name(base, suffix: "previous_" + UTCStamp.string(from: date, pattern: Self.stampPattern))
    }

    /// The kept copies' name for people: `<db>__recette_previous_<time>`.
    public var previousForDisplay: String {
        String(previous(at: Date(timeIntervalSince1970: 0)).dropLast(Self.stampLength)) + "<time>"
    }

    /// Whether `name` is one of `base`'s kept copies: exactly the name `previous(at:)` gives for
    /// some timestamp. Databases of other projects never match, whatever characters their
    /// names hold (`a%b`, `a_b`).
    public func isPrevious(_ name: String) -> Bool {
        let template = Self.name(base, suffix: "previous_" + String(repeating: "0", count: Self.stampLength))
        guard name.utf8.count == template.utf8.count, name.count == template.count else { return false }
        let fixed = template.dropLast(Self.stampLength)
        guard name.hasPrefix(fixed) else { return false }
        let stamp = name.suffix(Self.stampLength)
        return stamp.enumerated().allSatisfy { index, character in
            index == 8 ? character == "T" : character.isASCII && character.isNumber
        }
    }

    /// Every name derived from `base`, for collision checks.
    public func all(at date: Date) -> [String] { [incoming, pristine, previous(at: date)] }

    static func name(_ base: String, suffix: String) -> String {
        let tail = "__recette_" + suffix
        if base.utf8.count + tail.utf8.count <= maximumBytes { return base + tail }
        let hash = "~" + shortHash(base)
        let room = maximumBytes - tail.utf8.count - hash.utf8.count
        return prefix(of: base, bytes: room) + hash + tail
    }

    /// The longest prefix of `text` within `bytes` UTF-8 bytes that ends on a character.
    static func prefix(of text: String, bytes: Int) -> String {
        var result = ""
        var used = 0
        for character in text {
            let size = String(character).utf8.count
            guard used + size <= bytes else { break }
            result.append(character)
            used += size
        }
        return result
    }

    /// 8 hex digits of FNV-1a over the name's bytes: stable across runs and machines, enough to
    /// keep shortened names of different databases apart (a collision is then caught by the
    /// catalog check before anything is changed).
    static func shortHash(_ text: String) -> String {
        let hash = fnv1a(text)
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        let hex = String(folded, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// 64-bit FNV-1a: a stable, dependency-free hash of a name (not for secrets).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
