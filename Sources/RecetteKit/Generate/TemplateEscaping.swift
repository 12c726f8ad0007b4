import Mustache
import RecetteWorld

/// Values written into generated shell code.
public enum ShellQuoting {
    /// `value` as one single-quoted shell word. Inside single quotes the shell expands nothing
    /// (`$`, backquotes, `\`, spaces and newlines are literal); a single quote itself cannot
    /// appear there, so it is written `'\''`: close the quotes, an escaped quote, reopen.
    public static func singleQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

/// Values written into a `.env` file.
public enum DotEnvQuoting {
    /// Bare when every character is plainly safe; otherwise double-quoted, with the escapes
    /// `DotEnv` and the generated script both read back (`\\ \" \$ \n \r \t`).
    public static func quoted(_ value: String) -> String {
        let plain = value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-./:@,+%=".unicodeScalars.contains(scalar))
        }
        if plain { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += #"\\"#
            case "\"": escaped += #"\""#
            case "$": escaped += #"\$"#
            case "\n": escaped += #"\n"#
            case "\r": escaped += #"\r"#
            case "\t": escaped += #"\t"#
            default: escaped.append(character)
            }
        }
        return "\"" + escaped + "\""
    }
}

/// The content types the templates declare with `{{% CONTENT_TYPE: … }}`. Each makes the
/// safe form the default: `{{value}}` is escaped for the file's language, and only
/// `{{{value}}}` (for names the code itself controls) is left raw.
enum TemplateContentTypes {
    /// Registered once, before any template is parsed (the parser looks the names up).
    static let registered: Void = {
        MustacheContentTypes.register(ShellWord(), named: "SHELL")
        MustacheContentTypes.register(DotEnvValue(), named: "DOTENV")
    }()

    /// `{{value}}` → one single-quoted shell word.
    struct ShellWord: MustacheContentType {
        func escapeText(_ text: String) -> String { ShellQuoting.singleQuoted(text) }
    }

    /// `{{value}}` → a `.env` value.
    struct DotEnvValue: MustacheContentType {
        func escapeText(_ text: String) -> String { DotEnvQuoting.quoted(text) }
    }
}
