import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine

/// `sigv4 curl`: signs exactly the request curl will send, then runs curl.
struct Curl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign the request a curl command line describes, then run curl.",
        discussion: """
            Everything after '--' is curl's. sigv4 models the options that shape the request \
            (URL or --url, -X, -H incl. @file, -d/--data/--data-raw/--data-binary/--data-urlencode \
            incl. @file and @-, --json, -G, -I, -T, -u ACCESS_KEY_ID:SECRET) and passes output \
            options (-s, -S, -v, -i, -o, -w, -f, -k, ...) through. Any other option is refused:
            sigv4 never signs a request curl would not send. curl runs with -q --path-as-is \
            --globoff so the target goes out byte for byte.

            Examples:
              sigv4 curl -- -sS \\
                  'https://abc.execute-api.eu-west-1.amazonaws.com/prod/items?limit=10'
              sigv4 curl --profile dev -- -X POST -H 'Content-Type: application/json' \\
                  -d '{"name":"x"}' \\
                  https://abc.execute-api.eu-west-1.amazonaws.com/prod/items
              sigv4 curl --region us-east-1 --service s3 -- \\
                  -T big.iso https://bucket.s3.amazonaws.com/big.iso
              sigv4 curl --region eu-west-1 --service execute-api --dry-run -- \\
                  -G --data-urlencode 'q=a b' https://search.example.com/
              sigv4 curl --presign --expires 600 -- \\
                  https://bucket.s3.amazonaws.com/report.pdf
              sigv4 curl --service s3 --sigv4a --region-set '*' -- \\
                  https://mrap.accesspoint.s3-global.amazonaws.com/k
            """)

    @OptionGroup var signing: SigningOptions
    @OptionGroup var presigning: PresignOptions
    @OptionGroup var sigV4a: SigV4aFlags

    @Flag(
        name: .customLong("unsigned-payload"),
        help: "Sign UNSIGNED-PAYLOAD instead of hashing the body (large -T uploads).")
    var unsignedPayload = false

    @Flag(name: .customLong("dry-run"), help: "Print the signed curl command (shell-quoted) instead of running it.")
    var dryRun = false

    @Option(name: .customLong("curl"), help: "The curl executable.")
    var curlPath: String = "curl"

    @OptionGroup var chunking: ChunkedOptions

    @Argument(parsing: .postTerminator, help: "curl's arguments, after '--'.")
    var curlArguments: [String] = []

    func run() async throws {
        guard !curlArguments.isEmpty else {
            throw CLIError.usage(
                "no curl arguments", hint: "put them after '--': sigv4 curl [options] -- URL [curl options]")
        }
        let parsed = try CurlArguments.parse(curlArguments)
        let stdin = CurlPlan.Stdin()
        let plan = try CurlPlan(parsed, payloadOverride: unsignedPayload ? .unsignedPayload : nil, stdin: stdin)
        try chunking.validate(body: plan.spec.body, payloadOverride: plan.spec.payloadOverride)
        try sigV4a.checkUsage()
        let context = try signing.makeContext(
            for: plan.spec.url, fallbackCredentials: plan.userCredentials,
            regionSet: sigV4a.sigv4a ? sigV4a.regionSet : nil)
        let sigV4aSigner = try sigV4a.signer(context: context)
        if chunking.chunked {
            try runChunked(plan, context: context, sigV4a: sigV4aSigner)
            return
        }
        let expires = presigning.presign ? presigning.expires : nil
        let signed = try plan.spec.signedView(with: context, sigV4a: sigV4aSigner, presignExpires: expires)
        if presigning.presign {
            Presign.warnIfCredentialsExpireFirst(context: context, expires: presigning.expires)
            Console.out(signed.url + "\n")
            return
        }
        var args = try plan.arguments(addedHeaders: signed.addedHeaders, url: signed.url, dryRun: dryRun)
        if dryRun {
            if plan.uploadFromStdin {
                Console.error("sigv4: note: the upload was read from stdin; pipe the same bytes to this command")
            }
            Console.out(args.map(TextFormatting.shellQuote).joined(separator: " ") + "\n")
            return
        }
        args[0] = curlPath
        let status = try Curl.runCurl(args, stdinBytes: plan.bodyBytes)
        if plan.uploadFromStdin, let file = plan.uploadFile { try? FileManager.default.removeItem(atPath: file) }
        if status != 0 { throw ExitCode(status) }
    }

    /// `-T FILE --chunked`: signs the seed, encodes the body to a temporary file, sends it with `-T`.
    func runChunked(_ plan: CurlPlan, context: SigningContext, sigV4a: SigV4aSigner?) throws {
        guard plan.uploadFile != nil else {
            throw CLIError.usage("--chunked needs -T FILE in the curl arguments")
        }
        if presigning.presign { throw CLIError.usage("--chunked cannot be combined with --presign") }
        if plan.spec.headers.contains(where: { $0.0.lowercased() == "content-encoding" }) {
            throw CLIError.usage("--chunked sets Content-Encoding itself; remove the -H Content-Encoding")
        }
        let upload = try chunking.signSeed(plan.spec, context: context, sigV4a: sigV4a)
        let added = ChunkedOptions.addedHeaders(upload, spec: plan.spec)
        let encoded =
            NSTemporaryDirectory()
            + "sigv4-chunked-\(ProcessInfo.processInfo.processIdentifier)-\(context.date.iso8601Basic)"
        guard FileManager.default.createFile(atPath: encoded, contents: nil),
            let handle = FileHandle(forWritingAtPath: encoded)
        else { throw CLIError.failure("cannot write the encoded body to \(encoded)") }
        do {
            try ChunkedOptions.writeEncodedBody(plan.spec, upload: upload, to: handle)
            try? handle.close()
        }
        var args = plan.chunkedArguments(added: added, url: upload.view.url, encodedFile: encoded)
        if dryRun {
            Console.error("sigv4: note: the aws-chunked body was written to \(encoded)")
            Console.out(args.map(TextFormatting.shellQuote).joined(separator: " ") + "\n")
            return
        }
        args[0] = curlPath
        let status = try Curl.runCurl(args, stdinBytes: nil)
        try? FileManager.default.removeItem(atPath: encoded)
        if plan.uploadFromStdin, let file = plan.uploadFile { try? FileManager.default.removeItem(atPath: file) }
        if status != 0 { throw ExitCode(status) }
    }

    static func runCurl(_ args: [String], stdinBytes: [UInt8]?) throws(CLIError) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let pipe = stdinBytes.map { _ in Pipe() }
        if let pipe { process.standardInput = pipe } else { process.standardInput = FileHandle.nullDevice }
        do { try process.run() } catch {
            throw .failure("cannot run \(args[0])", hint: "install curl or pass --curl PATH")
        }
        if let pipe, let stdinBytes {
            let handle = pipe.fileHandleForWriting
            try? handle.write(contentsOf: Data(stdinBytes))
            try? handle.close()
        }
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw .failure("cannot run \(args[0])", hint: "install curl or pass --curl PATH")
        }
        return process.terminationStatus
    }
}
