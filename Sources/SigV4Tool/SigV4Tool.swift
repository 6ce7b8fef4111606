import ArgumentParser
import Foundation
import SigV4CommandLine

/// The `sigv4` command: sign, presign, verify and debug AWS Signature Version 4 requests.
///
/// Errors are one line on stderr: exit status 2 for usage errors, 1 for failures.
@main
struct SigV4Tool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigv4",
        abstract: "Sign, presign, verify and debug AWS Signature Version 4 requests.",
        discussion: """
            Examples:
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt \\
                  --region us-east-1 --service s3
              sigv4 presign https://examplebucket.s3.amazonaws.com/test.txt --expires 3600
              sigv4 curl --profile dev -- \\
                  https://abc.execute-api.eu-west-1.amazonaws.com/prod/items
              sigv4 explain https://examplebucket.s3.amazonaws.com/test.txt \\
                  --compare error.xml
              sigv4 verify --request captured.http \\
                  --access-key-id AKID --secret-access-key …
              sigv4 demo

            Shell completions: sigv4 --generate-completion-script bash|zsh|fish
            """,
        subcommands: [
            Sign.self, Presign.self, PresignPost.self, Curl.self, Explain.self, Verify.self, Keys.self, Serve.self, Demo.self,
            InteropRequest.self,
        ]
    )

    /// Parses, runs, and reports errors as one line (exit 2 for usage, 1 for failures).
    static func main() async {
        if let bad = firstArgumentNotUTF8() {
            let error = CLIError.usage(
                "argument \(bad) is not valid UTF-8; sigv4 would read U+FFFD in place of its bad bytes and sign other bytes than given",
                hint: "give a binary body with --data-file (in sigv4 curl, --data-binary @file); percent-encode URLs")
            Console.error(error.line)
            Foundation.exit(error.exitCode)
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Console.error(error.line)
            Foundation.exit(error.exitCode)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version, --generate-completion-script: print the full text.
                Console.out(fullMessage(for: error) + "\n")
                Foundation.exit(0)
            }
            let message = message(for: error)
            let isUsage = code == .validationFailure || code.rawValue == 64
            let line = message.isEmpty ? "failed" : message
            Console.error(
                "sigv4: error: \(line.replacingNewlines())"
                    + (isUsage ? " (hint: run with --help for usage and examples)" : ""))
            Foundation.exit(isUsage ? 2 : 1)
        }
    }

    /// The position (1 for the first after `sigv4`) of the first argument whose bytes are not valid UTF-8.
    /// `CommandLine.arguments` decodes such bytes as U+FFFD, so a body, header or curl argument would be
    /// signed and sent as other bytes than the ones given; the argument itself is never printed.
    static func firstArgumentNotUTF8() -> Int? {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeBufferPointer(start: argument, count: strlen(argument))
            let valid = bytes.withMemoryRebound(to: UInt8.self) { String(validating: $0, as: UTF8.self) != nil }
            if !valid { return index }
        }
        return nil
    }
}
