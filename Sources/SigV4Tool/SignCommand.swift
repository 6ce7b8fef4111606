import ArgumentParser
import SigV4

/// `sigv4 sign`: signs one request and prints the signing headers, a curl command, the raw
/// HTTP request, or every stage as JSON. With `--presign` it signs in the query string.
struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a request (Authorization header or, with --presign, a presigned URL).",
        discussion: """
            The URL's path and query are signed byte for byte as given; nothing re-encodes them.

            Examples:
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt -H 'Range: bytes=0-9' \\
                  --timestamp 20130524T000000Z --format json
              sigv4 sign https://abc.execute-api.eu-west-1.amazonaws.com/prod/items -X POST \\
                  --data '{"name":"x"}' -H 'Content-Type: application/json' --profile dev --format curl
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt --presign --expires 86400
              sigv4 sign https://api.example.com/v1 --region us-east-1 --service execute-api --format http \\
                  | sigv4 verify --request - --access-key-id AKID --secret-access-key …
            """)

    @OptionGroup var request: RequestOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var presigning: PresignOptions

    @Option(help: "Output: json, headers (default; the URL when presigning), curl or http.")
    var format: OutputFormat = .headers

    func run() async throws {
        let spec = try request.spec()
        let context = try signing.makeContext(for: spec.url)
        let signed = try spec.sign(with: context, presignExpires: presigning.presign ? presigning.expires : nil)
        if presigning.presign {
            Presign.warnIfCredentialsExpireFirst(context: context, expires: presigning.expires)
        }
        Console.out(bytes: try format.render(signed, spec: spec))
    }
}
