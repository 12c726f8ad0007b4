/// A value that must never be printed: API tokens, passwords, bearer tokens.
///
/// Its `description` is `***`, so string interpolation into logs or errors is harmless.
/// Read the real value with `reveal()` only where it leaves the process (an environment
/// variable for a child, an HTTP header).
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    public init(_ value: String) { self.value = value }

    public func reveal() -> String { value }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "***" }
    public var debugDescription: String { "Secret(***)" }
}

public enum Redaction {
    /// Hides the password of every `scheme://user:password@host` URL inside `text`.
    public static func redactingURLPasswords(in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == " " || $0 == "?" || $0 == "\"" || $0 == "'" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[..<colon] + ":***" + authority[at...]
            } else {
                result += authority
            }
            rest = rest[authorityEnd...]
        }
        return result + rest
    }

    /// Replaces every occurrence of each secret's value in `text` with `***`, and of the
    /// password of each secret that is a URL (as written and percent-decoded), wherever it
    /// appears: the URL scanner above stops at a `/` or `?` inside a password.
    public static func redacting(_ secrets: [Secret], in text: String) -> String {
        let passwords = secrets.flatMap { urlPasswords(in: $0.reveal()) }
        var text = text
        for password in passwords.filter({ $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        text = redactingURLPasswords(in: text)
        for value in secrets.map({ $0.reveal() }).filter({ $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            text = text.replacingOccurrences(of: value, with: "***")
        }
        return text
    }

    /// A URL setting as shown to people: its password, whatever it holds, as `***`.
    public static func hidingPassword(ofURL value: String) -> String {
        guard let password = passwordRange(inURL: value) else { return redactingURLPasswords(in: value) }
        return value.replacingCharacters(in: password, with: "***")
    }

    /// The password of a URL-valued secret (`postgresql://user:password@host/db`), as written
    /// and percent-decoded. A setting holds one whole URL, so its user information runs to the
    /// last `@`, even past a `/` or `?` the password holds unencoded.
    static func urlPasswords(in value: String) -> [String] {
        guard let range = passwordRange(inURL: value) else { return [] }
        let password = String(value[range])
        return [password, password.removingPercentEncoding].compactMap { $0 }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    private static func passwordRange(inURL value: String) -> Range<String.Index>? {
        guard let schemeEnd = value.range(of: "://"), let at = value[schemeEnd.upperBound...].lastIndex(of: "@"),
              let colon = value[schemeEnd.upperBound..<at].firstIndex(of: ":") else { return nil }
        let range = value.index(after: colon)..<at
        return range.isEmpty ? nil : range
    }
}
