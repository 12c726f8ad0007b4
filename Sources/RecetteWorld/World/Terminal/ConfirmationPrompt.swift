import Foundation

/// Asks a person before something is destroyed. Without a terminal nobody can answer, so it
/// refuses unless `--yes` was given: a script must say what it wants.
public struct ConfirmationPrompt: Sendable {
    /// Standard input and standard error are both terminals (a prompt written into a
    /// redirected standard error would leave the person waiting on nothing).
    public var isInteractive: Bool
    private let ask: @Sendable (String) -> String?

    public init(isInteractive: Bool, ask: @escaping @Sendable (String) -> String?) {
        self.isInteractive = isInteractive
        self.ask = ask
    }

    /// The real terminal: the question on standard error, the answer from standard input.
    public static func standard() -> ConfirmationPrompt {
        ConfirmationPrompt(isInteractive: isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1) { question in
            // A question ending in ':' asks for names to be typed (`confirmByTyping`), not a yes.
            FileHandle.standardError.write(Data((question.hasSuffix(":") ? "\(question) " : "\(question) [y/N] ").utf8))
            return readLine()
        }
    }

    /// Nobody to ask: only `--yes` confirms (the default of a context that was given no terminal).
    public static let unanswered = ConfirmationPrompt(isInteractive: false) { _ in nil }

    /// Returns when confirmed (`assumeYes`, or `y`/`yes` typed); throws a one-line failure
    /// otherwise. `action` completes "pass --yes to …", e.g. "delete volume x".
    public func confirm(_ question: String, action: String, assumeYes: Bool) throws {
        if assumeYes { return }
        guard isInteractive else {
            throw Self.nobodyToAsk(action)
        }
        let answer = ask(question)?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard answer == "y" || answer == "yes" else {
            throw RecetteFailure("not confirmed; nothing was changed")
        }
    }

    /// Like `confirm`, for what cannot be undone elsewhere than on this machine: the person
    /// types `expected` (words separated by spaces; extra spaces do not matter) rather than a
    /// yes. `question` should end with ':'.
    public func confirmByTyping(_ expected: String, question: String, action: String, assumeYes: Bool) throws {
        if assumeYes { return }
        guard isInteractive else {
            throw Self.nobodyToAsk(action)
        }
        let typed = ask(question)?.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard typed == expected.split(whereSeparator: \.isWhitespace).joined(separator: " ") else {
            throw RecetteFailure("not confirmed (what was typed is not '\(expected)'); nothing was changed")
        }
    }

    private static func nobodyToAsk(_ action: String) -> RecetteFailure {
        RecetteFailure("refusing to \(action) without confirmation and there is no terminal to ask on; pass --yes to confirm (or --dry-run to see the plan)")
    }
}
