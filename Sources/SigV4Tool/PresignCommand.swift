import ArgumentParser
import SigV4

/// `sigv4 presign`: `sign --presign` that prints only the URL.
struct Presign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a presigned URL (shorthand for 'sign --presign').",
        discussion: """
            Warns on stderr when the credentials expire before the URL does: a presigned URL stops \
            working when the credentials that signed it expire.

            Examples:
              sigv4 presign https://examplebucket.s3.amazonaws.com/test.txt --expires 86400
              sigv4 presign https://examplebucket.s3.amazonaws.com/upload.bin \\
                  -X PUT --profile dev
              curl -o test.txt \\
                  "$(sigv4 presign https://examplebucket.s3.amazonaws.com/test.txt)"
            """)

    @OptionGroup var request: RequestOptions
    @OptionGroup var signing: SigningOptions

    @Option(help: "Seconds the URL stays valid, 1 to 604800.")
    var expires: Int = 3600

    func run() async throws {
        let spec = try request.spec()
        let context = try signing.makeContext(for: spec.url)
        let signed = try spec.sign(with: context, presignExpires: expires)
        Presign.warnIfCredentialsExpireFirst(context: context, expires: expires)
        Console.out(signed.url + "\n")
    }

    static func warnIfCredentialsExpireFirst(context: SigningContext, expires: Int) {
        guard let expiration = context.signer.credentials.expiration else { return }
        let urlEnd = context.date.adding(seconds: Int64(expires))
        if expiration < urlEnd {
            Console.error(
                "sigv4: warning: the credentials expire at \(expiration.iso8601Basic), before the URL does (\(urlEnd.iso8601Basic)); the URL stops working then"
            )
        }
    }
}
