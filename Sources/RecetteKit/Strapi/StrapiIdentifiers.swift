import Foundation
import RecetteWorld

/// Strapi v5's database identifiers: how `@strapi/database` (its `Identifiers` class, maximum
/// length 55) names tables and columns, long names shortened with a hash.
///
/// The rules, as read in its code (README, "Documents from the model", Strapi v5):
/// - a name is made of tokens joined by `_`: the user's parts (a collection name, an attribute
///   name in snake case) may be shortened; the fixed parts (`id`, `inv`, `links`, `order`,
///   `components`, …) may not, and with a maximum length they always take their short form
///   (`links` → `lnk`, `order` → `ord`, `morphs` → `mph`, `components` → `cmps`,
///   `component` → `cmp`), so `articles_tags_lnk` even when short;
/// - when the name fits in 55 characters it is kept; otherwise the space left by the fixed
///   parts and separators is shared equally among the shortenable parts, a part shorter than
///   its share keeps its length and gives the rest back, and what is given back goes to the
///   longer parts one character at a time, in their order, round after round;
/// - a part longer than what it was given keeps its first `given − 5` characters followed by
///   5 hex digits of `shake256(part)`.
/// recette does not compute the hash: it finds the one name of that shape in the restored
/// database's own catalog (`StrapiCatalog`).
public enum StrapiIdentifiers {
    public static let maxLength = 55
    static let hashLength = 5
    static let minimumTokenLength = 3

    /// One part of a name.
    public struct Token: Sendable, Equatable {
        public var name: String
        public var compressible: Bool
        /// The fixed short form of an incompressible part.
        public var shortName: String?

        public static func part(_ name: String) -> Token { Token(name: name, compressible: true) }
        public static func fixed(_ name: String, short: String? = nil) -> Token { Token(name: name, compressible: false, shortName: short) }
    }

    /// What a name comes out as: characters known in advance, and where a hash stands.
    public struct Shape: Sendable, Equatable, CustomStringConvertible {
        enum Piece: Sendable, Equatable {
            case text(String)
            case hash
        }
        var pieces: [Piece]

        /// The name itself when no part was shortened.
        public var exact: String? {
            pieces.allSatisfy { if case .text = $0 { true } else { false } }
                ? pieces.map { if case .text(let text) = $0 { text } else { "" } }.joined() : nil
        }

        /// `articles_a_very_long_na#####_lnk`: `#####` for a hash, for messages.
        public var description: String {
            pieces.map { if case .text(let text) = $0 { text } else { String(repeating: "#", count: hashLength) } }.joined()
        }

        public func matches(_ name: String) -> Bool {
            var rest = Substring(name)
            for piece in pieces {
                switch piece {
                case .text(let text):
                    guard rest.hasPrefix(text) else { return false }
                    rest = rest.dropFirst(text.count)
                case .hash:
                    let digits = rest.prefix(hashLength)
                    guard digits.count == hashLength, digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return false }
                    rest = rest.dropFirst(hashLength)
                }
            }
            return rest.isEmpty
        }
    }

    /// The shape of the name `tokens` give.
    public static func shape(_ tokens: [Token]) throws -> Shape {
        let separators = tokens.count - 1
        func fixedLength(_ token: Token) -> Int { (token.shortName ?? token.name).count }
        let full = tokens.map { $0.compressible ? $0.name : ($0.shortName ?? $0.name) }.joined(separator: "_")
        guard full.count > maxLength else { return Shape(pieces: [.text(full)]) }

        let compressible = tokens.indices.filter { tokens[$0].compressible }
        let fixedTotal = tokens.filter { !$0.compressible }.map(fixedLength).reduce(0, +)
        let available = maxLength - fixedTotal - separators
        guard !compressible.isEmpty, available / compressible.count >= minimumTokenLength else {
            throw RecetteFailure("Strapi cannot shorten the name \(full) to \(maxLength) characters (its fixed parts leave too little room)")
        }
        let share = available / compressible.count
        var surplus = available % compressible.count
        var allocated: [Int: Int] = [:]
        var deficits: [Int] = []
        for index in compressible {
            let length = tokens[index].name.count
            if length < share {
                surplus += share - length
                allocated[index] = length
            } else {
                allocated[index] = share
                deficits.append(index)
            }
        }
        // What shorter parts leave goes to the longer ones, one character each per round.
        while surplus > 0, !deficits.isEmpty {
            let before = surplus
            deficits = deficits.filter { index in
                guard let given = allocated[index], given < tokens[index].name.count, surplus > 0 else { return false }
                allocated[index] = given + 1
                surplus -= 1
                return given + 1 < tokens[index].name.count
            }
            if surplus == before { break }
        }
        var pieces: [Shape.Piece] = []
        for (position, token) in tokens.enumerated() {
            if position > 0 { pieces.append(.text("_")) }
            if let given = allocated[position], token.name.count > given {
                guard given >= minimumTokenLength + hashLength else {
                    throw RecetteFailure("Strapi cannot shorten the name \(full): its part \(token.name) would keep fewer than \(minimumTokenLength) characters")
                }
                pieces.append(.text(String(token.name.prefix(given - hashLength))))
                pieces.append(.hash)
            } else {
                pieces.append(.text(token.compressible ? token.name : (token.shortName ?? token.name)))
            }
        }
        // Adjacent texts merged, so that `exact` and matching see one run.
        var merged: [Shape.Piece] = []
        for piece in pieces {
            if case .text(let text) = piece, case .text(let previous)? = merged.last {
                merged[merged.count - 1] = .text(previous + text)
            } else {
                merged.append(piece)
            }
        }
        return Shape(pieces: merged)
    }
}

/// The tables of the restored database and their columns (`information_schema`, the current
/// schema): where v5's shortened names are read.
public struct StrapiCatalog: Sendable, Equatable {
    public var columns: [String: Set<String>]
    /// i18n's default locale (`plugin_i18n_default_locale` in the core store), which the
    /// document service reads when no locale is asked for.
    public var defaultLocale: String?

    public init(columns: [String: Set<String>], defaultLocale: String? = nil) {
        self.columns = columns
        self.defaultLocale = defaultLocale
    }

    /// The table the tokens name: the name itself when it fits, else the one table of that shape.
    public func table(_ tokens: [StrapiIdentifiers.Token], for place: String) throws -> String {
        let shape = try StrapiIdentifiers.shape(tokens)
        if let exact = shape.exact { return exact }
        return try only(shape, among: columns.keys, what: "table", place: place)
    }

    /// The column of `table` the tokens name.
    public func column(_ tokens: [StrapiIdentifiers.Token], of table: String, for place: String) throws -> String {
        let shape = try StrapiIdentifiers.shape(tokens)
        if let exact = shape.exact { return exact }
        return try only(shape, among: columns[table] ?? [], what: "column of \(table)", place: place)
    }

    private func only(_ shape: StrapiIdentifiers.Shape, among names: some Collection<String>, what: String, place: String) throws -> String {
        let found = names.filter(shape.matches).sorted()
        guard found.count == 1, let name = found.first else {
            let problem = found.isEmpty ? "has no \(what) named like \(shape) (# a hex digit)" : "has several: \(found.joined(separator: ", "))"
            throw RecetteFailure("\(place): Strapi v5 shortens its name to 55 characters with a hash, and the database \(problem): is it this CMS source's database? Give this index a query in search.indexes of recette.yml")
        }
        return name
    }
}
