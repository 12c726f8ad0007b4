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

    /// Replaces every occurrence of each secret's value in `text` with `***`.
    public static func redacting(_ secrets: [Secret], in text: String) -> String {
        var text = redactingURLPasswords(in: text)
        for secret in secrets where secret.reveal().count >= 4 {
            text = text.replacingOccurrences(of: secret.reveal(), with: "***")
        }
        return text
    }
}
