/// Reads `.env` files the way teams write them, which `export $(cat .env | xargs)` does not:
/// comments, blank lines, `export ` prefixes, single- and double-quoted values (possibly over
/// several lines), values with spaces, and inline comments after unquoted values.
/// No variable expansion: a `$` is kept as written, as Node's dotenv does.
public enum DotEnv {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var problem: String
        public var description: String { "\(file):\(line): \(problem)" }
    }

    /// Each entry with the line its name is on.
    public static func parse(_ text: String, file: String = ".env") throws(ParseError) -> [(key: String, value: String, line: Int)] {
        var entries: [(key: String, value: String, line: Int)] = []
        // "\r\n" is one Character in Swift: normalise before splitting on "\n".
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            var line = lines[index].drop(while: { $0 == " " || $0 == "\t" })
            index += 1
            if line.isEmpty || line.first == "#" { continue }
            if line.hasPrefix("export ") || line.hasPrefix("export\t") {
                line = line.dropFirst("export".count).drop(while: { $0 == " " || $0 == "\t" })
            }
            guard let equals = line.firstIndex(of: "=") else {
                // The line is not quoted: it may be a secret pasted without its name.
                throw ParseError(file: file, line: lineNumber, problem: "expected KEY=VALUE (the line has no '='); fix or remove line \(lineNumber)")
            }
            let key = String(line[..<equals]).trimmingCharacters(in: [" ", "\t"])
            guard isValidKey(key) else {
                throw ParseError(file: file, line: lineNumber, problem: "'\(key)' is not a valid variable name (letters, digits and _ only, not starting with a digit)")
            }
            var raw = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
            let value: String
            if let quote = raw.first, quote == "\"" || quote == "'" {
                raw = raw.dropFirst()
                var collected = ""
                var closed = false
                var current = raw
                while true {
                    if let (text, remainder) = scanQuoted(current, quote: quote) {
                        collected += text
                        let trailing = remainder.drop(while: { $0 == " " || $0 == "\t" })
                        if !trailing.isEmpty && trailing.first != "#" {
                            throw ParseError(file: file, line: index, problem: "unexpected text after the closing quote of \(key)")
                        }
                        closed = true
                        break
                    }
                    collected += quote == "\"" ? unescapeDoubleQuoted(current) : String(current)
                    guard index < lines.count else { break }
                    collected += "\n"
                    current = lines[index][...]
                    index += 1
                }
                guard closed else {
                    throw ParseError(file: file, line: lineNumber, problem: "the value of \(key) opens a \(quote) quote that is never closed")
                }
                value = collected
            } else {
                value = stripInlineComment(raw).trimmingCharacters(in: [" ", "\t"])
            }
            entries.append((key, value, lineNumber))
        }
        return entries
    }

    /// Scans up to the closing quote. Returns the unescaped text and what follows the quote,
    /// or nil when the line ends first.
    private static func scanQuoted(_ text: Substring, quote: Character) -> (String, Substring)? {
        var index = text.startIndex
        var escaped = false
        while index < text.endIndex {
            let character = text[index]
            if quote == "\"" && character == "\\" && !escaped {
                escaped = true
            } else if character == quote && !escaped {
                let body = text[text.startIndex..<index]
                let unescaped = quote == "\"" ? unescapeDoubleQuoted(body) : String(body)
                return (unescaped, text[text.index(after: index)...])
            } else {
                escaped = false
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func unescapeDoubleQuoted(_ text: Substring) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "\"", "\\", "$", "'": result.append(character)
                default: result.append("\\"); result.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        if escaped { result.append("\\") }
        return result
    }

    /// `VALUE # comment` → `VALUE`; a `#` not preceded by whitespace is part of the value.
    private static func stripInlineComment(_ text: Substring) -> Substring {
        var previous: Character = " "
        for index in text.indices {
            if text[index] == "#" && (previous == " " || previous == "\t") && index != text.startIndex {
                return text[..<index]
            }
            previous = text[index]
        }
        return text
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !(first.properties.numericType != nil) else { return false }
        return key.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "." }
    }
}
