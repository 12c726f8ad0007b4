import Foundation

/// lodash's `snakeCase`, which Strapi applies to attribute names to get column names
/// (`dateDeDebutMin` → `date_de_debut_min`) and to whole link-table names.
///
/// What lodash does, in its own order: strip accents (`deburr`: `é` → `e`), remove apostrophes,
/// split into words, lower-case them and join with `_`. Words are found one of two ways:
/// - text made only of ASCII letters, digits and spaces with no case change, letter/digit
///   boundary or punctuation is split on every run of non-alphanumeric characters;
/// - anything else goes through the "unicode words" pattern: an optional capital then
///   lower-case letters (`De`, `debut`); a run of capitals ending before a capitalised word
///   (`XML` in `XMLHttp`); ordinals kept whole (`1st`, `22nd`, `4th`); runs of digits
///   (`field2` → `field`, `2`). Separators (`_`, `-`, spaces, punctuation) never belong to a word.
/// Emoji and contractions (`'s`) are left out: attribute names never hold them (Strapi allows
/// letters, digits, `_` and `-`).
public enum StrapiSnakeCase {
    public static func snakeCase(_ text: String) -> String {
        words(in: deburred(text).replacingOccurrences(of: "'", with: "").replacingOccurrences(of: "\u{2019}", with: ""))
            .map { $0.lowercased() }
            .joined(separator: "_")
    }

    static func words(in text: String) -> [String] {
        let range = NSRange(text.startIndex..., in: text)
        let pattern = hasUnicodeWord.firstMatch(in: text, range: range) == nil ? asciiWord : unicodeWord
        return pattern.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    /// Latin-1 letters to their basic Latin form, as lodash's `deburr` does for the letters
    /// attribute names can hold (`é` → `e`, `ß` → `ss`, `æ` → `ae`).
    static func deburred(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "ß": out += "ss"
            case "æ": out += "ae"
            case "Æ": out += "Ae"
            case "œ": out += "oe"
            case "Œ": out += "Oe"
            case "ø": out += "o"
            case "Ø": out += "O"
            case "đ", "ð": out += "d"
            case "Đ", "Ð": out += "D"
            case "þ": out += "th"
            case "Þ": out += "Th"
            default: out += String(character).folding(options: .diacriticInsensitive, locale: nil)
            }
        }
        return out
    }

    // The character classes of lodash's word pattern, for the Latin-1 range it names.
    private static let lower = #"[a-z\x{df}-\x{f6}\x{f8}-\x{ff}]"#
    private static let upper = #"[A-Z\x{c0}-\x{d6}\x{d8}-\x{de}]"#
    private static let breakRange = #"\x{ac}\x{b1}\x{d7}\x{f7}\x{00}-\x{2f}\x{3a}-\x{40}\x{5b}-\x{60}\x{7b}-\x{bf}\x{2000}-\x{206f}\s"#
    private static let breakChar = "[\(breakRange)]"
    /// Letters that are neither lower- nor upper-case (other scripts).
    private static let misc = #"[^\#(breakRange)0-9a-zA-Z\x{df}-\x{f6}\x{f8}-\x{ff}\x{c0}-\x{d6}\x{d8}-\x{de}\x{2700}-\x{27bf}]"#
    private static let miscLower = "(?:\(lower)|\(misc))"
    private static let miscUpper = "(?:\(upper)|\(misc))"

    private static let unicodeWord = try! NSRegularExpression(pattern: [
        "\(upper)?\(lower)+(?=\(breakChar)|\(upper)|$)",
        "\(miscUpper)+(?=\(breakChar)|\(upper)\(miscLower)|$)",
        "\(upper)?\(miscLower)+",
        "\(upper)+",
        #"\d*(?:1ST|2ND|3RD|(?![123])\dTH)(?=\b|[a-z_])"#,
        #"\d*(?:1st|2nd|3rd|(?![123])\dth)(?=\b|[A-Z_])"#,
        #"\d+"#,
    ].joined(separator: "|"))
    private static let asciiWord = try! NSRegularExpression(pattern: #"[^\x{00}-\x{2f}\x{3a}-\x{40}\x{5b}-\x{60}\x{7b}-\x{7f}]+"#)
    private static let hasUnicodeWord = try! NSRegularExpression(pattern: #"[a-z][A-Z]|[A-Z]{2}[a-z]|[0-9][a-zA-Z]|[a-zA-Z][0-9]|[^a-zA-Z0-9 ]"#)
}
