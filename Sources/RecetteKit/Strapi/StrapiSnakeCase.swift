import Foundation

/// lodash's `snakeCase`, which Strapi applies to attribute names to get column names
/// (`dateDeDebutMin` → `date_de_debut_min`) and to whole link-table names.
///
/// What lodash does, in its order: strip accents (`deburr`: `é` → `e`), remove apostrophes,
/// split into words, lower-case them and join with `_`. The words, as its documentation and
/// our test table show them:
/// - anything that is not a letter or a digit separates words (`_`, `-`, spaces);
/// - a capital starts a word that goes on with the lower-case letters after it (`De`, `debut`);
/// - a run of capitals is one word, except that its last capital starts the next word when
///   lower-case letters follow (`XML` then `Http` in `XMLHttp`; `A` then `Bc` in `ABc`);
/// - a run of digits is a word (`field2` → `field`, `2`), or an ordinal with its suffix when
///   the last digit and suffix agree (`1st`, `22nd`, `3rd`; `th` after 0 or 4–9 only, so
///   `11thHour` → `11`, `th`, `Hour`) and no letter or digit follows in the same case.
/// Emoji and contractions (`'s`) are left out: attribute names never hold them (Strapi allows
/// letters, digits, `_` and `-`).
public enum StrapiSnakeCase {
    public static func snakeCase(_ text: String) -> String {
        words(in: deburred(text).replacingOccurrences(of: "'", with: "").replacingOccurrences(of: "\u{2019}", with: ""))
            .map { $0.lowercased() }
            .joined(separator: "_")
    }

    static func words(in text: String) -> [String] {
        let characters = Array(text)
        var words: [String] = []
        var index = 0
        func isUpper(_ at: Int) -> Bool { at < characters.count && characters[at].isLetter && characters[at].isUppercase }
        func isLower(_ at: Int) -> Bool { at < characters.count && characters[at].isLetter && !characters[at].isUppercase }
        func isDigit(_ at: Int) -> Bool { at < characters.count && characters[at].isASCII && characters[at].isNumber }
        while index < characters.count {
            let start = index
            if isDigit(index) {
                while isDigit(index) { index += 1 }
                index += ordinalSuffixLength(after: characters[index - 1], in: characters, at: index)
            } else if isUpper(index) {
                while isUpper(index) { index += 1 }
                // The last of several capitals belongs to the capitalised word after them.
                if index - start > 1 && isLower(index) { index -= 1 }
                if index - start == 1 { while isLower(index) { index += 1 } }
            } else if isLower(index) {
                while isLower(index) { index += 1 }
            } else {
                index += 1
                continue
            }
            words.append(String(characters[start..<index]))
        }
        return words
    }

    /// The length of an ordinal suffix (`st`, `nd`, `rd`, `th`, in either case) right after the
    /// digit `last`, when it fits that digit and is not followed by a letter of its own case
    /// or a digit; 0 otherwise.
    private static func ordinalSuffixLength(after last: Character, in characters: [Character], at index: Int) -> Int {
        guard index + 2 <= characters.count else { return 0 }
        let suffix = String(characters[index..<index + 2])
        let fitting: String = switch last {
        case "1": "st"
        case "2": "nd"
        case "3": "rd"
        default: "th"
        }
        guard suffix == fitting || suffix == fitting.uppercased() else { return 0 }
        if index + 2 < characters.count {
            let next = characters[index + 2]
            let sameCase = suffix == fitting ? (next.isLetter && !next.isUppercase) : (next.isLetter && next.isUppercase)
            if sameCase || next.isNumber { return 0 }
        }
        return 2
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
}
