import Foundation
import Testing

/// `--help` as a terminal user reads it: swift-argument-parser wraps the text to the terminal's width
/// (80 columns when the output is not a terminal, filled to 79), so the text given to it must be whole paragraphs
/// and example lines that fit. Hard line breaks inside a paragraph left ragged short lines; example
/// commands wider than 80 columns were cut mid-argument onto a line of their own.
@Suite("--help layout")
struct HelpLayoutTests {
    static let commands: [[String]] = [
        [], ["sign"], ["presign"], ["presign-post"], ["curl"], ["explain"], ["verify"], ["serve"], ["demo"],
        ["keys"], ["keys", "init"], ["keys", "create"], ["keys", "list"], ["keys", "show"], ["keys", "rotate"],
        ["keys", "retire"], ["keys", "deactivate"], ["keys", "activate"], ["keys", "delete"], ["keys", "audit"],
        ["keys", "rewrap"],
    ]

    /// The text above `USAGE:`: the overview and the discussion.
    static func description(_ command: [String]) throws -> [Substring] {
        let home = try TempDir()
        var env = Tool.cleanEnvironment(home: home.path)
        env["COLUMNS"] = "80"
        let result = try Tool.sigv4(command + ["--help"], env: env)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false)
        let usage = try #require(lines.firstIndex { $0.hasPrefix("USAGE:") }, "\(result.out)")
        return Array(lines[..<usage])
    }

    @Test("prose is wrapped by the parser alone: no line ends where the next line's first word would fit",
          arguments: commands)
    func proseIsWrappedOnlyAtTheWidth(command: [String]) throws {
        let lines = try Self.description(command)
        for (line, next) in zip(lines, lines.dropFirst()) {
            let isProse = { (l: Substring) in !l.isEmpty && !l.hasPrefix(" ") }
            guard isProse(line), isProse(next), !line.hasSuffix(":") else { continue }
            let firstWord = next.prefix { $0 != " " }
            // The parser fills a line to at most 79 columns of an 80-column terminal.
            #expect(
                line.count + 1 + firstWord.count > 79,
                "sigv4 \(command.joined(separator: " ")) --help breaks a paragraph early:\n\(line)\n\(next)")
        }
    }

    @Test("every example line fits in 80 columns, so none is cut onto a line of its own", arguments: commands)
    func examplesAreNotCut(command: [String]) throws {
        let lines = try Self.description(command)
        guard let start = lines.firstIndex(where: { $0 == "Examples:" }) else { return }
        for line in lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
            #expect(
                line.hasPrefix("  "),
                "sigv4 \(command.joined(separator: " ")) --help cuts an example; the cut-off part:\n\(line)")
        }
    }
}
